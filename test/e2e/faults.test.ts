/**
 * The fault matrix: each way a run can go wrong, against the real sandbox. After each: the new release is
 * healthy or the previous one serves, the lock is free, no registry credential is left, and the run is in
 * the audit log (on the manager, and always in the laptop's own audit log).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lockOwner, currentId, acceptedLogins, auditLines, cleanup, localAuditLines, cutSessions, docker, httpBody, loadSandbox, makeFixture, registryCredentialsLeft, runCli, secretNames, serviceImage, startCli, startFailingRegistryProxy, startRegistry, startSshd, stopRegistry, stopSshd, type CliResult, type Fixture } from './harness.js';

const { sandbox, reason } = loadSandbox();

describe('the fault matrix', { skip: sandbox ? false : `e2e skipped: ${reason}` }, () => {
  let fx: Fixture;
  let goodId = '';
  const image = (svc: string, tag: string) => `${sandbox!.registry}/e2e-${fx.stack}/honeydue-${svc}:${tag}`;
  const localAudit = () => localAuditLines(fx);
  const lastLine = (r: CliResult) => r.output.split('\n').filter((l) => l.startsWith('result:')).pop() ?? '';

  function assertPreviousServes(): void {
    for (const svc of ['api', 'worker', 'admin']) assert.equal(serviceImage(fx.stack, svc), image(svc, 'good1'), `${svc} is not on good1`);
    assert.equal(currentId(fx.stack)!, goodId);
  }
  function assertClean(outcome: string, opts: { managerAudit?: boolean } = {}): void {
    assert.equal(lockOwner(fx.stack), undefined, 'the lock must be free');
    assert.deepEqual(registryCredentialsLeft(fx), { laptop: false, manager: false });
    assert.equal(localAudit().at(-1)!.outcome, outcome);
    if (opts.managerAudit !== false) assert.equal(auditLines(fx).at(-1)!.outcome, outcome);
  }

  /** Runs `fn` with registry.env pointing at a proxy that refuses uploads to the repositories `refuse` matches. */
  async function withRefusingRegistry(refuse: RegExp, fn: () => Promise<void>): Promise<void> {
    const proxy = await startFailingRegistryProxy(sandbox!, refuse);
    const file = path.join(fx.deployDir, 'registry.env');
    const original = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, original.replace(/^REGISTRY=.*$/m, `REGISTRY=${proxy.address}`), { mode: 0o600 });
    try {
      await fn();
    } finally {
      fs.writeFileSync(file, original, { mode: 0o600 });
      proxy.close();
    }
  }

  before(async () => {
    fx = makeFixture(sandbox!, { stack: 'e2efaults', apiPort: 18704, convergeTimeout: 60 });
    const r = await runCli(fx, ['--context', fx.context, '--tag', 'good1']);
    assert.equal(r.code, 0, r.output);
    goodId = currentId(fx.stack)!;
  });
  after(async () => {
    await startSshd(sandbox!);
    await startRegistry(sandbox!);
    if (fx) await cleanup(fx);
  });

  it('a wrong registry password: login refused, exit 2, nothing touched', async () => {
    const file = path.join(fx.deployDir, 'registry.env');
    const original = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, original.replace(/^REGISTRY_TOKEN=.*$/m, 'REGISTRY_TOKEN=wrong-password-123'), { mode: 0o600 });
    try {
      const secrets = secretNames(fx.stack);
      const r = await runCli(fx, ['--context', fx.context, '--tag', 'badpw']);
      assert.equal(r.code, 2, r.output);
      assert.match(r.output, /registry login on the laptop failed: .* — check REGISTRY, REGISTRY_USERNAME and REGISTRY_TOKEN in registry.env/);
      assert.ok(!r.output.includes('wrong-password-123'));
      assertPreviousServes();
      assert.deepEqual(secretNames(fx.stack), secrets);
      assertClean('preflight-failed');
    } finally {
      fs.writeFileSync(file, original, { mode: 0o600 });
    }
  });

  it('the registry is down: exit 2, nothing touched', async () => {
    await stopRegistry(sandbox!);
    try {
      const r = await runCli(fx, ['--context', fx.context, '--tag', 'regdown']);
      assert.equal(r.code, 2, r.output);
      assert.match(r.output, /registry login on the laptop failed/);
      assertPreviousServes();
      assertClean('preflight-failed');
    } finally {
      await startRegistry(sandbox!);
    }
  });

  it('a push that fails for one of the three images: exit 1, the stack is never touched, the previous release serves', async () => {
    // admin's uploads are refused (also the blob mounts other pushes try from it: the first failure may be theirs)
    await withRefusingRegistry(/\/honeydue-admin\//, async () => {
      const secrets = secretNames(fx.stack);
      const r = await runCli(fx, ['--context', fx.context, '--tag', 'halfpush']);
      assert.equal(r.code, 1, r.output);
      assert.match(r.output, /building the three images \(one build graph\): \[(api|worker|admin)\] pushing 127\.0\.0\.1:\d+\/e2e-e2efaults\/honeydue-(api|worker|admin):halfpush failed first: `local\$ docker buildx bake --file - --push < bake definition/);
      assert.match(lastLine(r), /^result: deploy failed \(exit 1\): the deploy failed before the stack was changed: the previous release good1_\d+ \(tag good1\) is still serving$/);
      assertPreviousServes();
      assert.deepEqual(secretNames(fx.stack), secrets, 'no secret may be created');
      assert.equal(lockOwner(fx.stack), undefined);
      assert.equal(localAudit().at(-1)!.outcome, 'failed-before-change');
      assert.equal(auditLines(fx).at(-1)!.outcome, 'failed-before-change');
      // no credential for the proxy's address on either side
      assert.deepEqual(registryCredentialsLeft(fx), { laptop: false, manager: false });
    });
  });

  it('sshd is down: exit 2, nothing touched, the run is in the local audit log', async () => {
    await stopSshd(sandbox!);
    try {
      const r = await runCli(fx, ['--context', fx.context, '--tag', 'nossh']);
      assert.equal(r.code, 2, r.output);
      assert.match(r.output, /cannot reach the manager at 127\.0\.0\.1:\d+: .*ECONNREFUSED.* — check DEPLOY_MANAGER_HOST, DEPLOY_MANAGER_SSH_PORT and that sshd runs/);
      assert.equal(localAudit().at(-1)!.outcome, 'preflight-failed');
    } finally {
      await startSshd(sandbox!);
    }
    assertPreviousServes();
  });

  it('SIGTERM during the build: builds stop, nothing on the cluster changes, exit 130', async () => {
    const secrets = secretNames(fx.stack);
    const run = startCli(fx, ['--context', fx.context, '--tag', 'term1', '--build-arg', 'SLOW=20']);
    await run.waitFor(/==> Build and push images/);
    await new Promise((r) => setTimeout(r, 700));
    run.child.kill('SIGTERM');
    const r = await run.done;
    assert.equal(r.code, 130, r.output);
    assert.match(lastLine(r), /^result: interrupted \(exit 130\): stopped before the stack was changed: the previous release good1_\d+ \(tag good1\) is still serving$/);
    assertPreviousServes();
    assert.deepEqual(secretNames(fx.stack), secrets);
    assertClean('interrupted');
    assert.ok(!execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).includes('term1'), 'no build may be left running');
  });

  it('one image fails while the others still build: they are cancelled at once and never pushed, exit 1', async () => {
    // api builds fast and its push is refused; worker and admin are still in a 60 s build step
    await withRefusingRegistry(/\/honeydue-api\//, async () => {
      const r = await runCli(fx, ['--context', fx.context, '--tag', 'failfast', '--build-arg', 'SLOW=60']);
      assert.equal(r.code, 1, r.output);
      assert.match(r.output, /building the three images \(one build graph\): \[api\] pushing 127\.0\.0\.1:\d+\/e2e-e2efaults\/honeydue-api:failfast failed first/);
      assert.doesNotMatch(r.output, /\[(worker|admin)[^\]]*\] [^\n]* failed first/, 'the cancelled builds are not reported as the cause');
      for (const svc of ['worker', 'admin']) {
        const inRegistry = docker(['manifest', 'inspect', '--insecure', `${sandbox!.registry}/e2e-${fx.stack}/honeydue-${svc}:failfast`], { allowFail: true });
        assert.equal(inRegistry.trim(), '', `${svc} must never have been pushed`);
      }
      assert.ok(!execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).includes('failfast'), 'no build may be left running');
      assertPreviousServes();
      assert.equal(lockOwner(fx.stack), undefined);
      assert.equal(localAudit().at(-1)!.outcome, 'failed-before-change');
    });
  });

  it('SIGINT during convergence: rolled back to the previous release, exit 130', async () => {
    const run = startCli(fx, ['--context', fx.context, '--tag', 'int2']);
    await run.waitFor(/==> Wait for convergence/);
    run.child.kill('SIGINT');
    const r = await run.done;
    assert.equal(r.code, 130, r.output);
    assert.match(lastLine(r), /^result: interrupted \(exit 130\): rolled back: the previous release good1_\d+ \(tag good1\) is serving again$/);
    assertPreviousServes();
    assert.match((await httpBody(fx.healthUrl))?.body ?? '', /ok good1/);
    assertClean('interrupted');
  });

  it('two deploys at once: the second refuses at once naming the holder (exit 2); --lock-wait waits its turn', async () => {
    const first = startCli(fx, ['--context', fx.context, '--tag', 'lockA']);
    await first.waitFor(/==> Read the known-good release/);
    const second = await runCli(fx, ['--context', fx.context, '--tag', 'lockB']);
    assert.equal(second.code, 2, second.output);
    assert.match(second.output, /another run holds the deploy lock of e2efaults \(e2efaults_hd-lock in the swarm\): \S+@\S+ \(pid \d+, deploy lockA_\d{14}, git n\/a, since \S+, through 127\.0\.0\.1\) — wait for it to finish \(or pass --lock-wait SECONDS\); if that run is dead, run `honeydue-deploy unlock --force`/);
    const waiting = startCli(fx, ['--context', fx.context, '--tag', 'lockC', '--lock-wait', '120']);
    await waiting.waitFor(/waiting for the deploy lock held by/);
    assert.equal((await first.done).code, 0);
    const third = await waiting.done;
    assert.equal(third.code, 0, third.output);
    assert.equal(serviceImage(fx.stack, 'api'), image('api', 'lockC'));
    assert.equal(lockOwner(fx.stack), undefined);
    // back to good1 for the tests that follow
    const back = await runCli(fx, ['--tag', 'good1'], { SKIP_BUILD: '1' });
    assert.equal(back.code, 0, back.output);
    goodId = currentId(fx.stack)!;
  });

  it('the connection is cut during convergence: the run reconnects and finishes the deploy, exit 0', async () => {
    const logins = acceptedLogins(sandbox!);
    const run = startCli(fx, ['--context', fx.context, '--tag', 'cut3']);
    await run.waitFor(/==> Wait for convergence/);
    cutSessions(sandbox!);
    const r = await run.done;
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /the connection to the manager \S+ was lost: reconnecting/);
    assert.match(r.output, /Wait for convergence: again, through /);
    assert.match(lastLine(r), /^result: ok \(exit 0\): the new release cut3_\d+ \(tag cut3\) is serving and healthy$/);
    assert.equal(acceptedLogins(sandbox!) - logins, 2);
    for (const svc of ['api', 'worker', 'admin']) assert.equal(serviceImage(fx.stack, svc), image(svc, 'cut3'));
    assertClean('healthy');
    const back = await runCli(fx, ['--tag', 'good1'], { SKIP_BUILD: '1' });
    assert.equal(back.code, 0, back.output);
    goodId = currentId(fx.stack)!;
  });

  it('the connection is cut and the manager stays unreachable: exit 3 with the exact commands, which work', async () => {
    const run = startCli(fx, ['--context', fx.context, '--tag', 'lost4']);
    await run.waitFor(/==> Wait for convergence/);
    await stopSshd(sandbox!);
    cutSessions(sandbox!);
    const r = await run.done;
    await startSshd(sandbox!);
    assert.equal(r.code, 3, r.output);
    assert.match(lastLine(r), /^result: NEEDS ATTENTION \(exit 3\): unknown: no listed manager can be reached$/);
    const manual = r.stderr.split('\n').map((l) => l.trim());
    const unlockLine = manual.find((l) => l.startsWith('honeydue-deploy unlock --force'));
    const rollbackLine = manual.find((l) => l.startsWith(`honeydue-deploy rollback ${goodId}`));
    const forget = manual.find((l) => l.startsWith(`ssh -i ${sandbox!.key} -o UserKnownHostsFile=${sandbox!.knownHosts} -p ${sandbox!.sshPort} ${sandbox!.user}@127.0.0.1 'rm -rf -- ${fx.remoteDirAbs}/docker-config.lost4_`));
    assert.ok(unlockLine && rollbackLine && forget, r.stderr);
    assert.equal(localAudit().at(-1)!.outcome, 'failed-needs-attention');

    // the printed commands, run as printed once the manager answers, restore the previous release
    const unlock = await runCli(fx, unlockLine!.replace(/\s+#.*$/, '').split(' ').slice(1));
    assert.equal(unlock.code, 0, unlock.output);
    assert.match(unlock.output, /removed the deploy lock held by \S+ \(pid \d+, deploy lost4_\d{14}/);
    assert.equal(auditLines(fx).at(-1)!.event, 'unlock');
    const rollback = await runCli(fx, rollbackLine!.replace(/\s+#.*$/, '').split(' ').slice(1));
    assert.equal(rollback.code, 0, rollback.output);
    assertPreviousServes();
    // the ssh line, run as printed (its key and known_hosts are in it)
    execFileSync('sh', ['-c', forget!.replace(/\s+#.*$/, '')], { stdio: 'pipe', env: { ...fx.env, SSH_AUTH_SOCK: '' } });
    assert.deepEqual(fs.readdirSync(fx.remoteDirAbs).filter((n) => n.startsWith('docker-config.')), []);
    assert.deepEqual(registryCredentialsLeft(fx), { laptop: false, manager: false });
  });

  it('unlock without --force only says who holds the lock; with no lock it says so', async () => {
    const none = await runCli(fx, ['unlock']);
    assert.equal(none.code, 0, none.output);
    assert.match(none.output, /no deploy lock of e2efaults is held \(e2efaults_hd-lock in the swarm\); nothing to do/);
    // a run killed with kill -9 leaves exactly this: the lock config with its owner record
    docker(['config', 'create', '--label', 'com.honeydue.deploy.stack=e2efaults', '--label', 'com.honeydue.deploy.kind=lock', '--label', 'com.honeydue.deploy.id=x_20260101000000', 'e2efaults_hd-lock', '-'], {
      input: JSON.stringify({ who: 'someone@else', pid: 1, deployId: 'x_20260101000000', gitSha: null, tag: 'x', startedAt: 'then' }),
    });
    const refuse = await runCli(fx, ['unlock']);
    assert.equal(refuse.code, 2, refuse.output);
    assert.match(refuse.output, /the lock is held by someone@else \(pid 1, deploy x_20260101000000, git n\/a, since then\) — make sure that run is not going on, then run `honeydue-deploy unlock --force`/);
    const force = await runCli(fx, ['unlock', '--force']);
    assert.equal(force.code, 0);
    assert.equal(lockOwner(fx.stack), undefined);
    docker(['service', 'ls'], { allowFail: true });
  });
});
