/**
 * The upgrade reader runs its script with the same /bin/sh a manager has, on a remote dir laid out exactly as the
 * previous version wrote it, then imports into a store.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { remoteShellString } from '../../../src/commands/command.js';
import { importLegacy, importPending, parseLegacy, readLegacyDir } from '../../../src/store/legacy.js';
import { SwarmStore } from '../../../src/store/swarm.js';
import { FakeConfigs } from '../../helpers/fake-configs.js';
import { MemoryStore } from '../../../src/store/memory.js';
import { tempDir } from '../../helpers/tmp.js';

function layOut(home: string, dir: string, withLock = false): void {
  const d = path.join(home, dir);
  for (const [id, tag] of [['a_20261101100000', 'a'], ['b_20261102100000', 'b'], ['c_20261103100000', 'c']] as const) {
    fs.mkdirSync(path.join(d, 'releases', id), { recursive: true });
    fs.writeFileSync(path.join(d, 'releases', id, 'release.json'), `${JSON.stringify({ deployId: id, tag, images: {}, serviceImages: { api: `r/api:${tag}` }, secretNames: {} }, null, 2)}\n`);
    fs.writeFileSync(path.join(d, 'releases', id, 'swarm-stack.yml'), `services:\n  api:\n    image: r/api:${tag}\n`);
    fs.writeFileSync(path.join(d, 'releases', id, 'prod.env'), tag === 'c' ? 'NO_NEWLINE=1' : 'A=1\nB=two words\n');
  }
  fs.writeFileSync(path.join(d, 'history'), 'a_20261101100000\nb_20261102100000\nc_20261103100000\n');
  fs.writeFileSync(path.join(d, 'current'), 'b_20261102100000\n');
  fs.writeFileSync(path.join(d, 'audit.log'), '{"event":"deploy","deployId":"c_20261103100000","outcome":"healthy"}\nnot json\n');
  if (withLock) {
    fs.mkdirSync(path.join(d, 'lock'));
    fs.writeFileSync(path.join(d, 'lock', 'owner.json'), JSON.stringify({ who: 'old@laptop', pid: 7, deployId: 'x_20261103100000', gitSha: null, tag: 'x', startedAt: 'then' }));
  }
}

function read(home: string, dir: string): string {
  const c = readLegacyDir(dir);
  return spawnSync('/bin/sh', ['-c', remoteShellString(c)], { cwd: home, encoding: 'utf8' }).stdout;
}

describe('the upgrade from the remote dir', () => {
  it('reads the previous layout byte for byte and imports it: history in order, the rolled-back-to release current', async () => {
    const home = tempDir('hd-legacy-');
    layOut(home, 'hd dir $(touch pwned)');
    const legacy = parseLegacy(read(home, 'hd dir $(touch pwned)'))!;
    assert.deepEqual(legacy.history, ['a_20261101100000', 'b_20261102100000', 'c_20261103100000']);
    assert.equal(legacy.current, 'b_20261102100000');
    const c = legacy.releases.find((r) => r.deployId === 'c_20261103100000')!;
    assert.equal(c.stackFile, 'services:\n  api:\n    image: r/api:c\n');
    assert.equal(c.envFile, 'NO_NEWLINE=1');
    assert.equal(legacy.releases.find((r) => r.deployId === 'a_20261101100000')!.envFile, 'A=1\nB=two words\n');
    assert.equal(legacy.audit.length, 1);
    assert.equal(legacy.lockHolder, undefined);
    const store = new MemoryStore();
    assert.equal(await importLegacy(store, legacy), '3 release record(s), 3 history entries, 1 audit record(s)');
    const st = await store.readState();
    assert.equal(st.current, 'b_20261102100000');
    assert.deepEqual(st.history, ['a_20261101100000', 'b_20261102100000', 'c_20261103100000']);
    assert.deepEqual(fs.readdirSync(home).filter((f) => f.startsWith('pwned')), []);
  });
  it('a truncated release.json is not imported, and the import says which', async () => {
    const home = tempDir('hd-legacy-');
    layOut(home, 'hd');
    fs.writeFileSync(path.join(home, 'hd', 'releases', 'a_20261101100000', 'release.json'), '{"deployId": "a_2026');
    const legacy = parseLegacy(read(home, 'hd'))!;
    assert.deepEqual(legacy.unreadable, ['a_20261101100000']);
    assert.equal(await importLegacy(new MemoryStore(), legacy), '2 release record(s), 3 history entries, 1 audit record(s); not imported, their release.json cannot be read: a_20261101100000');
  });
  it("an earlier version's lock is seen, with its owner", () => {
    const home = tempDir('hd-legacy-');
    layOut(home, 'hd', true);
    assert.equal(parseLegacy(read(home, 'hd'))!.lockHolder, 'old@laptop (pid 7, deploy x_20261103100000, git n/a, since then)');
  });
  it('no remote dir: nothing to import', () => {
    assert.equal(parseLegacy(read(tempDir('hd-legacy-'), 'nothing-here')), undefined);
  });
  it('an import stopped at any write (a lost manager) is finished by the next run: the same records, history and current, each written once', async () => {
    const home = tempDir('hd-legacy-');
    layOut(home, 'hd');
    const legacy = parseLegacy(read(home, 'hd'))!;
    const whole = new SwarmStore(new FakeConfigs(), 'hd');
    await importLegacy(whole, legacy);
    const want = await whole.readState();
    const wantReleases = (await whole.listReleases()).map((r) => r.deployId).sort();
    // 3 records, 1 audit record, 4 marks (a, b, c, then b again as the rollback it was)
    for (let stopAt = 0; stopAt < 8; stopAt++) {
      const fake = new FakeConfigs();
      const s = new SwarmStore(fake, 'hd');
      fake.failAfter = stopAt;
      await assert.rejects(importLegacy(s, legacy), /swarm does not have a leader/);
      fake.failAfter = undefined;
      assert.equal(importPending(legacy, (await s.readState()).marks), true, `after a stop at write ${stopAt} the import is still pending`);
      await importLegacy(s, legacy);
      const got = await s.readState();
      assert.equal(got.current, want.current, `stopped at ${stopAt}`);
      assert.deepEqual(got.history, want.history);
      assert.deepEqual(got.marks.map((m) => [m.deployId, m.event]), want.marks.map((m) => [m.deployId, m.event]));
      assert.deepEqual((await s.listReleases()).map((r) => r.deployId).sort(), wantReleases);
      assert.equal((await s.readAudit()).length, 1);
      assert.equal(importPending(legacy, got.marks), false);
    }
  });
  it('once this version has marked a release, nothing is imported again', async () => {
    const home = tempDir('hd-legacy-');
    layOut(home, 'hd');
    const legacy = parseLegacy(read(home, 'hd'))!;
    const store = new MemoryStore();
    assert.equal(importPending(legacy, []), true);
    await store.markCurrent('z_20261201100000', 'deploy');
    assert.equal(importPending(legacy, (await store.readState()).marks), false);
  });
});
