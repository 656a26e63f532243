#!/usr/bin/env bash
# Installs the official AsyncAPI tools (@asyncapi/parser, @asyncapi/generator and its HTML
# template) from the npm registry into .ocop/asyncapi-tools/ (or OCOP_ASYNCAPI_TOOLS), at the
# versions package-lock.json pins. Run by deploy/bootstrap.sh; does nothing when they are there.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

HERE=$ROOT/deploy/asyncapi
TOOLS=${OCOP_ASYNCAPI_TOOLS:-$ROOT/.ocop/asyncapi-tools}

if [ -d "$TOOLS/node_modules/@asyncapi/parser" ] && cmp -s "$HERE/package-lock.json" "$TOOLS/package-lock.json"; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  [ "$(id -u)" -eq 0 ] || die "Node.js is missing; install with: sudo apt-get install -y nodejs npm"
  say "installing Node.js"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null \
    || die "could not install Node.js"
fi
say "installing the AsyncAPI parser and generator from npm into $TOOLS"
mkdir -p "$TOOLS"
rm -f "$TOOLS/package-lock.json"
cp "$HERE/package.json" "$HERE/package-lock.json" "$TOOLS/"
# The HTML template depends on puppeteer (for PDF output, unused here), whose install step
# would download a browser.
(cd "$TOOLS" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) \
  || { rm -f "$TOOLS/package-lock.json"; die "npm ci of the AsyncAPI tools failed (see above)"; }
