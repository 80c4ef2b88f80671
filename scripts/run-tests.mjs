#!/usr/bin/env node
// Runs the node:test suites through tsx. Node 20's --test does not expand globs, so the files are listed
// here. `node scripts/run-tests.mjs [unit|e2e]` runs one suite; no argument runs both, unit first.
//
// End-to-end files share a sandbox and its ports, so each group runs one file at a time; but the two sandboxes are
// separate — the loopback one and the three-node one (files that read multinode.env, or import three-node.ts) — so their groups run side by
// side, the three-node group with a temporary folder of its own (TMPDIR). Its report is printed after the other's,
// then one summary of both, in the runner's own form (ℹ tests / pass / fail …).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
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
// the three-node sandbox's files: they read its state file, directly or through test/e2e/three-node.ts
const threeNode = (f) => f.startsWith(path.join('test', 'e2e')) && /multinode\.env|\.\/three-node\.js/.test(fs.readFileSync(f, 'utf8'));
const groups = [files.filter((f) => !threeNode(f)), files.filter(threeNode)].filter((g) => g.length);

/** One group in its own runner: its report to `out` (a stream), its exit code; `tmp`: its own temporary folder. */
function runGroup(group, out, tmp) {
  return new Promise((resolve) => {
    const env = tmp ? { ...process.env, TMPDIR: tmp } : process.env;
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...group], { stdio: ['ignore', 'pipe', 'pipe'], env });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

/** The runner's summary lines of a report: name -> number. */
function summary(text) {
  const out = {};
  for (const m of text.matchAll(/^ℹ (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) ([\d.]+)$/gm)) out[m[1]] = Number(m[2]);
  return out;
}

if (groups.length === 1) {
  process.exit(await runGroup(groups[0], process.stdout));
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hd-tests-'));
const logs = groups.map((_, i) => path.join(tmp, `group${i}.log`));
const files0 = logs.map((l) => fs.createWriteStream(l));
// the first group is shown as it runs (and kept for the summary); the second is kept and shown after
const tee = new (await import('node:stream')).PassThrough();
tee.pipe(process.stdout);
tee.pipe(files0[0]);
// the second group's runs (and their private docker configs) in a temporary folder of their own: tests that look
// at what a run left in the temporary folder see only their own group's
const ownTmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hd-three-node-'));
const codes = await Promise.all([runGroup(groups[0], tee), runGroup(groups[1], files0[1], ownTmp)]);
fs.rmSync(ownTmp, { recursive: true, force: true });
await Promise.all(files0.map((f) => new Promise((r) => f.end(r))));
const second = fs.readFileSync(logs[1], 'utf8');
process.stdout.write(`\n--- the three-node sandbox's tests (${groups[1].map((f) => path.basename(f)).join(', ')}), run beside the others ---\n${second}`);
const sums = logs.map((l) => summary(fs.readFileSync(l, 'utf8')));
fs.rmSync(tmp, { recursive: true, force: true });
const keys = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo'];
process.stdout.write('\n--- both groups ---\n');
for (const k of keys) process.stdout.write(`ℹ ${k} ${sums.reduce((n, s) => n + (s[k] ?? 0), 0)}\n`);
process.stdout.write(`ℹ duration_ms ${Math.max(...sums.map((s) => s.duration_ms ?? 0))}\n`);
process.exit(codes.some((c) => c !== 0) ? 1 : 0);
