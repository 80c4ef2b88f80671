import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseNodes } from '../../../src/steps/nodes-eval.js';
import { evenManagers, localVolumeProblem } from '../../../src/steps/nodes.js';

const node = (id: string, state: string) => JSON.stringify({ ID: id, Description: { Hostname: id }, Status: { State: state, Addr: '10.0.0.1' }, Spec: { Role: 'worker', Availability: 'active' } });
const NODES = parseNodes(['a', 'b', 'c', 'd'].map((id) => node(id, 'ready')).join('\n'));

describe('the one-node rule for the local uploads volume, decided from the node list', () => {
  const cfg = (storage: 's3' | 'local', replicas: number) => ({ cfg: { deployDir: 'deploy', storage, cluster: { API_REPLICAS: replicas } } }) as never;
  it('several api replicas with the local volume: fine on one node, refused on more, naming the rule and both fixes', () => {
    assert.equal(localVolumeProblem(cfg('local', 3), NODES.slice(0, 1)), undefined);
    assert.equal(
      localVolumeProblem(cfg('local', 3), NODES),
      'deploy/cluster.env: API_REPLICAS: 3 replicas with the local uploads volume on a swarm of 4 nodes would lose uploads (volumes are per node: a file written on one node is a 404 on the others) — set all four B2_* in prod.env for S3-compatible storage, or set API_REPLICAS=1',
    );
    assert.equal(localVolumeProblem(cfg('s3', 3), NODES), undefined);
    assert.equal(localVolumeProblem(cfg('local', 1), NODES), undefined);
  });
});

describe('the number of managers', () => {
  const mgrs = (n: number) => parseNodes(Array.from({ length: 4 }, (_, i) => JSON.stringify({ ID: `n${i}`, Description: { Hostname: `n${i}` }, Status: { State: 'ready' }, Spec: { Role: i < n ? 'manager' : 'worker', Availability: 'active' } })).join('\n'));
  it('an even number is a warning saying why and what to do; an odd number is fine', () => {
    assert.equal(evenManagers(mgrs(1)), undefined);
    assert.equal(evenManagers(mgrs(3)), undefined);
    assert.equal(evenManagers(mgrs(2)), 'the swarm has 2 managers: an even number survives no more manager failures than 1 (quorum needs 2) — promote one more (docker node promote <node>) or demote one (docker node demote <node>)');
    assert.match(evenManagers(mgrs(4))!, /^the swarm has 4 managers: .* than 3 \(quorum needs 3\)/);
  });
});
