// Validates a speedscope file against the file-format-schema.json shipped in the npm package
// speedscope, with ajv; then checks what the schema cannot say (frame indices in range, one
// weight per sample, weights summing to endValue) and prints each profile's endValue as JSON.
// Usage: node validate_speedscope.js NODE_MODULES FILE
'use strict';
const fs = require('fs');
const path = require('path');

const [modules, file] = process.argv.slice(2);
const Ajv = require(path.join(modules, 'ajv')).default;
const schema = JSON.parse(fs.readFileSync(
    path.join(modules, 'speedscope', 'dist', 'release', 'file-format-schema.json'), 'utf8'));
const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
const fail = (message) => { console.error(`${file}: ${message}`); process.exit(1); };

const validate = new Ajv({allErrors: true, strict: false}).compile(schema);
if (!validate(doc)) {
  for (const e of validate.errors.slice(0, 20)) {
    console.error(`${file}: ${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
  }
  fail('does not match the speedscope schema');
}
const frames = doc.shared.frames.length;
const ends = {};
for (const p of doc.profiles) {
  if (p.type !== 'sampled') fail(`profile ${p.name} is not sampled`);
  if (p.samples.length !== p.weights.length) fail(`profile ${p.name}: samples != weights`);
  for (const stack of p.samples) {
    if (stack.length === 0) fail(`profile ${p.name}: an empty stack`);
    for (const i of stack) {
      if (!Number.isInteger(i) || i < 0 || i >= frames) fail(`frame index ${i} out of range`);
    }
  }
  const sum = p.weights.reduce((a, b) => a + b, 0);
  if (sum !== p.endValue - p.startValue) fail(`profile ${p.name}: weights sum to ${sum}`);
  ends[p.name] = p.endValue;
}
console.log(JSON.stringify(ends));
