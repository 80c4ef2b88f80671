/** Without a known-good record, a service goes back to the spec it had before the run — never to the failed one. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { restoreServiceSpec } from '../../../src/commands/stack.js';
import { display } from '../../../src/commands/command.js';
import { canonicalJson, howBack } from '../../../src/steps/rollback.js';

const spec = (image: string, extra: Record<string, unknown> = {}) => JSON.stringify({ Name: 's_api', TaskTemplate: { ContainerSpec: { Image: image } }, ...extra });

describe('which way back', () => {
  it('one update by this run: PreviousSpec is the spec from before it — docker service rollback', () => {
    assert.equal(howBack(spec('api:v1'), spec('api:v2'), spec('api:v1')), 'docker service rollback');
  });
  it('a second update in the run (a retried stack deploy): PreviousSpec is the failed spec — the spec from before is put back', () => {
    assert.equal(howBack(spec('api:v1'), spec('api:v2', { Labels: { x: 'y' } }), spec('api:v2')), 'the spec before this run');
    assert.equal(howBack(spec('api:v1'), spec('api:v2'), undefined), 'the spec before this run');
  });
  it('PreviousSpec as swarm stores it lacks the defaults inspect fills into .Spec: still the same spec (seen on docker 20.10)', () => {
    const shown = spec('api:v1', { UpdateConfig: { Parallelism: 1, Order: 'stop-first' }, RollbackConfig: { Parallelism: 1 } });
    const stored = spec('api:v1');
    assert.equal(howBack(shown, spec('api:v2'), stored), 'docker service rollback');
    assert.equal(howBack(shown, spec('api:v2'), spec('api:v2')), 'the spec before this run');
    assert.equal(howBack(shown, spec('api:v2'), spec('api:v1', { Labels: { extra: '1' } })), 'the spec before this run');
  });
  it('a spec the run did not change (or swarm already rolled back) stays; keys in another order are the same spec', () => {
    assert.equal(howBack(spec('api:v1'), JSON.stringify({ TaskTemplate: { ContainerSpec: { Image: 'api:v1' } }, Name: 's_api' }), spec('api:v0')), 'unchanged');
    assert.equal(canonicalJson('{"b":1,"a":{"d":2,"c":[{"f":1,"e":2}]}}'), '{"a":{"c":[{"e":2,"f":1}],"d":2},"b":1}');
  });
  it('the spec travels on stdin, never in argv or the plan (it holds the services\' environment)', () => {
    const c = restoreServiceSpec('s_api', spec('api:v1', { Env: ['DB_PASSWORD=hunter2hunter2'] }));
    assert.ok(!c.argv.join(' ').includes('hunter2'));
    assert.equal(c.stdin?.secret, true);
    assert.ok(!display(c).includes('hunter2'));
    assert.match(display(c), /docker system dial-stdio/);
  });
});
