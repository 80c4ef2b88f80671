/**
 * The swarm store against a stand-in for `docker config` that keeps objects by name exactly as swarm does (a name
 * that exists cannot be created again): the command values the store builds are what it interprets.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Command } from '../../../src/commands/command.js';
import { STACK_LABEL } from '../../../src/commands/secrets.js';
import { ID_LABEL, KIND_LABEL } from '../../../src/commands/store.js';
import type { RunResult } from '../../../src/io/runner.js';
import { MemoryStore } from '../../../src/store/memory.js';
import { selectOldReleases, type Store } from '../../../src/store/store.js';
import { SwarmStore } from '../../../src/store/swarm.js';
import { FakeConfigs } from '../../helpers/fake-configs.js';

const owner = (id: string) => ({ who: 'me@laptop', pid: 42, deployId: id, gitSha: null, tag: 't', startedAt: '2026-12-01T10:00:00.000Z', via: 'manager2' });
const record = (id: string) => ({ deployId: id, tag: id.split('_')[0]!, images: { api: `r/api:${id}` }, serviceImages: { api: `r/api:${id}` }, secretNames: { secret_key: `s_secret_key_${id}` }, stackFile: 'services: {}\n', envFile: 'A=1\n' });

function contract(name: string, make: () => Store) {
  describe(`${name}: the store contract`, () => {
    it('the lock: one holder; a second run is told who holds it; only the holder releases it; force removes any', async () => {
      const s = make();
      assert.deepEqual(await s.acquireLock(owner('a_20261201100000')), { acquired: true });
      assert.deepEqual(await s.acquireLock(owner('b_20261201100001')), { acquired: false, holder: 'me@laptop (pid 42, deploy a_20261201100000, git n/a, since 2026-12-01T10:00:00.000Z, through manager2)', owner: owner('a_20261201100000') });
      await s.releaseLock('b_20261201100001');
      assert.match((await s.inspectLock())!, /deploy a_20261201100000/);
      await s.releaseLock('a_20261201100000');
      assert.equal(await s.inspectLock(), undefined);
      await s.acquireLock(owner('c_20261201100002'));
      assert.equal(await s.forceUnlock(), true);
      assert.equal(await s.forceUnlock(), false);
      assert.deepEqual(await s.acquireLock(owner('d_20261201100003')), { acquired: true });
    });
    it('two runs racing for the lock: exactly one wins', async () => {
      const s = make();
      const results = await Promise.all(['a', 'b', 'c', 'd'].map((x, i) => s.acquireLock(owner(`${x}_2026120110000${i}`))));
      assert.equal(results.filter((r) => r.acquired).length, 1);
    });
    it('records, marks and history: current is the newest mark; a rollback moves current but not the history', async () => {
      const s = make();
      for (const id of ['a_20261201100000', 'b_20261201110000', 'c_20261201120000']) await s.recordRelease(record(id));
      await s.markCurrent('a_20261201100000', 'deploy', new Date('2026-12-01T10:00:00Z'));
      await s.markCurrent('b_20261201110000', 'deploy', new Date('2026-12-01T11:00:00Z'));
      await s.markCurrent('c_20261201120000', 'deploy', new Date('2026-12-01T12:00:00Z'));
      await s.markCurrent('b_20261201110000', 'rollback', new Date('2026-12-01T13:00:00Z'));
      const st = await s.readState();
      assert.equal(st.current, 'b_20261201110000');
      assert.deepEqual(st.history, ['a_20261201100000', 'b_20261201110000', 'c_20261201120000']);
      assert.deepEqual((await s.readRelease('c_20261201120000'))?.stackFile, 'services: {}\n');
      assert.equal(await s.readRelease('zz_20261201120000'), undefined);
      await s.removeReleases(['a_20261201100000']);
      assert.deepEqual((await s.listReleases()).map((r) => r.deployId).sort(), ['b_20261201110000', 'c_20261201120000']);
    });
    it('the audit trail keeps order; compact keeps the newest records and the marks of kept releases', async () => {
      const s = make();
      for (let i = 0; i < 5; i++) await s.appendAudit({ event: 'deploy', who: 'me', from: 'laptop', start: `t${i}`, durationMs: i, outcome: 'healthy' });
      await s.recordRelease(record('b_20261201110000'));
      await s.markCurrent('gone_20261201100000', 'deploy', new Date('2026-12-01T10:00:00Z'));
      await s.markCurrent('b_20261201110000', 'deploy', new Date('2026-12-01T11:00:00Z'));
      await s.compact(3);
      assert.deepEqual((await s.readAudit()).map((r) => r.start), ['t2', 't3', 't4']);
      assert.deepEqual((await s.readState()).marks.map((m) => m.deployId), ['b_20261201110000']);
    });
  });
}

contract('memory', () => new MemoryStore());
contract('swarm configs', () => new SwarmStore(new FakeConfigs(), 'hd'));

describe('the swarm store', () => {
  it('keeps each thing as a labelled config of the stack; nothing is read back from a name it did not make', async () => {
    const fake = new FakeConfigs();
    const s = new SwarmStore(fake, 'hd');
    await s.acquireLock(owner('a_20261201100000'));
    await s.recordRelease(record('a_20261201100000'));
    await s.markCurrent('a_20261201100000', 'deploy', new Date('2026-12-01T10:00:00.123Z'));
    const names = [...fake.objects.keys()];
    assert.deepEqual(names.slice(0, 2), ['hd_hd-lock', 'hd_hd-release_a_20261201100000']);
    assert.match(names[2]!, /^hd_hd-mark_20261201100000123_[0-9a-f]{4}$/);
    assert.deepEqual(fake.objects.get('hd_hd-release_a_20261201100000')!.labels, { [STACK_LABEL]: 'hd', [KIND_LABEL]: 'release', [ID_LABEL]: 'a_20261201100000' });
    // another stack's objects are never read as this one's
    await new SwarmStore(fake, 'other').recordRelease(record('x_20261201100000'));
    assert.deepEqual((await s.listReleases()).map((r) => r.deployId), ['a_20261201100000']);
  });
  it('recording the same release again (a run resumed through another manager) is fine', async () => {
    const s = new SwarmStore(new FakeConfigs(), 'hd');
    await s.recordRelease(record('a_20261201100000'));
    await s.recordRelease(record('a_20261201100000'));
  });
  it('refuses a record swarm cannot keep, saying what to shorten', async () => {
    const s = new SwarmStore(new FakeConfigs(), 'hd');
    await assert.rejects(s.recordRelease({ ...record('a_20261201100000'), stackFile: 'x'.repeat(600 * 1024) }), /is \d+ bytes; swarm keeps at most 511999 bytes in one config — shorten the stack file or prod\.env/);
  });
  const labels = (kind: string, id?: string) => ({ [STACK_LABEL]: 'hd', [KIND_LABEL]: kind, ...(id ? { [ID_LABEL]: id } : {}) });
  it('a broken record is named (kind, config, what is wrong, the commands) and left out, never thrown at the reader', async () => {
    const fake = new FakeConfigs();
    const warnings: string[] = [];
    const s = new SwarmStore(fake, 'hd', (w) => warnings.push(w));
    await s.recordRelease(record('b_20261201110000'));
    fake.put('hd_hd-release_a_20261201100000', labels('release', 'a_20261201100000'), '{"deployId": "a_2026');
    fake.put('hd_hd-release_n_20261201100000', labels('release', 'n_20261201100000'), 'null');
    assert.deepEqual((await s.listReleases()).map((r) => r.deployId), ['b_20261201110000']);
    assert.equal(await s.readRelease('n_20261201100000'), undefined);
    assert.deepEqual(warnings.sort(), [
      'the release config hd_hd-release_a_20261201100000 of hd is not valid JSON — it is left out (that release cannot be rolled back to); look at it with `docker config inspect hd_hd-release_a_20261201100000`, or remove it with `docker config rm hd_hd-release_a_20261201100000`',
      'the release config hd_hd-release_n_20261201100000 of hd holds null, not a release record — it is left out (that release cannot be rolled back to); look at it with `docker config inspect hd_hd-release_n_20261201100000`, or remove it with `docker config rm hd_hd-release_n_20261201100000`',
    ]);
  });
  it('a mark without its time is still a mark; one without a release id is named and left out', async () => {
    const fake = new FakeConfigs();
    const warnings: string[] = [];
    const s = new SwarmStore(fake, 'hd', (w) => warnings.push(w));
    fake.put('hd_hd-mark_1', labels('mark', 'a_20261201100000'), JSON.stringify({ deployId: 'a_20261201100000', event: 'deploy' }));
    fake.put('hd_hd-mark_2', labels('mark'), JSON.stringify({ event: 'deploy', at: '2026-12-01T10:00:00Z' }));
    const st = await s.readState();
    assert.equal(st.current, 'a_20261201100000');
    assert.deepEqual(warnings, ['the mark config hd_hd-mark_2 of hd has no deployId — it is left out (the known-good history is read without it); look at it with `docker config inspect hd_hd-mark_2`, or remove it with `docker config rm hd_hd-mark_2`']);
  });
  it('the newest mark is the one the cluster wrote last, whatever time the laptops put in it (fast, slow, a year ahead)', async () => {
    const fake = new FakeConfigs();
    const s = new SwarmStore(fake, 'hd');
    for (const id of ['a_20261201100000', 'b_20261201110000', 'c_20261201120000']) await s.recordRelease(record(id));
    await s.markCurrent('a_20261201100000', 'deploy', new Date('2027-12-01T10:00:00Z'));
    await s.markCurrent('b_20261201110000', 'deploy', new Date('2026-12-01T10:10:00Z'));
    await s.markCurrent('c_20261201120000', 'deploy', new Date('2026-12-01T09:00:00Z'));
    const st = await s.readState();
    assert.equal(st.current, 'c_20261201120000');
    assert.deepEqual(st.history, ['a_20261201100000', 'b_20261201110000', 'c_20261201120000']);
    // the release list is newest first in the same order
    assert.deepEqual((await s.listReleases()).sort((x, y) => y.seq! - x.seq!).map((r) => r.deployId), ['c_20261201120000', 'b_20261201110000', 'a_20261201100000']);
    // a pruned record's mark from the future is no longer current either
    await s.removeReleases(['a_20261201100000']);
    await s.compact(10);
    assert.equal((await s.readState()).current, 'c_20261201120000');
  });
  it('release records without their id label, or unreadable ones, never make compaction delete marks', async () => {
    const fake = new FakeConfigs();
    const s = new SwarmStore(fake, 'hd');
    for (const id of ['a_20261201100000', 'b_20261201110000', 'c_20261201120000']) {
      fake.put(`hd_hd-release_${id}`, labels('release'), JSON.stringify(record(id)));
      await s.markCurrent(id, 'deploy');
    }
    await s.compact(10);
    assert.deepEqual((await s.readState()).history, ['a_20261201100000', 'b_20261201110000', 'c_20261201120000']);
    fake.put('hd_hd-release_x_20261201130000', labels('release', 'x_20261201130000'), '{');
    await s.markCurrent('gone_20261201100000', 'deploy');
    await s.markCurrent('c_20261201120000', 'deploy');
    await s.compact(10);
    assert.deepEqual((await s.readState()).marks.map((m) => m.deployId), ['a_20261201100000', 'b_20261201110000', 'c_20261201120000', 'gone_20261201100000', 'c_20261201120000']);
  });
  it('audit records in the cluster\'s order; compaction drops the oldest by that order', async () => {
    const fake = new FakeConfigs();
    const s = new SwarmStore(fake, 'hd');
    for (let i = 0; i < 4; i++) await s.appendAudit({ event: 'deploy', who: 'me', from: 'laptop', start: `t${i}`, durationMs: i, outcome: 'healthy' });
    // the names carry the laptop's time: rename the first so that its name sorts last
    const first = [...fake.objects.entries()][0]!;
    fake.objects.delete(first[0]);
    fake.objects.set('hd_hd-audit_99999999999999999_ffff', first[1]);
    assert.deepEqual((await s.readAudit()).map((r) => r.start), ['t0', 't1', 't2', 't3']);
    await s.compact(2);
    assert.deepEqual((await s.readAudit()).map((r) => r.start), ['t2', 't3']);
  });
});

describe('pruning protection', () => {
  it('never the known-good, the previous or the run in progress, whatever their age', () => {
    const ids = ['a_20261201100000', 'b_20261201110000', 'c_20261201120000', 'd_20261201130000', 'e_20261201140000'].map((deployId) => ({ deployId }));
    assert.deepEqual(selectOldReleases(ids, 2, new Set(['a_20261201100000'])), ['c_20261201120000', 'b_20261201110000']);
    assert.deepEqual(selectOldReleases(ids, 0, new Set(ids.map((r) => r.deployId))), []);
  });
});
