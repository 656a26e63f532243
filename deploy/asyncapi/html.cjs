// Renders an AsyncAPI document as a static HTML site with @asyncapi/generator and its HTML
// template (@asyncapi/html-template): one self-contained index.html.
// Usage: OCOP_ASYNCAPI_TOOLS=<folder with node_modules> node html.cjs FILE OUTPUT_DIR
'use strict';
const path = require('node:path');

const tools = process.env.OCOP_ASYNCAPI_TOOLS || path.join(__dirname, '..', '..', '.ocop', 'asyncapi-tools');
const Generator = require(require.resolve('@asyncapi/generator', { paths: [tools] }));
const template = path.dirname(
  require.resolve('@asyncapi/html-template/package.json', { paths: [tools] }),
);

(async () => {
  const generator = new Generator(template, path.resolve(process.argv[3]), {
    forceWrite: true,
    templateParams: { singleFile: 'true' },
  });
  await generator.generateFromFile(path.resolve(process.argv[2]));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
