import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { storedRelease, lockOwner, currentId, auditLines, cleanup, docker, httpBody, loadSandbox, makeFixture, registryCredentialsLeft, runCli, secretNames, serviceImage, type Fixture } from './harness.js';

const { sandbox, reason } = loadSandbox();

describe('failed releases are rolled back to the previous release', { skip: sandbox ? false : `e2e skipped: ${reason}` }, () => {
  let fx: Fixture;
  const image = (svc: string, tag: string) => `${sandbox!.registry}/e2e-${fx.stack}/honeydue-${svc}:${tag}`;

  before(async () => {
    fx = makeFixture(sandbox!, { stack: 'e2erollback', apiPort: 18702, convergeTimeout: 60 });
    const r = await runCli(fx, ['--context', fx.context, '--tag', 'good1']);
    assert.equal(r.code, 0, r.output);
  });
  after(async () => {
    if (fx) await cleanup(fx);
  });

  function assertPreviousServes(): void {
    for (const svc of ['api', 'worker', 'admin']) assert.equal(serviceImage(fx.stack, svc), image(svc, 'good1'), `${svc} is not back on good1`);
    assert.match(currentId(fx.stack)!, /^good1_/);
    assert.equal(lockOwner(fx.stack), undefined, 'the lock must be free');
    assert.deepEqual(registryCredentialsLeft(fx), { laptop: false, manager: false });
  }

  it('a release whose health check fails: rolled back to the previous images, exit 1, the old version answers', async () => {
    const r = await runCli(fx, ['--context', fx.context, '--tag', 'sick2', '--build-arg', 'HEALTH=fail']);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /the health check failed: .*HTTP 500/);
    assert.match(r.output.trim().split('\n').filter((l) => l.startsWith('result:')).pop()!, /^result: deploy failed \(exit 1\): rolled back: the previous release good1_\d+ \(tag good1\) is serving again$/);
    assertPreviousServes();
    const body = await httpBody(fx.healthUrl);
    assert.equal(body?.status, 200);
    assert.match(body!.body, /ok good1/);
    assert.equal(auditLines(fx).at(-1)!.outcome, 'rolled-back');
    // the failed release's secrets stay until pruning; the known-good ones are untouched
    const goodId = currentId(fx.stack)!;
    const goodSecrets = Object.values(storedRelease(fx.stack, goodId)!.secretNames as Record<string, string>);
    for (const n of goodSecrets) assert.ok(secretNames(fx.stack).includes(n));
  });

  it('a crash-looping release is a failure even though swarm rolled it back to N/N itself; exit 1, previous serves', async () => {
    const r = await runCli(fx, ['--context', fx.context, '--tag', 'crash3', '--build-arg', 'CRASH=1']);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /did not converge: .*(rollback|paused)/);
    assertPreviousServes();
    // swarm itself shows the services fully replicated: the tool must not have believed it
    const replicas = docker(['service', 'ls', '--filter', `label=com.docker.stack.namespace=${fx.stack}`, '--format', '{{.Replicas}}']).trim().split('\n');
    assert.deepEqual(replicas, ['1/1', '1/1', '1/1']);
    const body = await httpBody(fx.healthUrl);
    assert.match(body?.body ?? '', /ok good1/);
    assert.equal(auditLines(fx).at(-1)!.outcome, 'rolled-back');
  });

  it('`rollback` goes back to the known-good release before the current one, verified; with none older it refuses', async () => {
    const up = await runCli(fx, ['--context', fx.context, '--tag', 'good5']);
    assert.equal(up.code, 0, up.output);
    const r = await runCli(fx, ['rollback']);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /Rolling back e2erollback from good5_\d+ \(tag good5\) to good1_\d+ \(tag good1\)/);
    assert.match(r.output.split('\n').filter((l) => l.startsWith('result:')).pop()!, /^result: ok \(exit 0\): rolled back: good1_\d+ \(tag good1\) is serving and healthy$/);
    assertPreviousServes();
    assert.match((await httpBody(fx.healthUrl))?.body ?? '', /ok good1/);
    const last = auditLines(fx).at(-1)!;
    assert.equal(last.event, 'rollback');
    assert.equal(last.outcome, 'healthy');
    const again = await runCli(fx, ['rollback']);
    assert.equal(again.code, 2, again.output);
    assert.match(again.output, /no earlier known-good release of e2erollback is recorded — nothing to roll back to \(current: good1_\d+\)/);
    assert.equal(lockOwner(fx.stack), undefined);
  });
});
