/**
 * The rollback without a known-good record (a stack deployed before this tool, or records lost) goes back to what
 * served before the run touched the stack — also when the services were updated a second time during the run (a
 * retried `stack deploy`, a resumed run, or a person), which makes swarm's PreviousSpec the failed release itself.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cleanup, docker, httpBody, loadSandbox, makeFixture, removeStore, runCli, serviceImage, startCli, type Fixture } from './harness.js';

const { sandbox, reason } = loadSandbox();

describe('the rollback with no known-good record', { skip: sandbox ? false : `e2e skipped: ${reason}` }, () => {
  let fx: Fixture;
  const image = (svc: string, tag: string) => `${sandbox!.registry}/e2e-${fx.stack}/honeydue-${svc}:${tag}`;

  before(async () => {
    fx = makeFixture(sandbox!, { stack: 'e2efallback', apiPort: 18721, convergeTimeout: 60 });
    const r = await runCli(fx, ['--context', fx.context, '--tag', 'before1']);
    assert.equal(r.code, 0, r.output);
    // the records are lost: the stack serves, the tool remembers nothing of it
    removeStore(fx.stack);
  });
  after(async () => {
    if (fx) await cleanup(fx);
  });

  it('a failed release whose services were updated again during the run: the specs from before the run serve again, exit 1', async () => {
    const run = startCli(fx, ['--context', fx.context, '--tag', 'sick2', '--build-arg', 'HEALTH=fail']);
    await run.waitFor(/Health check/, 180_000);
    // a second update of every service during the run: PreviousSpec is now the failed release's own spec
    for (const svc of ['api', 'worker', 'admin']) docker(['service', 'update', '--detach', '--force', `${fx.stack}_${svc}`]);
    const prev = docker(['service', 'inspect', `${fx.stack}_api`, '--format', '{{.PreviousSpec.TaskTemplate.ContainerSpec.Image}}']);
    assert.match(prev, /honeydue-api:sick2@/);
    const r = await run.done;
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /put back on the spec it had before this run/);
    assert.match(r.output.split('\n').filter((l) => l.startsWith('result:')).pop()!, /^result: deploy failed \(exit 1\): rolled back: what served before this run \(each service's spec from before it\) is serving again$/);
    for (const svc of ['api', 'worker', 'admin']) assert.equal(serviceImage(fx.stack, svc), image(svc, 'before1'), `${svc} is not back on before1`);
    assert.match((await httpBody(fx.healthUrl))?.body ?? '', /ok before1/);
  });
});
