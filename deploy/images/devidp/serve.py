"""The token issuer deploy/compose.local.yml runs in Keycloak's place.

Keycloak 26 needs Java 21, which Debian 12 does not ship, so the local stack cannot build it.
This serves what the services read from Keycloak: the realm's JWKS at
``/realms/ocop/protocol/openid-connect/certs`` (the file of the development issuer,
``python -m ocop_runtime.devidp``, mounted read-only and read on every request, so a rotated
key is served at once) on 127.0.0.1:8080, and ``/health/ready`` on 127.0.0.1:9000 like
Keycloak's management port. Tokens are signed by ``ocop_runtime.devidp.issue_token`` on the
host with the key that stays there.
"""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

JWKS = Path(os.environ.get("OCOP_DEVIDP_JWKS", "/srv/idp/jwks.json"))
HOST = os.environ.get("OCOP_DEVIDP_HOST", "127.0.0.1")
CERTS = "/realms/ocop/protocol/openid-connect/certs"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == CERTS:
            try:
                body = json.dumps(json.loads(JWKS.read_text())).encode()
            except (OSError, ValueError) as exc:
                self._send(503, {"error": f"no keys: {exc}"})
                return
            self._send_bytes(200, body)
        elif self.path in ("/health/ready", "/health/live", "/health"):
            self._send(
                200 if JWKS.is_file() else 503, {"status": "UP" if JWKS.is_file() else "DOWN"}
            )
        else:
            self._send(404, {"error": "not found"})

    def _send(self, status: int, document: dict[str, str]) -> None:
        self._send_bytes(status, json.dumps(document).encode())

    def _send_bytes(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    management = ThreadingHTTPServer((HOST, 9000), Handler)
    threading.Thread(target=management.serve_forever, daemon=True).start()
    ThreadingHTTPServer((HOST, 8080), Handler).serve_forever()


if __name__ == "__main__":
    main()
