/**
 * The upgrade: the previous version (the last commit that kept the tool's memory in files in DEPLOY_REMOTE_DIR,
 * built from this repository's own history) deploys twice; this version then sees those releases, imports them
 * into the swarm on its first deploy, and rolls back to one of them.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanup, currentId, loadSandbox, makeFixture, runCli, serviceImage, storeObjects, ROOT, type Fixture } from './harness.js';

const { sandbox, reason } = loadSandbox();
/** The previous version: its memory in the remote dir (current, history, releases/, audit.log, lock/). */
const PREVIOUS = '1eb9edc';

function previousAvailable(): boolean {
  return spawnSync('git', ['-C', ROOT, 'rev-parse', '--verify', '--quiet', `${PREVIOUS}^{commit}`]).status === 0;
}

describe('upgrade from the previous version', { skip: sandbox ? false : `e2e skipped: ${reason}` }, () => {
  let fx: Fixture;
  let oldCli = '';
  const ids: Record<string, string> = {};
  const image = (svc: string, tag: string) => `${sandbox!.registry}/e2e-${fx.stack}/honeydue-${svc}:${tag}`;

  before(() => {
    if (!previousAvailable()) throw new Error(`commit ${PREVIOUS} (the previous version) is not in this clone's history — the upgrade test builds it; clone with history`);
    fx = makeFixture(sandbox!, { stack: 'e2eupgrade', apiPort: 18940 });
    const dir = fs.mkdtempSync(path.join(fx.root, 'previous-'));
    execFileSync('sh', ['-c', 'git -C "$1" archive "$2" | tar -x -C "$3"', 'sh', ROOT, PREVIOUS, dir]);
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    execFileSync(process.execPath, [path.join(dir, 'scripts/build.mjs')], { cwd: dir, stdio: 'ignore' });
    oldCli = path.join(dir, 'dist', 'cli.js');
  });
  after(async () => {
    if (fx) await cleanup(fx);
  });

  it('the previous version deploys twice: its memory is in files on the manager, none in the swarm', async () => {
    for (const tag of ['up1', 'up2']) {
      const r = await runCli(fx, ['--context', fx.context, '--tag', tag], {}, oldCli);
      assert.equal(r.code, 0, r.output);
    }
    ids.up2 = fs.readFileSync(path.join(fx.remoteDirAbs, 'current'), 'utf8').trim();
    ids.up1 = fs.readFileSync(path.join(fx.remoteDirAbs, 'history'), 'utf8').trim().split('\n')[0]!;
    assert.match(ids.up1!, /^up1_/);
    assert.match(ids.up2!, /^up2_/);
    assert.deepEqual(storeObjects(fx.stack), []);
  });

  it('before its first deploy, this version lists them (from that manager\'s files, and says so)', async () => {
    const r = await runCli(fx, ['releases', '--json']);
    assert.equal(r.code, 0, r.output);
    const rows = JSON.parse(r.stdout) as Array<{ deployId: string; current: boolean }>;
    assert.deepEqual(rows.map((x) => [x.deployId, x.current]), [[ids.up2, true], [ids.up1, false]]);
    assert.match(r.stderr, /the next deploy or rollback copies them into the swarm/);
  });

  it('its first deploy imports them into the swarm; releases shows all three; rollback to an imported one works', async () => {
    const r = await runCli(fx, ['--context', fx.context, '--tag', 'up3']);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /imported what an earlier version kept in e2e\/e2eupgrade on this manager into the swarm: 2 release record\(s\), 2 history entries, 2 audit record\(s\)/);
    const list = await runCli(fx, ['releases', '--json']);
    const rows = JSON.parse(list.stdout) as Array<{ deployId: string; current: boolean; knownGood: boolean; outcome: string }>;
    assert.deepEqual(rows.map((x) => x.deployId.replace(/_\d{14}$/, '')), ['up3', 'up2', 'up1']);
    assert.deepEqual(rows.map((x) => [x.current, x.knownGood, x.outcome]), [[true, true, 'healthy'], [false, true, 'healthy'], [false, true, 'healthy']]);
    const back = await runCli(fx, ['rollback', ids.up1!]);
    assert.equal(back.code, 0, back.output);
    for (const svc of ['api', 'worker', 'admin']) assert.equal(serviceImage(fx.stack, svc), image(svc, 'up1'));
    assert.equal(currentId(fx.stack), ids.up1);
    // a plain rollback walks back from there by the imported history: nothing older than up1
    const none = await runCli(fx, ['rollback']);
    assert.equal(none.code, 2, none.output);
    assert.match(none.output, /no earlier known-good release of e2eupgrade is recorded/);
  });
});
