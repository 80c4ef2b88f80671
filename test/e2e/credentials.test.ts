/**
 * Registry credentials live only as long as the run, and only for it: each run logs in inside a private
 * DOCKER_CONFIG on the laptop and on the manager. An operator's own login survives every run unchanged, no run
 * leaves a credential in the user's docker config (also after a failure or a kill -9), a killed run's private
 * folders are removed by the next run, and two deploys of two stacks by one user do not cut each other off.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { auditLines, cleanup, docker, loadSandbox, lockOwner, makeFixture, runCli, startCli, storeObjects, type Fixture } from './harness.js';

const { sandbox, reason } = loadSandbox();

describe('registry credentials', { skip: sandbox ? false : `e2e skipped: ${reason}` }, () => {
  let fx: Fixture;
  let other: Fixture;
  let managerConfig = '';
  let managerConfigBefore: string | undefined;
  const laptopConfig = () => path.join(fx.dockerConfig, 'config.json');
  const privateDirs = () => fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('honeydue-deploy-docker-'));
  const remoteConfigs = (f: Fixture) => (fs.existsSync(f.remoteDirAbs) ? fs.readdirSync(f.remoteDirAbs).filter((n) => n.startsWith('docker-config.')) : []);

  before(() => {
    fx = makeFixture(sandbox!, { stack: 'e2ecreds', apiPort: 18712, convergeTimeout: 60 });
    other = makeFixture(sandbox!, { stack: 'e2ecreds2', apiPort: 18713, convergeTimeout: 60 });
    // the second stack is deployed by the same person from the same laptop: one HOME, one docker config
    other.env = { ...other.env, HOME: fx.home, DOCKER_CONFIG: fx.dockerConfig };
    // the operator's own logins, before any run: on the laptop with docker itself, on the manager as the deploy user
    const login = spawnSync('docker', ['--config', fx.dockerConfig, 'login', sandbox!.registry, '--username', sandbox!.registryUser, '--password-stdin'], { input: sandbox!.registryPassword, encoding: 'utf8' });
    assert.equal(login.status, 0, login.stderr);
    managerConfig = path.join(sandbox!.userHome, '.docker', 'config.json');
    managerConfigBefore = fs.existsSync(managerConfig) ? fs.readFileSync(managerConfig, 'utf8') : undefined;
    const uid = Number(execFileSync('id', ['-u', sandbox!.user], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', sandbox!.user], { encoding: 'utf8' }));
    fs.mkdirSync(path.dirname(managerConfig), { recursive: true, mode: 0o700 });
    fs.chownSync(path.dirname(managerConfig), uid, gid);
    const auth = Buffer.from(`${sandbox!.registryUser}:${sandbox!.registryPassword}`).toString('base64');
    fs.writeFileSync(managerConfig, `${JSON.stringify({ auths: { [sandbox!.registry]: { auth } }, detachKeys: 'ctrl-x,x' }, null, 2)}\n`, { mode: 0o600 });
    fs.chownSync(managerConfig, uid, gid);
  });
  after(async () => {
    if (managerConfig) {
      if (managerConfigBefore === undefined) fs.rmSync(managerConfig, { force: true });
      else fs.writeFileSync(managerConfig, managerConfigBefore);
    }
    if (other) await cleanup(other);
    if (fx) await cleanup(fx);
  });

  it('an operator logged in before a good and a failed run is still logged in after them, with the same credential', async () => {
    const dirsBefore = privateDirs();
    const laptopBefore = fs.readFileSync(laptopConfig(), 'utf8');
    const managerBefore = fs.readFileSync(managerConfig, 'utf8');
    assert.match(laptopBefore, new RegExp(sandbox!.registry.replace(/[.]/g, '\\.')));
    const good = await runCli(fx, ['--context', fx.context, '--tag', 'c1']);
    assert.equal(good.code, 0, good.output);
    const bad = await runCli(fx, ['--context', fx.context, '--tag', 'c2', '--build-arg', 'HEALTH=fail']);
    assert.equal(bad.code, 1, bad.output);
    assert.equal(fs.readFileSync(laptopConfig(), 'utf8'), laptopBefore);
    assert.equal(fs.readFileSync(managerConfig, 'utf8'), managerBefore);
    assert.deepEqual(remoteConfigs(fx), [], 'the private docker config on the manager is removed');
    assert.deepEqual(privateDirs(), dirsBefore, 'the private docker config on the laptop is removed');
  });

  it('kill -9 during the build leaves no credential in the user\'s configs; the next run removes the private folders it left', async () => {
    fs.rmSync(laptopConfig());
    const before = new Set(privateDirs());
    const run = startCli(fx, ['--context', fx.context, '--tag', 'c3', '--build-arg', 'SLOW=20']);
    await run.waitFor(/==> Build and push images/);
    const left = privateDirs().filter((n) => !before.has(n));
    assert.equal(left.length, 1, 'the run has its private docker config');
    assert.match(fs.readFileSync(path.join(os.tmpdir(), left[0]!, 'config.json'), 'utf8'), /auths/, 'the login is in the private config');
    const remoteLeft = remoteConfigs(fx);
    assert.equal(remoteLeft.length, 1);
    run.child.kill('SIGKILL');
    await run.done;
    assert.equal(fs.existsSync(laptopConfig()), false, 'nothing was written into the user\'s laptop config');
    assert.doesNotMatch(fs.readFileSync(managerConfig, 'utf8'), /c3/);
    // the dead run still holds the lock; written on this machine by a process that no longer runs, it says so
    const held = storeObjects(fx.stack, 'lock')[0]!;
    const owner = JSON.parse(held.data) as { pid: number; deployId: string; space?: string };
    assert.equal(owner.pid, run.child.pid);
    assert.match(owner.space ?? '', /^linux \S+ boot [0-9a-f-]{36} pid:\[\d+\]$/);
    const look = await runCli(fx, ['unlock']);
    assert.equal(look.code, 2, look.output);
    assert.match(look.output, new RegExp(`deploy ${owner.deployId}, .*\\) — its process \\(pid ${owner.pid}\\) ran on this machine and is no longer running — make sure`));
    // the same record from another process space (another laptop, a container): nothing can be known, it blocks
    const rewrite = (data: string) => {
      docker(['config', 'rm', held.name]);
      docker(['config', 'create', ...Object.entries(held.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]), held.name, '-'], { input: data });
    };
    rewrite(`${JSON.stringify({ ...owner, space: 'linux elsewhere boot 00000000-0000-0000-0000-000000000000 pid:[4026531836]' })}\n`);
    const blocked = await runCli(fx, ['--tag', 'c1'], { SKIP_BUILD: '1' });
    assert.equal(blocked.code, 2, blocked.output);
    assert.match(blocked.output, new RegExp(`another run holds the deploy lock of e2ecreds .*deploy ${owner.deployId}, [^\\n]*\\) — wait for it`));
    assert.match(lockOwner(fx.stack) ?? '', new RegExp(owner.deployId));
    // as the killed run left it: the next run takes it over by itself, says so, and records it in the audit trail
    rewrite(held.data);
    const next = await runCli(fx, ['--tag', 'c1'], { SKIP_BUILD: '1' });
    assert.equal(next.code, 0, next.output);
    assert.match(next.output, new RegExp(`the deploy lock was held by \\S+ \\(pid ${owner.pid}, deploy ${owner.deployId},.*no longer running: taking it over`));
    assert.match(String(auditLines(fx).at(-1)!.detail), new RegExp(`^took over the deploy lock held by \\S+ \\(pid ${owner.pid}, deploy ${owner.deployId}`));
    assert.equal(lockOwner(fx.stack), undefined);
    assert.equal(fs.existsSync(path.join(os.tmpdir(), left[0]!)), false, 'the killed run\'s private laptop config was removed');
    assert.deepEqual(remoteConfigs(fx), [], 'the killed run\'s private manager config was removed');
    // the builds the killed run started are not ours to wait for, but must not outlive the test
    for (let i = 0; i < 60 && spawnSync('pgrep', ['-f', 'SLOW=20']).status === 0; i++) await new Promise((r) => setTimeout(r, 1000));
  });

  it('two deploys of two stacks by one user at the same time both succeed', async () => {
    const [a, b] = await Promise.all([runCli(fx, ['--tag', 'c1'], { SKIP_BUILD: '1' }), runCli(other, ['--context', other.context, '--tag', 'd1'])]);
    assert.equal(a.code, 0, a.output);
    assert.equal(b.code, 0, b.output);
    assert.match(docker(['service', 'inspect', `${other.stack}_api`, '--format', '{{.Spec.TaskTemplate.ContainerSpec.Image}}']), /honeydue-api:d1@sha256:/);
    assert.equal(fs.existsSync(laptopConfig()), false);
  });
});
