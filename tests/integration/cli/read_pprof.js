// Decodes a gzipped pprof profile with the npm package pprof-format (Datadog's decoder, not
// ours), checks that every id it references exists, and prints the sample types and the sums
// of each value column as JSON.
// Usage: node read_pprof.js NODE_MODULES PROFILE
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const [modules, file] = process.argv.slice(2);
const {Profile} = require(path.join(modules, 'pprof-format'));
const profile = Profile.decode(zlib.gunzipSync(fs.readFileSync(file)));
const strings = profile.stringTable.strings;
const fail = (message) => { console.error(`${file}: ${message}`); process.exit(1); };
const str = (i) => {
  const s = strings[Number(i)];
  if (s === undefined) fail(`string index ${i} out of range`);
  return s;
};

if (strings[0] !== '') fail('string_table[0] is not ""');
const functions = new Map(profile.function.map((f) => [Number(f.id), str(f.name)]));
const mappings = new Set(profile.mapping.map((m) => Number(m.id)));
const locations = new Map();
for (const l of profile.location) {
  if (Number(l.mappingId) !== 0 && !mappings.has(Number(l.mappingId))) {
    fail(`location ${l.id}: no mapping ${l.mappingId}`);
  }
  if (l.line.length === 0) fail(`location ${l.id} has no line`);
  for (const line of l.line) {
    if (!functions.has(Number(line.functionId))) fail(`location ${l.id}: no function`);
  }
  locations.set(Number(l.id), l);
}
const types = profile.sampleType.map((t) => `${str(t.type)}/${str(t.unit)}`);
const totals = types.map(() => 0);
for (const s of profile.sample) {
  if (s.value.length !== types.length) fail('a sample has the wrong number of values');
  if (s.locationId.length === 0) fail('a sample has no stack');
  for (const id of s.locationId) {
    if (!locations.has(Number(id))) fail(`sample references no location ${id}`);
  }
  s.value.forEach((v, i) => { totals[i] += Number(v); });
}
console.log(JSON.stringify({
  types,
  totals,
  samples: profile.sample.length,
  locations: locations.size,
  functions: functions.size,
  mappings: mappings.size,
  period_type: profile.periodType ?
      `${str(profile.periodType.type)}/${str(profile.periodType.unit)}` : '',
}));
