import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeNode, healthUrlOnNode, hostPortConflicts, hostPorts, impossiblePlacements, shortPlacements, labelPins, labelProblems, parseNodes, placementNeeds } from '../../../src/steps/nodes-eval.js';

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
  it('a placement that fits the swarm but not the ready, active nodes is a warning naming the nodes; one that fits no matter what is refused', () => {
    const stack = 'services:\n  api:\n    deploy:\n      replicas: 3\n      placement:\n        max_replicas_per_node: 1\n  worker:\n    deploy:\n      replicas: 1\n  dozzle:\n    deploy:\n      placement:\n        constraints: ["node.role == manager"]\n';
    assert.deepEqual(impossiblePlacements(placementNeeds(stack), NODES), []);
    assert.deepEqual(shortPlacements(placementNeeds(stack), NODES), [
      'api: 3 replica(s) fit the swarm, but the 2 node(s) that take tasks now hold at most 2 (node cccccccccccc (node3, 10.203.0.13) is down, node dddddddddddd (node4, 10.203.0.14) is drain): it will serve on 2 until swarm places the rest on the nodes when they are back',
    ]);
    assert.deepEqual(shortPlacements(placementNeeds(stack.replace('replicas: 3', 'replicas: 2')), NODES), []);
    assert.deepEqual(impossiblePlacements(placementNeeds(stack.replace('replicas: 3', 'replicas: 5')), NODES), [
      'api: 5 replica(s) with at most 1 per node (max_replicas_per_node, or a port published in host mode) need more than the 4 node(s) of the swarm can take, even with every one of them up and active (at most 4)',
    ]);
    assert.deepEqual(shortPlacements(placementNeeds(stack.replace('replicas: 3', 'replicas: 5')), NODES), []);
  });
  it('a role constraint counts only nodes of that role', () => {
    const stack = 'services:\n  dozzle:\n    deploy:\n      replicas: 2\n      placement:\n        max_replicas_per_node: 1\n        constraints: ["node.role == manager"]\n';
    assert.deepEqual(impossiblePlacements(placementNeeds(stack), NODES), ['dozzle: 2 replica(s) with at most 1 per node (max_replicas_per_node, or a port published in host mode) need more than the 1 manager node(s) of the swarm can take, even with every one of them up and active (at most 1)']);
  });
  it('a port published in host mode allows one task per node', () => {
    const stack = 'services:\n  api:\n    ports:\n      - target: 8000\n        published: 8000\n        mode: host\n    deploy:\n      replicas: 3\n';
    assert.deepEqual(placementNeeds(stack), [{ service: 'api', replicas: 3, maxPerNode: 1, role: undefined }]);
    assert.equal(shortPlacements(placementNeeds(stack), NODES).length, 1);
    assert.equal(impossiblePlacements(placementNeeds(stack.replace('replicas: 3', 'replicas: 5')), NODES).length, 1);
    assert.equal(placementNeeds(stack.replace('mode: host', 'mode: ingress'))[0]!.maxPerNode, undefined);
  });
  it('a host-mode port another stack\'s service holds is named with that service; this stack\'s own services and ingress ports are not', () => {
    const stackFile = 'services:\n  api:\n    ports:\n      - { target: 8000, published: 8000, protocol: tcp, mode: host }\n      - "9000:9000"\n  admin:\n    ports:\n      - { target: 80, published: 8080, mode: host }\n';
    assert.deepEqual(hostPorts(stackFile), [{ service: 'api', port: 8000, protocol: 'tcp' }, { service: 'admin', port: 8080, protocol: 'tcp' }]);
    const spec = (name: string, stack: string | undefined, port: number, mode = 'host', protocol = 'tcp') =>
      JSON.stringify({ Name: name, Labels: stack ? { 'com.docker.stack.namespace': stack } : {}, EndpointSpec: { Ports: [{ PublishedPort: port, Protocol: protocol, PublishMode: mode }] } });
    const specs = [spec('hd_api', 'hd', 8000), spec('other_web', 'other', 8000), spec('loose', undefined, 8080), spec('mesh', 'x', 9000, 'ingress'), spec('udp', 'y', 8080, 'host', 'udp')].join('\n');
    assert.deepEqual(hostPortConflicts('hd', stackFile, specs), [
      'api: publishes 8000/tcp in host mode, which the service other_web (stack other) already holds on the nodes — swarm would never place the task; free the port (docker service update --publish-rm 8000 other_web, or remove that service) or publish another one',
      'admin: publishes 8080/tcp in host mode, which the service loose already holds on the nodes — swarm would never place the task; free the port (docker service update --publish-rm 8080 loose, or remove that service) or publish another one',
    ]);
  });
  it('a label constraint no ready node has is named with the command that adds it; a volume service pinned to a label on two nodes is refused', () => {
    const stackFile = 'services:\n  redis:\n    volumes: ["redis-data:/data"]\n    deploy:\n      placement:\n        constraints: ["node.labels.honeydue-redis == true"]\n  web:\n    volumes: ["./conf:/conf"]\n    deploy:\n      placement:\n        constraints: ["node.labels.zone == a"]\n';
    const pins = labelPins(stackFile);
    assert.deepEqual(pins, [{ service: 'redis', key: 'honeydue-redis', value: 'true', volume: true }, { service: 'web', key: 'zone', value: 'a', volume: false }]);
    const node = (id: string, hostname: string, labels?: Record<string, string>, role: 'manager' | 'worker' = 'worker') => ({ id, hostname, addr: '10.0.0.1', role, state: 'ready', availability: 'active', ...(labels ? { labels } : {}) });
    const none = [node('aaaaaaaaaaaaaaaa', 'm1', undefined, 'manager'), node('bbbbbbbbbbbbbbbb', 'w1')];
    assert.deepEqual(labelProblems(pins, none), [
      'redis: placed by node.labels.honeydue-redis == true, and no ready, active node has that label — choose the node that keeps its data and run `docker node update --label-add honeydue-redis=true aaaaaaaaaaaa` (m1) on a manager',
      'web: placed by node.labels.zone == a, and no ready, active node has that label — run `docker node update --label-add zone=a aaaaaaaaaaaa` (m1) on a manager',
    ]);
    const two = [node('aaaaaaaaaaaaaaaa', 'm1', { 'honeydue-redis': 'true', zone: 'a' }, 'manager'), node('bbbbbbbbbbbbbbbb', 'w1', { 'honeydue-redis': 'true', zone: 'a' })];
    assert.deepEqual(labelProblems(pins, two), [
      'redis: keeps its data on a volume, which is per node, and node.labels.honeydue-redis == true is on 2 nodes (aaaaaaaaaaaa (m1, 10.0.0.1), bbbbbbbbbbbb (w1, 10.0.0.1)) — keep the label on the node that holds the data and remove it from the others: docker node update --label-rm honeydue-redis bbbbbbbbbbbb',
    ]);
    assert.deepEqual(labelProblems(pins, [two[0]!, node('bbbbbbbbbbbbbbbb', 'w1')]), []);
  });
  it('a health URL that names one node (a manager, a node\'s address or hostname) is a warning; a load balancer\'s name is not', () => {
    const hosts = [{ host: '10.203.0.11', what: 'the node n1' }, { host: 'hdnode2', what: 'the node n2' }, { host: '[fd00::3]', what: 'the manager [fd00::3]' }];
    assert.equal(healthUrlOnNode('http://10.203.0.11:8000/api/health/', hosts), 'DEPLOY_HEALTHCHECK_URL names the node n1 directly (10.203.0.11): with that node down the check fails a release that serves on the other nodes — point it at the load balancer in front of the nodes');
    assert.match(healthUrlOnNode('https://HDNODE2/health', hosts)!, /names the node n2 directly \(hdnode2\)/);
    assert.match(healthUrlOnNode('http://[fd00::3]:8000/', hosts)!, /names the manager \[fd00::3\] directly/);
    assert.equal(healthUrlOnNode('https://api.example.com/api/health/', hosts), undefined);
    assert.equal(healthUrlOnNode(undefined, hosts), undefined);
  });
});
