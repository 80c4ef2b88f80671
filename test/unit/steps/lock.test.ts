/**
 * Taking the deploy lock: a holder that is certainly gone (this process space, pid not running) is taken over and
 * said; any other holder stops the run (exit 2) naming it, and its lock stays.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/index.js';
import { resolveSettings } from '../../../src/config/settings.js';
import { PreflightError } from '../../../src/errors.js';
import { Interrupt } from '../../../src/interrupt.js';
import { LocalRunner } from '../../../src/io/local.js';
import { thisProcessSpace } from '../../../src/io/process-space.js';
import { buildRelease } from '../../../src/release.js';
import { RunState, type Ctx } from '../../../src/steps/context.js';
import { acquire, owner } from '../../../src/steps/lock.js';
import { MemoryStore } from '../../../src/store/memory.js';
import type { LockOwner } from '../../../src/store/store.js';
import { Reporter } from '../../../src/ui/reporter.js';
import { makeConfig } from '../../helpers/config.js';

function setup(held: LockOwner): { ctx: Ctx; mem: MemoryStore; out: () => string } {
  const c = makeConfig({});
  const cfg = loadConfig(c.deployDir);
  const settings = resolveSettings({ deployDir: c.deployDir, tag: 'v9' }, {}, { plan: true });
  const release = buildRelease(cfg, settings, {}, { sha: 'abc1234', dirty: false }, new Date('2026-12-02T10:00:00Z'));
  let text = '';
  const sink = new Writable({ write(chunk, _e, cb) { text += String(chunk); cb(); } }) as unknown as NodeJS.WriteStream;
  const mem = new MemoryStore();
  mem.lock = held;
  // the manager answers every check (working folder fine, no earlier version's files)
  const session = { alive: true, run: async () => ({ exitCode: 0, stdout: '', stderr: '' }) } as unknown as Ctx['session'];
  const ctx: Ctx = { cfg, settings, release, reporter: new Reporter(sink, sink), local: new LocalRunner(), interrupt: new Interrupt(), state: new RunState(), store: mem, session };
  return { ctx, mem, out: () => text };
}

const deadPid = () => Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
const record = (pid: number, space: string | undefined): LockOwner => ({ who: 'op@laptop', pid, deployId: 'old_20261202090000', gitSha: null, tag: 'old', startedAt: '2026-12-02T09:00:00.000Z', ...(space ? { space } : {}) });

describe('taking the deploy lock', { skip: thisProcessSpace() ? false : 'this machine has no process space to compare' }, () => {
  it('the owner record names this process and its space', () => {
    const { ctx } = setup(record(1, undefined));
    assert.deepEqual({ pid: owner(ctx).pid, space: owner(ctx).space }, { pid: process.pid, space: thisProcessSpace() });
  });

  it('a holder of this space whose pid no longer runs: taken over, said in the output, kept for the audit trail', async () => {
    const pid = deadPid();
    const { ctx, mem, out } = setup(record(pid, thisProcessSpace()));
    await acquire(ctx);
    assert.equal(ctx.state.lockHeld, true);
    assert.equal(mem.lock?.deployId, ctx.release.deployId);
    const said = `op@laptop (pid ${pid}, deploy old_20261202090000, git n/a, since 2026-12-02T09:00:00.000Z) — its process (pid ${pid}) ran on this machine and is no longer running`;
    assert.equal(ctx.state.lockTakenFrom, said);
    assert.equal(out(), `warning: the deploy lock was held by ${said}: taking it over\n`);
  });

  it('a holder of this space that still runs, or of another space, or with no space: the run stops (exit 2) and the lock stays', async () => {
    for (const held of [record(process.ppid, thisProcessSpace()), record(deadPid(), 'linux elsewhere boot x pid:[1]'), record(deadPid(), undefined)]) {
      const { ctx, mem } = setup(held);
      await assert.rejects(acquire(ctx), (e: unknown) => e instanceof PreflightError && /^another run holds the deploy lock of honeydue \(honeydue_hd-lock in the swarm\): op@laptop \(pid \d+, deploy old_20261202090000, git n\/a, since 2026-12-02T09:00:00\.000Z\) — wait for it to finish/.test(e.message));
      assert.equal(mem.lock, held);
      assert.equal(ctx.state.lockHeld, false);
      assert.equal(ctx.state.lockTakenFrom, undefined);
    }
  });
});
