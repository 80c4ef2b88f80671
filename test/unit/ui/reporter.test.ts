/**
 * The reporter under real terminals: a pseudo-terminal (`script`) that reports zero columns (`stty cols 0`, as some
 * CI shells do) must get plain lines, never a spinner that cannot redraw itself.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { spinnerFits } from '../../../src/ui/reporter.js';
import { tempDir } from '../../helpers/tmp.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('the reporter and the terminal', () => {
  it('a spinner only on a terminal of a usable width, never in CI, on TERM=dumb or through a pipe', () => {
    assert.equal(spinnerFits({ isTTY: true, columns: 80 }, {}), true);
    assert.equal(spinnerFits({ isTTY: true, columns: 0 }, {}), false);
    assert.equal(spinnerFits({ isTTY: true, columns: 10 }, {}), false);
    assert.equal(spinnerFits({ isTTY: true, columns: undefined as unknown as number }, {}), false);
    assert.equal(spinnerFits({ isTTY: true, columns: 80 }, { CI: 'true' }), false);
    assert.equal(spinnerFits({ isTTY: true, columns: 80 }, { TERM: 'dumb' }), false);
    assert.equal(spinnerFits({ isTTY: false, columns: 80 }, {}), false);
  });

  it('under a real pseudo-terminal of zero columns a step with progress ends, in a few plain lines, and SIGTERM is heard', () => {
    const dir = tempDir('hd-reporter-');
    const script = path.join(dir, 'run.mts');
    fs.writeFileSync(script, [
      `import { Reporter } from ${JSON.stringify(path.join(ROOT, 'src/ui/reporter.ts'))};`,
      'let term = false;',
      "process.on('SIGTERM', () => { term = true; });",
      'const r = new Reporter();',
      "await r.step('Wait for convergence', async (h) => {",
      "  for (let i = 0; i < 20; i++) { h.progress(`api: ${i}/3 ${'x'.repeat(120)}`); await new Promise((res) => setTimeout(res, 20)); }",
      '  process.kill(process.pid, "SIGTERM");',
      '  await new Promise((res) => setTimeout(res, 100));',
      '});',
      "console.log(`done, SIGTERM heard: ${term}`);",
    ].join('\n'));
    const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color' };
    delete env.CI;
    const r = spawnSync('script', ['-qfec', `stty cols 0 rows 0; ${process.execPath} --import tsx ${script}`, '/dev/null'], { cwd: ROOT, env, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /==> Wait for convergence/);
    assert.match(r.stdout, /ok \(\d+\.\ds\)/);
    assert.match(r.stdout, /done, SIGTERM heard: true/);
    assert.ok(r.stdout.length < 10_000, `the output loops: ${r.stdout.length} bytes`);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
