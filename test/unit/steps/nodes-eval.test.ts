import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeNode, impossiblePlacements, parseNodes, placementNeeds } from '../../../src/steps/nodes-eval.js';

const node = (id: string, host: string, addr: string, role: string, state: string, availability: string) =>
  JSON.stringify({ ID: id, Description: { Hostname: host }, Status: { State: state, Addr: addr }, Spec: { Role: role, Availability: availability } });

const NODES = parseNodes([
  node('aaaaaaaaaaaaaaaaaaaaaaaaa', 'node1', '10.203.0.11', 'manager', 'ready', 'active'),
  node('bbbbbbbbbbbbbbbbbbbbbbbbb', 'node2', '10.203.0.12', 'worker', 'ready', 'active'),
  node('ccccccccccccccccccccccccc', 'node3', '10.203.0.13', 'worker', 'down', 'active'),
  node('ddddddddddddddddddddddddd', 'node4', '10.203.0.14', 'worker', 'ready', 'drain'),
].join('\n'));

describe('swarm nodes', () => {
  it('parses ID, hostname, address, role, state and availability', () => {
    assert.deepEqual(NODES[0], { id: 'aaaaaaaaaaaaaaaaaaaaaaaaa', hostname: 'node1', addr: '10.203.0.11', role: 'manager', state: 'ready', availability: 'active' });
    assert.equal(describeNode(NODES[2]!), 'cccccccccccc (node3, 10.203.0.13)');
  });
  it('a placement that cannot succeed on the ready, active nodes is named', () => {
    const stack = 'services:\n  api:\n    deploy:\n      replicas: 3\n      placement:\n        max_replicas_per_node: 1\n  worker:\n    deploy:\n      replicas: 1\n  dozzle:\n    deploy:\n      placement:\n        constraints: ["node.role == manager"]\n';
    assert.deepEqual(impossiblePlacements(placementNeeds(stack), NODES), [
      'api: 3 replica(s) with at most 1 per node (max_replicas_per_node, or a port published in host mode) need more than the 2 ready and active node(s) can take (at most 2)',
    ]);
    assert.deepEqual(impossiblePlacements(placementNeeds(stack.replace('replicas: 3', 'replicas: 2')), NODES), []);
  });
  it('a role constraint counts only nodes of that role', () => {
    const stack = 'services:\n  dozzle:\n    deploy:\n      replicas: 2\n      placement:\n        max_replicas_per_node: 1\n        constraints: ["node.role == manager"]\n';
    assert.deepEqual(impossiblePlacements(placementNeeds(stack), NODES), ['dozzle: 2 replica(s) with at most 1 per node (max_replicas_per_node, or a port published in host mode) need more than the 1 ready and active manager node(s) can take (at most 1)']);
  });
  it('a port published in host mode allows one task per node', () => {
    const stack = 'services:\n  api:\n    ports:\n      - target: 8000\n        published: 8000\n        mode: host\n    deploy:\n      replicas: 3\n';
    assert.deepEqual(placementNeeds(stack), [{ service: 'api', replicas: 3, maxPerNode: 1, role: undefined }]);
    assert.equal(impossiblePlacements(placementNeeds(stack), NODES).length, 1);
    assert.equal(placementNeeds(stack.replace('mode: host', 'mode: ingress'))[0]!.maxPerNode, undefined);
  });
});
