// Validates an AsyncAPI document with the real parser (@asyncapi/parser, installed by
// deploy/ci/install-asyncapi-parser.sh into .cache/asyncapi). Prints every diagnostic,
// one a line; exits 1 when any is an error, or with --strict a warning.
//
//   node deploy/ci/validate-asyncapi.cjs [--strict] schemas/asyncapi.yaml
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { createRequire } = require("node:module");

const root = path.resolve(__dirname, "..", "..");
const installed = process.env.HUB_ASYNCAPI_PARSER_DIR || path.join(root, ".cache", "asyncapi");
const { Parser } = createRequire(path.join(installed, "package.json"))("@asyncapi/parser");

const SEVERITY = ["error", "warning", "info", "hint"];

async function main() {
  const args = process.argv.slice(2);
  const strict = args.includes("--strict");
  const file = args.find((arg) => arg !== "--strict");
  if (!file) {
    console.error("usage: node validate-asyncapi.cjs [--strict] FILE");
    process.exit(2);
  }
  const parser = new Parser();
  const { document, diagnostics } = await parser.parse(fs.readFileSync(file, "utf8"), {
    source: path.resolve(file),
  });
  for (const d of diagnostics) {
    console.log(`${SEVERITY[d.severity]} ${d.code} at /${d.path.join("/")}: ${d.message}`);
  }
  const failing = diagnostics.filter((d) => d.severity === 0 || (strict && d.severity === 1));
  if (document === undefined || failing.length > 0) {
    console.log(`${file}: invalid (${failing.length} failing diagnostics)`);
    process.exit(1);
  }
  const channels = document.channels().length;
  const operations = document.operations().length;
  console.log(`${file}: valid AsyncAPI ${document.version()}, ${channels} channels, ${operations} operations`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
