/**
 * How long the dry run takes: in-process (validate + render + plan) and as a whole CLI process against the
 * demo config. Target: well under a second of our own time. Prints medians; never fails.
 *   npm run bench
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/index.js';
import { resolveSettings } from '../src/config/settings.js';
import { printPlan } from '../src/plan.js';
import { buildRelease } from '../src/release.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DEMO = path.join(ROOT, 'examples/demo');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const inProcess: number[] = [];
for (let i = 0; i < 50; i++) {
  const t = performance.now();
  const settings = resolveSettings({ deployDir: DEMO, tag: 'bench1' }, {}, { plan: true });
  const cfg = loadConfig(DEMO);
  const release = buildRelease(cfg, settings, {}, { sha: 'abc1234', dirty: false }, new Date());
  let lines = 0;
  printPlan({ cfg, settings, release }, () => lines++);
  inProcess.push(performance.now() - t);
}

const whole: number[] = [];
for (let i = 0; i < 7; i++) {
  const t = performance.now();
  const r = spawnSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'plan', '--deploy-dir', DEMO, '--tag', 'bench1'], { encoding: 'utf8' });
  whole.push(performance.now() - t);
  if (r.status !== 0) throw new Error(r.stderr);
}

console.log(`plan in-process (validate, render, print): median ${median(inProcess).toFixed(1)} ms over ${inProcess.length} runs`);
console.log(`plan as a CLI process (node start, imports, git, docker stack config): median ${median(whole).toFixed(0)} ms over ${whole.length} runs`);
