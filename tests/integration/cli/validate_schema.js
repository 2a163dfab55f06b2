// Validates JSON files against a JSON Schema (draft 2020-12) with ajv, an independent validator.
// Usage: node validate_schema.js NODE_MODULES SCHEMA FILE...
'use strict';
const fs = require('fs');
const path = require('path');

const [modules, schemaPath, ...files] = process.argv.slice(2);
const Ajv2020 = require(path.join(modules, 'ajv', 'dist', '2020')).default;
const ajv = new Ajv2020({allErrors: true, strict: true});
const validate = ajv.compile(JSON.parse(fs.readFileSync(schemaPath, 'utf8')));
let failed = false;
for (const file of files) {
  let doc;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    console.error(`${file}: not JSON: ${e.message}`);
    failed = true;
    continue;
  }
  if (validate(doc)) {
    console.log(`${file}: valid`);
  } else {
    failed = true;
    for (const error of validate.errors.slice(0, 20)) {
      console.error(`${file}: ${error.instancePath || '/'} ${error.message} ` +
                    JSON.stringify(error.params));
    }
  }
}
process.exit(failed ? 1 : 0);
