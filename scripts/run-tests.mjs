#!/usr/bin/env node
// Runs the node:test suites through tsx. Node 20's --test does not expand globs, so the files are listed
// here. `node scripts/run-tests.mjs [unit|e2e]` runs one suite; no argument runs both, unit first.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

function find(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? find(p) : e.name.endsWith('.test.ts') ? [p] : [];
  });
}

const which = process.argv[2];
const suites = which ? [which] : ['unit', 'e2e'];
const files = suites.flatMap((s) => find(path.join('test', s)).sort());
if (files.length === 0) {
  console.error(`no test files found for ${suites.join(', ')}`);
  process.exit(1);
}
// e2e tests share one swarm and one set of host ports: one file at a time
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
