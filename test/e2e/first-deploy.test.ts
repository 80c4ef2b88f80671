/**
 * No known-good release recorded: the fallback of the original script, `docker service rollback` per service.
 * A failed first deploy removes what it created; a stack deployed before this tool (no release records) goes
 * back to each service's previous spec.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, describe, it } from 'node:test';
import { lockOwner, currentId, removeStore, cleanup, docker, httpBody, loadSandbox, makeFixture, registryCredentialsLeft, runCli, serviceImage, type Fixture } from './harness.js';

const { sandbox, reason } = loadSandbox();

describe('rollback without a known-good release', { skip: sandbox ? false : `e2e skipped: ${reason}` }, () => {
  const fixtures: Fixture[] = [];
  after(async () => {
    for (const fx of fixtures) await cleanup(fx);
  });

  it('a failed first deploy removes the services it created: exit 1, nothing left half-deployed', async () => {
    const fx = makeFixture(sandbox!, { stack: 'e2efirstfail', apiPort: 18706, convergeTimeout: 60 });
    fixtures.push(fx);
    const r = await runCli(fx, ['--context', fx.context, '--tag', 'bad1', '--build-arg', 'HEALTH=fail']);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /first deploy: no previous release exists; removed the services this run created/);
    assert.match(r.output.split('\n').filter((l) => l.startsWith('result:')).pop()!, /^result: deploy failed \(exit 1\): rolled back: this was the first deploy of the stack and its services were removed, so no release is serving \(as before the run\)$/);
    assert.equal(docker(['service', 'ls', '--filter', `label=com.docker.stack.namespace=${fx.stack}`, '-q']).trim(), '');
    // "no release is serving" is true when it is said: nothing answers any more
    assert.equal(await httpBody(fx.healthUrl), undefined, 'the removed release still answered');
    assert.equal(docker(['ps', '-q', '--filter', `label=com.docker.stack.namespace=${fx.stack}`]).trim(), '');
    assert.equal(currentId(fx.stack), undefined, 'a failed release never becomes known-good');
    assert.equal(lockOwner(fx.stack), undefined);
    assert.deepEqual(registryCredentialsLeft(fx), { laptop: false, manager: false });
  });

  it('a crash-looping first deploy is judged in seconds, not after the convergence timeout: the task error is shown, exit 1', async () => {
    const fx = makeFixture(sandbox!, { stack: 'e2efirstcrash', apiPort: 18711, convergeTimeout: 120 });
    fixtures.push(fx);
    const started = Date.now();
    const r = await runCli(fx, ['--context', fx.context, '--tag', 'crash1', '--build-arg', 'CRASH=1']);
    const seconds = (Date.now() - started) / 1000;
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /\d tasks of the new image failed \("?task: non-zero exit \(1\)"? on node \w{12} \(/);
    assert.ok(seconds < 90, `took ${seconds}s with a 120s convergence timeout`);
    assert.match(r.output.split('\n').filter((l) => l.startsWith('result:')).pop()!, /^result: deploy failed \(exit 1\): rolled back: this was the first deploy/);
    assert.equal(docker(['service', 'ls', '--filter', `label=com.docker.stack.namespace=${fx.stack}`, '-q']).trim(), '');
  });

  it('a stack deployed before this tool: `docker service rollback` returns every service to the spec it had before the run, exit 1', async () => {
    const fx = makeFixture(sandbox!, { stack: 'e2elegacy', apiPort: 18707, convergeTimeout: 60 });
    fixtures.push(fx);
    // the "old script" deploy: a stack that runs, but of which the tool remembers nothing (no records in the swarm,
    // nothing in the working folder)
    const old = await runCli(fx, ['--context', fx.context, '--tag', 'legacy1']);
    assert.equal(old.code, 0, old.output);
    removeStore(fx.stack);
    fs.rmSync(fx.remoteDirAbs, { recursive: true, force: true });

    const r = await runCli(fx, ['--context', fx.context, '--tag', 'bad2', '--build-arg', 'HEALTH=fail']);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /no known-good release recorded: put every service of the stack back on the spec it had before this run/);
    assert.match(r.output.split('\n').filter((l) => l.startsWith('result:')).pop()!, /^result: deploy failed \(exit 1\): rolled back: what served before this run \(each service's spec from before it\) is serving again$/);
    assert.match(r.output, /e2elegacy_api: docker service rollback to .*honeydue-api:legacy1/);
    for (const svc of ['api', 'worker', 'admin']) {
      assert.equal(serviceImage(fx.stack, svc), `${sandbox!.registry}/e2e-${fx.stack}/honeydue-${svc}:legacy1`);
    }
    assert.match((await httpBody(fx.healthUrl))?.body ?? '', /ok legacy1/);
    assert.equal(lockOwner(fx.stack), undefined);
  });
});
