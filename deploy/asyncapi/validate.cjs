// Validates an AsyncAPI document with the official parser (@asyncapi/parser).
// Usage: OCOP_ASYNCAPI_TOOLS=<folder with node_modules> node validate.cjs FILE...
// Prints a JSON list, one object a file: the parser's diagnostics and what it read (channels,
// operations, messages), so that the caller can check the parser saw the whole document.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const tools = process.env.OCOP_ASYNCAPI_TOOLS || path.join(__dirname, '..', '..', '.ocop', 'asyncapi-tools');
const { Parser } = require(require.resolve('@asyncapi/parser', { paths: [tools] }));

(async () => {
  const parser = new Parser();
  const results = [];
  for (const file of process.argv.slice(2)) {
    const { document, diagnostics } = await parser.parse(fs.readFileSync(file, 'utf8'));
    const read = document
      ? {
          version: document.version(),
          channels: document.channels().all().map((c) => c.address()),
          operations: document.operations().all().map((o) => o.id()),
          messages: document.components().messages().all().map((m) => m.id()),
        }
      : null;
    results.push({
      document: read,
      diagnostics: diagnostics.map((d) => ({
        severity: d.severity,
        code: d.code,
        message: d.message,
        path: d.path,
      })),
    });
  }
  process.stdout.write(JSON.stringify(results));
})().catch((error) => {
  console.error(error);
  process.exit(2);
});
