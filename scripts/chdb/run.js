#!/usr/bin/env node
// Runs SQL in an embedded ClickHouse engine (the npm package chdb) and prints
// the results as JSON, so Go tests can check the exporter's DDL and queries
// against a real, modern ClickHouse without a server.
//
// Usage:
//   node run.js [FILE...]          read input from the files, or from stdin
//
// Input is either
//   - SQL: statements separated by a ';' that ends a line, or
//   - JSON (first non-blank character '[' or '{'): an array of steps
//     (or {"steps": [...]}) of the form {"sql": "...", "data": "..."}.
//     When "data" is present it is appended after the statement on a new
//     line, so `{"sql": "INSERT INTO t FORMAT JSONEachRow", "data": rows}`
//     loads JSONEachRow rows.
//
// Output: one JSON object per line and statement,
//   {"statement": N, "rows": [ ...result rows... ]}
// and, on the first failing statement, {"statement": N, "error": "..."} on
// stdout with exit status 1. Everything runs in one in-memory Session, and the
// session time zone is UTC so DateTime values print the same everywhere;
// 64-bit integers print as JSON numbers.
'use strict';

const fs = require('fs');
const path = require('path');

function loadChdb() {
  // The same default as scripts/chdb/install.sh and the Go tests
  // (internal/testutil.CacheDir).
  const os = require('os');
  const cache = process.env.VIGIL_CACHE_DIR ||
    path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'vigil');
  const dir = process.env.VIGIL_CHDB_DIR || path.join(cache, 'chdb');
  try {
    return require(path.join(dir, 'node_modules', 'chdb'));
  } catch (e) {
    process.stderr.write(`chdb is not installed in ${dir}: run scripts/chdb/install.sh (${e.message})\n`);
    process.exit(2);
  }
}

function splitSQL(text) {
  // A ';' at the end of a line ends a statement; this keeps ';' inside
  // string literals on one line intact, which is all the schema files need.
  return text.split(/;[ \t]*(?:\r?\n|$)/)
    .map((s) => s.trim())
    .filter((s) => s.replace(/--[^\n]*/g, '').trim() !== '');
}

function parseSteps(text) {
  const t = text.trimStart();
  if (t.startsWith('[') || t.startsWith('{')) {
    const doc = JSON.parse(t);
    const steps = Array.isArray(doc) ? doc : doc.steps;
    if (!Array.isArray(steps)) throw new Error('JSON input must be an array of steps or {"steps": [...]}');
    return steps.map((s) => ({ sql: String(s.sql), data: s.data }));
  }
  return splitSQL(text).map((sql) => ({ sql }));
}

function main() {
  const files = process.argv.slice(2);
  const inputs = files.length ? files.map((f) => fs.readFileSync(f, 'utf8')) : [fs.readFileSync(0, 'utf8')];
  const steps = inputs.flatMap(parseSteps);

  const { Session } = loadChdb();
  const session = new Session();
  let status = 0;
  try {
    session.query("SET session_timezone = 'UTC'");
    // Plain JSON numbers for 64-bit integers, whatever the engine's default.
    session.query('SET output_format_json_quote_64bit_integers = 0');
    for (let i = 0; i < steps.length; i++) {
      const { sql, data } = steps[i];
      const text = data === undefined || data === null ? sql : `${sql}\n${data}`;
      let out;
      try {
        out = session.query(text, 'JSONEachRow');
      } catch (e) {
        process.stdout.write(JSON.stringify({ statement: i, error: String(e && e.message ? e.message : e) }) + '\n');
        status = 1;
        break;
      }
      // Rows are copied as ClickHouse printed them: parsing them in
      // JavaScript would round 64-bit integers to doubles.
      const rows = String(out || '').split('\n').filter((l) => l.trim() !== '');
      process.stdout.write(`{"statement":${i},"rows":[${rows.join(',')}]}\n`);
    }
  } finally {
    session.close();
  }
  process.exit(status);
}

main();
