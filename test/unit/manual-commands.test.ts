/**
 * What a person is told to run by hand is built from the same command values and quoting as what the tool
 * runs: a remote dir with a space must never turn `rm -rf DIR/docker-config…` into two paths.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { resolveSettings } from '../../src/config/settings.js';
import { Interrupt } from '../../src/interrupt.js';
import { LocalRunner } from '../../src/io/local.js';
import { manualAfterLostConnection } from '../../src/pipeline.js';
import { buildRelease } from '../../src/release.js';
import { RunState, type Ctx } from '../../src/steps/context.js';
import { release as releaseLock } from '../../src/steps/lock.js';
import { manualRedeploy } from '../../src/steps/rollback.js';
import { Reporter } from '../../src/ui/reporter.js';
import { makeConfig, runCli } from '../helpers/config.js';

function ctxWith(remoteDir: string): Ctx {
  const c = makeConfig({ 'cluster.env': { DEPLOY_REMOTE_DIR: remoteDir } });
  const cfg = loadConfig(c.deployDir);
  const settings = resolveSettings({ deployDir: c.deployDir, tag: 'v9' }, {}, { plan: true });
  const release = buildRelease(cfg, settings, {}, { sha: 'abc1234', dirty: false }, new Date('2026-11-27T10:00:00Z'));
  return { cfg, settings, release, reporter: new Reporter(), local: new LocalRunner(), interrupt: new Interrupt(), state: new RunState() };
}

describe('commands to run by hand', () => {
  it('a remote dir with a space is quoted in every printed command', async () => {
    const ctx = ctxWith('/srv/honeydue prod');
    ctx.state.stackTouched = true;
    ctx.state.lockHeld = true;
    ctx.state.loggedInManager = true;
    ctx.state.remoteDockerConfig = '/srv/honeydue prod/docker-config.v9_20261127100000';
    ctx.state.previous = { deployId: 'good_20261127090000', tag: 'good', images: {}, serviceImages: {}, secretNames: {} };
    // no manager answers: the tool's own commands (they work through any manager that comes back), then the
    // registry login left on the lost manager, removed there through ssh with the same quoting
    assert.deepEqual(manualAfterLostConnection(ctx), [
      "honeydue-deploy unlock --force   # once the manager answers again (this run's lock; no other run is going on)",
      'honeydue-deploy rollback good_20261127090000   # once the manager answers again: redeploys the known-good release from its record in the swarm',
      `ssh -p 2222 deploy@127.0.0.1 'rm -rf -- '\\''/srv/honeydue prod/docker-config.v9_20261127100000'\\'''   # the run's registry login on that manager`,
    ]);
    assert.deepEqual(manualRedeploy(ctx, "it's"), [
      "cd '/srv/honeydue prod/releases/it'\\''s' && docker stack deploy --with-registry-auth --prune -c swarm-stack.yml honeydue",
      "docker stack ps honeydue --filter desired-state=running   # until every task runs the it's images",
    ]);
    assert.equal(await releaseLock(ctx), 'the deploy lock is still held (no connection to a manager) — run: honeydue-deploy unlock --force   # or on any manager: docker config rm honeydue_hd-lock');
  });

  it('secrets of a release that never reached the stack are removed with one quoted command', () => {
    const ctx = ctxWith('honeydue-deploy/honeydue');
    ctx.state.createdSecrets = ['honeydue_secret_key_v9_20261127100000'];
    assert.equal(manualAfterLostConnection(ctx)[0], 'docker secret rm honeydue_secret_key_v9_20261127100000   # once the manager answers again, on it');
  });

  it('DEPLOY_REMOTE_DIR starting with ~ is refused: one meaning everywhere', async () => {
    const c = makeConfig({ 'cluster.env': { DEPLOY_REMOTE_DIR: '~/honeydue' } });
    const r = await runCli(['plan', '--deploy-dir', 'deploy', '--tag', 't1'], { cwd: c.root });
    assert.equal(r.code, 2);
    assert.ok(r.stderr.includes("deploy/cluster.env: DEPLOY_REMOTE_DIR: \"~/honeydue\" is not a usable path — write a folder on the manager on one line, relative to the deploy user's home (e.g. honeydue-deploy/honeydue) or absolute; not starting with ~"), r.stderr);
  });
});
