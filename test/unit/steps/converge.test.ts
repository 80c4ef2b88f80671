/**
 * Nodes named in convergence: hostnames repeat when a node joined the swarm again (its old entry stays, down), so a
 * task's node is known by ID; a live node must never be taken for its stale namesake.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { observeStack, OBSERVE_SEPARATOR } from '../../../src/commands/stack.js';
import { judgeService, type ServiceView, type TaskView } from '../../../src/steps/converge-eval.js';
import { downNodes, nodeDescriber } from '../../../src/steps/converge.js';
import type { NodeView } from '../../../src/steps/nodes-eval.js';

const node = (id: string, hostname: string, addr: string, state: string): NodeView => ({ id, hostname, addr, role: 'worker', state, availability: 'active' });
const LIVE = node('livenode3xxxxxxxxxxxxxxxx', 'hdnode3', '10.203.0.13', 'ready');
const STALE = node('stalenode3xxxxxxxxxxxxxxx', 'hdnode3', '10.203.0.13', 'down');
const OTHER = node('node1xxxxxxxxxxxxxxxxxxxx', 'hdnode1', '10.203.0.11', 'ready');
const NODES = [OTHER, STALE, LIVE];

describe('nodes in convergence', () => {
  it('a node is named by its ID; a hostname shared with a stale entry names the ready node', () => {
    const d = nodeDescriber(NODES);
    assert.equal(d(LIVE.id), 'livenode3xxx (hdnode3, 10.203.0.13)');
    assert.equal(d(STALE.id), 'stalenode3xx (hdnode3, 10.203.0.13)');
    assert.equal(d('hdnode3'), 'livenode3xxx (hdnode3, 10.203.0.13)');
    assert.equal(d('hdnode1'), 'node1xxxxxxx (hdnode1, 10.203.0.11)');
    assert.equal(d('nosuch'), 'nosuch');
  });

  it('down: the stale entry by ID; its hostname only when no ready node has it', () => {
    assert.deepEqual([...downNodes(NODES)], [STALE.id]);
    assert.deepEqual([...downNodes([OTHER, { ...LIVE, state: 'down' }])].sort(), [LIVE.id, 'hdnode3'].sort());
  });

  it('a task on the live namesake of a stale node serves, and its failure names the live node', () => {
    const svc: ServiceView = { name: 's_api', specImage: 'r/api:new', replicas: 2, updateState: 'completed' } as ServiceView;
    const tasks: TaskView[] = [
      { id: 't1', node: 'hdnode1', nodeId: OTHER.id, service: 's_api', image: 'r/api:new', running: true, state: 'Running', error: '' },
      { id: 't2', node: 'hdnode3', nodeId: LIVE.id, service: 's_api', image: 'r/api:new', running: true, state: 'Running', error: '' },
    ];
    const opts = { downNodes: downNodes(NODES), describe: nodeDescriber(NODES) };
    assert.equal(judgeService(svc, 's_api', 'r/api:new', tasks, opts).status, 'converged');
    // before, both tasks were judged by hostname: hdnode3 counted as down, and the release never converged
    const paused: ServiceView = { ...svc, updateState: 'paused' } as ServiceView;
    const failing: TaskView[] = [
      tasks[0]!,
      { id: 't3', node: 'hdnode3', nodeId: LIVE.id, service: 's_api', image: 'r/api:new', running: false, failed: true, state: 'Rejected', error: 'No such image: r/api:new' },
    ];
    assert.match(judgeService(paused, 's_api', 'r/api:new', failing, { ...opts, tasksBefore: new Set() }).text, /No such image: r\/api:new on node livenode3xxx \(hdnode3, 10\.203\.0\.13\)$/);
  });

  it('one look at the cluster also asks each task\'s node ID, as a part of its own', () => {
    const script = observeStack('s').argv[2]!;
    assert.equal(script.split('echo "$2"').length, 4, 'four parts');
    assert.match(script, /docker inspect --type task --format "\{\{\.ID\}\} \{\{\.NodeID\}\}" \$t/);
    assert.equal(observeStack('s').argv.at(-1), OBSERVE_SEPARATOR);
  });
});
