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
import { manualAfterLostConnection, sshArgv } from '../../src/pipeline.js';
import { shellLine } from '../../src/commands/command.js';
import { buildRelease } from '../../src/release.js';
import { RunState, type Ctx } from '../../src/steps/context.js';
import { release as releaseLock } from '../../src/steps/lock.js';
import { manualRedeploy } from '../../src/steps/rollback.js';
import { Reporter } from '../../src/ui/reporter.js';
import { makeConfig, runCli } from '../helpers/config.js';

function ctxWith(remoteDir: string): Ctx {
  const c = makeConfig({ 'cluster.env': { DEPLOY_REMOTE_DIR: remoteDir, DEPLOY_KNOWN_HOSTS: '/srv/keys/known_hosts' } });
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
      `ssh -o UserKnownHostsFile=/srv/keys/known_hosts -p 2222 deploy@127.0.0.1 'rm -rf -- '\\''/srv/honeydue prod/docker-config.v9_20261127100000'\\'''   # the run's registry login on that manager`,
    ]);
    assert.deepEqual(manualRedeploy(ctx, "it's").slice(2, 4), [
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
    assert.ok(r.stderr.includes("deploy/cluster.env: DEPLOY_REMOTE_DIR: \"~/honeydue\" is not a usable path — write a folder on the manager on one line, relative to the deploy user's home (e.g. honeydue-deploy/honeydue) or absolute; not starting with ~, and not / itself"), r.stderr);
    for (const root of ['/', '//']) {
      const c2 = makeConfig({ 'cluster.env': { DEPLOY_REMOTE_DIR: root } });
      const r2 = await runCli(['plan', '--deploy-dir', 'deploy', '--tag', 't1'], { cwd: c2.root });
      assert.equal(r2.code, 2, r2.stdout);
      assert.ok(r2.stderr.includes(`deploy/cluster.env: DEPLOY_REMOTE_DIR: "${root}" is not a usable path`), r2.stderr);
    }
  });

  it('ssh as the run reached the manager: its key, its known_hosts, an IPv6 jump host in brackets', () => {
    const t = { alias: 'm', host: 'fd00::2', port: 22, username: 'deploy', knownHostsPath: '/k/known hosts', identityFiles: [], explicitKey: '/k/id_ed25519', jumps: [{ alias: 'fd00::1', host: 'fd00::1', port: 2222, username: 'ops', knownHostsPath: '/k/known hosts', identityFiles: [] }] };
    assert.equal(shellLine(sshArgv(t)), "ssh -i /k/id_ed25519 -o 'UserKnownHostsFile=/k/known hosts' -J 'ops@[fd00::1]:2222' -p 22 deploy@fd00::2");
  });

  it('the redeploy by hand logs in first (the run\'s login is gone) and out after; the tool\'s own rollback comes first', () => {
    const ctx = ctxWith('honeydue-deploy/honeydue');
    const lines = manualRedeploy(ctx, 'good_20261127090000');
    assert.match(lines[0]!, /^honeydue-deploy rollback good_20261127090000   # from this laptop/);
    assert.equal(lines[1], `docker login ${ctx.cfg.registry.REGISTRY} --username ${ctx.cfg.registry.REGISTRY_USERNAME}   # asks for the token (registry.env REGISTRY_TOKEN)`);
    assert.equal(lines.at(-1), `docker logout ${ctx.cfg.registry.REGISTRY}`);
    for (const l of lines) assert.ok(!l.includes(ctx.cfg.registry.REGISTRY_TOKEN), 'the token is printed');
  });
});
