import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blame, capacityOf, nodesShare, parseReason, unsettled } from '../../../src/steps/capacity-eval.js';
import type { NodeView } from '../../../src/steps/nodes-eval.js';
import type { ServiceView, TaskView } from '../../../src/steps/swarm-views.js';

const node = (n: number, state = 'ready', availability = 'active', role: 'manager' | 'worker' = n === 1 ? 'manager' : 'worker'): NodeView => ({ id: `node${n}xxxxxxxxxxx`, hostname: `hdnode${n}`, addr: `10.0.0.${n}`, role, state, availability });
const api: ServiceView = { name: 's_api', specImage: 'r/api:v2', replicas: 3, hostPort: true, hostPorts: [8000] };
const run = (n: number): TaskView => ({ id: `t${n}`, service: 's_api', image: 'r/api:v2', running: true, state: 'Running', error: '', desiredRunning: true, node: `hdnode${n}` });
const pending = (error: string): TaskView => ({ id: 'p', service: 's_api', image: 'r/api:v2', running: false, state: 'Pending', error, desiredRunning: true });
const describeIt = (h: string) => h;

describe('swarm\'s reasons, part by part', () => {
  it('reads every filter\'s count', () => {
    assert.deepEqual(parseReason('no suitable node (host-mode port already in use on 2 nodes; 1 node not available for new tasks)'), { notAvailable: 1, portInUse: 2, resources: 0, constraints: 0, platform: 0, maxReplicas: false });
    assert.deepEqual(parseReason('no suitable node (insufficient resources on 3 nodes; scheduling constraints not satisfied on 1 node; unsupported platform on 2 nodes; max replicas per node limit exceed)'), { notAvailable: 0, portInUse: 0, resources: 3, constraints: 1, platform: 2, maxReplicas: true });
  });
});

describe('capacity with nodes missing', () => {
  it('one per node (a host-mode port): the live nodes hold as many as they are; the missing node\'s share is the rest', () => {
    const cap = capacityOf(api, [node(1), node(2), node(3, 'down')]);
    assert.equal(cap.live, 2);
    assert.equal(cap.full, 3);
    assert.equal(nodesShare(api, cap, []), 1);
    // more replicas than even every node could hold: no share of the missing nodes
    assert.equal(nodesShare({ ...api, replicas: 4 }, cap, []), 0);
  });
  it('nodes swarm does not count though listed Ready (a rejoin, a new leader) are missing nodes too', () => {
    const cap = capacityOf(api, [node(1), node(2), node(3)], [parseReason('no suitable node (host-mode port already in use on 2 nodes; 1 node not available for new tasks)')]);
    assert.equal(cap.missingNodes, 1);
    assert.equal(cap.live, 2);
  });
  it('a role constraint counts only the nodes of that role', () => {
    const cap = capacityOf({ ...api, replicas: 1, constraints: ['node.role == manager'] }, [node(1, 'down'), node(2), node(3)]);
    assert.equal(cap.candidates.length, 1);
    assert.equal(cap.live, 0);
  });
});

describe('a settled view of the nodes', () => {
  it('unsettled while swarm counts more nodes unavailable than the list shows down, drained or paused', () => {
    const tasks = [run(1), pending('no suitable node (3 nodes not available for new tasks)')];
    assert.match(unsettled(tasks, [node(1), node(2, 'down'), node(3)])!, /^swarm counts 3 node\(s\) not available for new tasks while 2 of 3 are listed Ready and Active/);
    assert.equal(unsettled([run(1), pending('no suitable node (1 node not available for new tasks)')], [node(1), node(2, 'down'), node(3)]), undefined);
    assert.equal(unsettled([run(1), pending('no suitable node (1 node not available for new tasks)')], [node(1), node(2), node(3, 'ready', 'drain')]), undefined);
    assert.equal(unsettled([run(1)], [node(1), node(2), node(3)]), undefined);
  });
});

describe('blame what is true', () => {
  const nodes = [node(1), node(2), node(3)];
  it('the service\'s own tasks holding its port on two nodes and a node that has just rejoined: neither is another service', () => {
    const text = blame('no suitable node (host-mode port already in use on 2 nodes; 1 node not available for new tasks)', { svc: api, tasks: [run(1), run(2)], nodes, describe: describeIt });
    assert.equal(
      text,
      "1 node(s) listed Ready are not yet available for new tasks (just rejoined, or a new leader waiting for them to report) — swarm places the rest once they report; nothing to do; the service's own tasks hold its host-mode port on 2 node(s) (one task per node) — more replicas need more nodes, or lower the replicas",
    );
    assert.doesNotMatch(text, /another service/);
  });
  it('a node down or drained is named with its state', () => {
    const text = blame('no suitable node (2 nodes not available for new tasks)', { svc: api, tasks: [run(1)], nodes: [node(1), node(2, 'down'), node(3, 'ready', 'drain')], describe: describeIt });
    assert.match(text, /^node node2xxxxxxx \(hdnode2, 10\.0\.0\.2\) is down, node node3xxxxxxx \(hdnode3, 10\.0\.0\.3\) is drain — bring it back/);
    assert.doesNotMatch(text, /listed Ready/);
  });
  it('another stack\'s service holding the port is named', () => {
    const text = blame('no suitable node (host-mode port already in use on 3 nodes)', { svc: api, tasks: [run(1)], nodes, describe: describeIt, portOwners: new Map([[8000, ['web_proxy (stack web)']], [9000, ['other_thing']]]) });
    assert.match(text, /another service \(web_proxy \(stack web\)\) holds that host-mode port on 2 node\(s\) — free it or publish another port/);
  });
  it('resources name what each task reserves; constraints name the constraint', () => {
    const svc: ServiceView = { ...api, reserves: { cpus: 2, memoryBytes: 4 * 1024 ** 3 }, constraints: ['node.labels.ssd == true'] };
    assert.match(blame('no suitable node (insufficient resources on 3 nodes)', { svc, tasks: [], nodes, describe: describeIt }), /^3 node\(s\) lack the 2 CPU and 4\.0 GiB of memory each task reserves free — lower deploy\.resources\.reservations or add capacity$/);
    assert.match(blame('no suitable node (scheduling constraints not satisfied on 3 nodes)', { svc, tasks: [], nodes, describe: describeIt }), /do not meet its constraints \(node\.labels\.ssd == true\) — fix the constraint or label a node/);
  });
});
