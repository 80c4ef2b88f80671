import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PERMANENT_AFTER_MS, judgeAll, judgeService, normalizeImage, parseServices, parseTasks, stripDigest, type ServiceView, type TaskView } from '../../../src/steps/converge-eval.js';
import type { NodeView } from '../../../src/steps/nodes-eval.js';

const NEW = 'r/honeydue-api:v2';
const OLD = 'r/honeydue-api:v1';
const svc = (over: Partial<ServiceView> = {}): ServiceView => ({ name: 's_api', specImage: NEW, replicas: 2, ...over });
const task = (image: string, running = true, error = ''): TaskView => ({ service: 's_api', image, running, state: running ? 'Running' : 'Starting', error });

const node = (n: number, state = 'ready', availability = 'active'): NodeView => ({ id: `id${n}`, hostname: `hdnode${n}`, addr: `10.0.0.${n}`, role: n === 1 ? 'manager' : 'worker', state, availability });
/** three nodes, the third down */
const THIRD_DOWN = [node(1), node(2), node(3, 'down')];

const failedTask = (id: string, image: string, error: string): TaskView => ({ id, service: 's_api', image, running: false, state: 'Failed', error, failed: true, desiredRunning: false });

describe('crash loops are judged in seconds', () => {
  it('three failed tasks of the new image, or one error twice, fail the release, whatever the update state', () => {
    const update = { tasksBefore: new Set<string>() };
    const one = [failedTask('t1', NEW, 'task: non-zero exit (1)')];
    assert.equal(judgeService(svc({ updateState: 'updating' }), 's_api', NEW, one, update).status, 'waiting');
    const twice = [...one, failedTask('t2', NEW, 'task: non-zero exit (1)')];
    const j = judgeService(svc(), 's_api', NEW, twice, update);
    assert.deepEqual(j, { name: 's_api', status: 'failed', text: 's_api: 2 tasks of the new image failed (task: non-zero exit (1))' });
    const three = [failedTask('a', NEW, 'x (1)'), failedTask('b', NEW, 'y (2)'), failedTask('c', NEW, 'z (3)')];
    assert.equal(judgeService(svc(), 's_api', NEW, three, update).status, 'failed');
  });
  it('without an update being judged (status) history is never a crash loop: a serving service killed three times over its life is converged', () => {
    const oomKilled = ['a', 'b', 'c'].map((id) => failedTask(id, NEW, 'task: non-zero exit (137)'));
    assert.equal(judgeService(svc({ replicas: 1, updateState: 'completed' }), 's_api', NEW, [task(NEW), ...oomKilled]).status, 'converged');
  });
  it('failures of tasks that existed before the deploy, or of another image, do not count; nor while rolling back', () => {
    const old = [failedTask('t1', NEW, 'e'), failedTask('t2', NEW, 'e'), failedTask('t3', NEW, 'e')];
    assert.notEqual(judgeService(svc(), 's_api', NEW, old, { tasksBefore: new Set(['t1', 't2', 't3']) }).status, 'failed');
    assert.notEqual(judgeService(svc(), 's_api', NEW, old.map((t) => ({ ...t, image: OLD }))).status, 'failed');
    assert.notEqual(judgeService(svc({ specImage: OLD }), 's_api', OLD, old.map((t) => ({ ...t, image: OLD })), { rollingBack: true }).status, 'failed');
  });
  it('a node that refuses tasks because of its own network state is named as the fault, with what to do', () => {
    const error = 'invalid pool request: Pool overlaps with other one on this address space';
    const onNode2 = (id: string): TaskView => ({ ...failedTask(id, NEW, error), nodeId: 'id2' });
    const j = judgeService(svc(), 's_api', NEW, [onNode2('t1'), onNode2('t2')], { tasksBefore: new Set(), describe: (n) => `${n} (hdnode2)` });
    assert.equal(j.status, 'failed');
    assert.equal(j.text, `s_api: 2 tasks of the new image failed (${error} on node id2 (hdnode2)): not the release: that node's docker still holds the addresses of a network the swarm has removed — restart docker on that node (systemctl restart docker), then deploy again`);
    // swarm gave up on the update itself: the same words
    const paused = judgeService(svc({ updateState: 'paused' }), 's_api', NEW, [onNode2('t1')], { tasksBefore: new Set() });
    assert.match(paused.text, /on node id2: not the release: that node's docker still holds the addresses/);
    // any other error: no such words
    assert.doesNotMatch(judgeService(svc(), 's_api', NEW, [failedTask('a', NEW, 'task: non-zero exit (1)'), failedTask('b', NEW, 'task: non-zero exit (1)')], { tasksBefore: new Set() }).text, /not the release/);
  });
  it('history rows do not count as running tasks', () => {
    assert.equal(judgeService(svc(), 's_api', NEW, [task(NEW), task(NEW), { ...failedTask('x', OLD, ''), state: 'Shutdown', failed: false }]).status, 'converged');
  });
});

describe('nodes that are down', () => {
  const pending = (id: string): TaskView => ({ id, service: 's_api', image: NEW, running: false, state: 'Pending', error: 'no suitable node (max replicas per node limit exceed; 1 node not available for new tasks)', desiredRunning: true, node: undefined });
  const on = (node: string, image = NEW): TaskView => ({ ...task(image), node, desiredRunning: true });
  const down = new Set(['hdnode3']);
  const host = { replicas: 3, hostPort: true };
  it('a replica that cannot be placed while a node is down, with every other node running the new image: converged on fewer replicas, naming the node and what to do', () => {
    const j = judgeService(svc({ ...host, updateState: 'updating' }), 's_api', NEW, [on('hdnode1'), on('hdnode2'), pending('p1')], { downNodes: down, nodes: THIRD_DOWN });
    assert.equal(j.status, 'converged');
    assert.equal(j.degraded?.running, 2);
    assert.equal(j.degraded?.want, 3);
    assert.match(j.degraded!.why!, /^node id3 \(hdnode3, 10\.0\.0\.3\) is down — bring it back \(start its docker, or docker node update --availability active\) and swarm places the rest, or remove it \(docker node rm\) and lower the replicas/);
    // the same for a rollback: one judgement for every run
    assert.equal(judgeService(svc({ ...host, updateState: 'updating' }), 's_api', NEW, [on('hdnode1'), on('hdnode2'), pending('p1')], { downNodes: down, nodes: THIRD_DOWN, rollingBack: true }).status, 'converged');
    // with every node up, a pending task is only waiting
    assert.equal(judgeService(svc(host), 's_api', NEW, [on('hdnode1'), on('hdnode2'), { ...pending('p1'), error: 'no suitable node (host-mode port already in use on 2 nodes)' }], { nodes: [node(1), node(2), node(3)] }).status, 'waiting');
  });
  it('a drained node is missing capacity the same way, named as drained', () => {
    const drained = [node(1), node(2), node(3, 'ready', 'drain')];
    const j = judgeService(svc(host), 's_api', NEW, [on('hdnode1'), on('hdnode2'), pending('p1')], { nodes: drained });
    assert.equal(j.status, 'converged');
    assert.match(j.degraded!.why!, /node id3 \(hdnode3, 10\.0\.0\.3\) is drain/);
  });
  it('with a node down, the live nodes not yet all on the new image: waiting, never a failure, and an update stuck on the unplaceable replica is flagged', () => {
    const j = judgeService(svc({ ...host, updateState: 'updating' }), 's_api', NEW, [on('hdnode1'), on('hdnode2', OLD), pending('p1')], { downNodes: down, nodes: THIRD_DOWN });
    assert.equal(j.status, 'waiting');
    assert.equal(j.stuck, 'a replica cannot be placed while a node is down and the rolling update waits for it');
    assert.equal(judgeService(svc(host), 's_api', NEW, [on('hdnode1'), pending('p2'), pending('p1')], { downNodes: down, nodes: THIRD_DOWN }).status, 'waiting');
  });
  it('more replicas missing than the nodes that are down would have held: not accepted; a lasting reason fails in seconds', () => {
    const reason = 'no suitable node (host-mode port already in use on 1 node; 1 node not available for new tasks)';
    const tasks = [on('hdnode1'), { ...pending('p1'), error: reason }, { ...pending('p2'), error: reason }];
    const opts = { downNodes: down, nodes: THIRD_DOWN, unplacedSince: new Map([['p1', 0], ['p2', 0]]) };
    assert.equal(judgeService(svc(host), 's_api', NEW, tasks, { ...opts, now: 1000 }).status, 'waiting');
    const j = judgeService(svc(host), 's_api', NEW, tasks, { ...opts, now: PERMANENT_AFTER_MS });
    assert.equal(j.status, 'failed');
    assert.match(j.text, /the service's own tasks hold its host-mode port on 1 node\(s\)/);
  });
  it('a service without a per-node limit: replicas missing for resources while a node is down are its share; a constraint is not', () => {
    const res = 'no suitable node (insufficient resources on 2 nodes; 1 node not available for new tasks)';
    const j = judgeService(svc({ replicas: 3 }), 's_api', NEW, [on('hdnode1'), on('hdnode2'), { ...pending('p1'), error: res }], { downNodes: down, nodes: THIRD_DOWN });
    assert.equal(j.status, 'converged');
    const cons = 'no suitable node (scheduling constraints not satisfied on 2 nodes; 1 node not available for new tasks)';
    assert.equal(judgeService(svc({ replicas: 3 }), 's_api', NEW, [on('hdnode1'), on('hdnode2'), { ...pending('p1'), error: cons }], { downNodes: down, nodes: THIRD_DOWN }).status, 'waiting');
  });
  it('while the swarm\'s view of its nodes settles, nothing is judged: not converged on fewer replicas, not failed', () => {
    const unsettledReason = 'no suitable node (3 nodes not available for new tasks)';
    const up = [node(1), node(2), node(3)];
    const tasks = [on('hdnode1'), on('hdnode2'), { ...pending('p1'), error: unsettledReason }];
    const j = judgeService(svc(host), 's_api', NEW, tasks, { nodes: up, settling: 'swarm counts 3 …', unplacedSince: new Map([['p1', 0]]), now: 60_000 });
    assert.equal(j.status, 'waiting');
    assert.match(j.text, /waiting for the swarm's view of its nodes to settle: swarm counts 3/);
    // once the wait is over, the nodes swarm does not count are the nodes missing: served on fewer replicas
    const after = judgeService(svc(host), 's_api', NEW, tasks, { nodes: up, unplacedSince: new Map([['p1', 0]]), now: 60_000 });
    assert.equal(after.status, 'converged');
    assert.match(after.degraded!.why!, /listed Ready are not yet available for new tasks/);
  });
  it('every replica on the intended image with a node down: converged, though swarm\'s update status stays "updating"; never "degraded" at full count', () => {
    const j = judgeService(svc({ replicas: 1, updateState: 'updating' }), 's_api', NEW, [{ ...task(NEW), node: 'n1' }], { downNodes: new Set(['n2']) });
    assert.deepEqual(j, { name: 's_api', status: 'converged', text: 's_api: 1/1 ok (swarm\'s update status stays "updating" while a node is down)' });
    const rb = judgeService(svc({ replicas: 1, updateState: 'updating' }), 's_api', NEW, [{ ...task(NEW), node: 'n1' }], { downNodes: new Set(['n2']), rollingBack: true });
    assert.equal(rb.degraded, undefined);
    assert.equal(judgeService(svc({ replicas: 1, updateState: 'updating' }), 's_api', NEW, [{ ...task(NEW), node: 'n1' }]).status, 'waiting', 'with every node up, updating is waited for');
  });
  it('a count that looks complete while a task of another image still runs names that task and its node', () => {
    const j = judgeService(svc({ replicas: 1, updateState: 'updating' }), 's_api', NEW, [on('hdnode1'), on('hdnode3', OLD)], { describe: (h) => `id3 (${h}, 10.0.0.3)` });
    assert.deepEqual(j, { name: 's_api', status: 'waiting', text: 's_api: 1/1 updating; also running: honeydue-api:v1 on id3 (hdnode3, 10.0.0.3)' });
  });
  it('a task on a node that is down does not count as running', () => {
    assert.equal(judgeService(svc({ replicas: 3 }), 's_api', NEW, [on('hdnode1'), on('hdnode2'), on('hdnode3')], { downNodes: down }).status, 'waiting');
  });
  it('rolling back with a node down: the previous release on the replicas the other nodes can run is accepted, as degraded', () => {
    const j = judgeService(svc({ ...host, specImage: OLD, updateState: 'updating' }), 's_api', OLD, [on('hdnode1', OLD), on('hdnode2', OLD), { ...pending('p1'), image: OLD }], { rollingBack: true, downNodes: down, nodes: THIRD_DOWN });
    assert.equal(j.status, 'converged');
    assert.deepEqual({ ...j.degraded, why: undefined }, { running: 2, want: 3, why: undefined });
    assert.equal(judgeService(svc({ ...host, specImage: OLD }), 's_api', OLD, [on('hdnode1', OLD), { ...pending('p1'), image: OLD }], { rollingBack: true, downNodes: down, nodes: THIRD_DOWN }).status, 'waiting');
  });
  it('rolling back with a node down: an update stuck on an unplaceable replica while live tasks run another image is flagged', () => {
    const j = judgeService(svc({ ...host, specImage: OLD, updateState: 'updating' }), 's_api', OLD, [on('hdnode1', OLD), on('hdnode2', NEW), { ...pending('p1'), image: OLD }], { rollingBack: true, downNodes: down, nodes: THIRD_DOWN });
    assert.equal(j.status, 'waiting');
    assert.equal(j.stuck, 'a replica cannot be placed while a node is down and the rolling update waits for it');
    assert.equal(judgeService(svc({ replicas: 3, specImage: OLD, updateState: 'updating' }), 's_api', OLD, [on('hdnode1', OLD), on('hdnode2', NEW)], { rollingBack: true }).stuck, undefined);
  });
  it('a start-first update whose new task went to a node just before it died waits for it forever, the old task running beside the replacement: flagged', () => {
    const ADMIN_NEW = 'r/honeydue-admin:mg1';
    const ADMIN_OLD = 'r/honeydue-admin:mgC';
    const at = (id: string, image: string, node: string, state: string, desiredRunning: boolean): TaskView => ({ id, service: 's_admin', image, node, running: state === 'Running', state, error: '', desiredRunning });
    // as swarm showed it: the first new task still "Assigned" on the dead node, its replacement running on node 1,
    // the old task running on node 3, and the update status "updating" for good
    const tasks = [at('8lpp', ADMIN_NEW, 'hdnode2', 'Assigned', false), at('ilqj', ADMIN_NEW, 'hdnode1', 'Running', true), at('5xwe', ADMIN_OLD, 'hdnode3', 'Running', true)];
    const service = { name: 's_admin', specImage: ADMIN_NEW, replicas: 1, updateState: 'updating' };
    for (const rollingBack of [true, false]) {
      const j = judgeService(service, 's_admin', ADMIN_NEW, tasks, { rollingBack, downNodes: new Set(['hdnode2']), tasksBefore: new Set(['5xwe']) });
      assert.equal(j.status, 'waiting');
      assert.equal(j.text, 's_admin: 1/1 updating; also running: honeydue-admin:mgC on hdnode3');
      assert.equal(j.stuck, 'every replica runs the intended image, but the rolling update still waits for a task it gave a node that is down, so the old task keeps running');
    }
    // not while the replacement is not running yet, nor with every node up, nor when no new task went to the dead node
    assert.equal(judgeService(service, 's_admin', ADMIN_NEW, [tasks[0]!, { ...tasks[1]!, running: false, state: 'Starting' }, tasks[2]!], { downNodes: new Set(['hdnode2']) }).stuck, undefined);
    assert.equal(judgeService(service, 's_admin', ADMIN_NEW, tasks, {}).stuck, undefined);
    assert.equal(judgeService(service, 's_admin', ADMIN_NEW, tasks.slice(1), { downNodes: new Set(['hdnode2']) }).stuck, undefined);
  });
  it('an update swarm rolled back by itself names the failed task\'s error and node', () => {
    const rejected: TaskView = { ...failedTask('r1', NEW, 'No such image: r/honeydue-api:v2'), state: 'Rejected', node: 'hdnode3' };
    const j = judgeService(svc({ specImage: OLD, updateState: 'rollback_started' }), 's_api', NEW, [on('hdnode1', OLD), rejected], { describe: (h) => `id3 (${h}, 10.0.0.3)` });
    assert.equal(j.text, 's_api: update rollback started by swarm (running r/honeydue-api:v1): No such image: r/honeydue-api:v2 on node id3 (hdnode3, 10.0.0.3)');
  });
  it('a pull denied on a node is a release failure naming the node', () => {
    const rejected = (id: string): TaskView => ({ ...failedTask(id, NEW, 'No such image: r/honeydue-api:v2'), state: 'Rejected', node: 'hdnode3' });
    const j = judgeService(svc(), 's_api', NEW, [rejected('r1'), rejected('r2')], { tasksBefore: new Set(), describe: (h) => `id3 (${h}, 10.0.0.3)` });
    assert.equal(j.status, 'failed');
    assert.match(j.text, /2 tasks of the new image failed \(No such image: r\/honeydue-api:v2 on node id3 \(hdnode3, 10\.0\.0\.3\)\)/);
  });
});

describe('convergence judgement', () => {
  it('converged: spec on the new image, replicas running it, update completed or none', () => {
    assert.equal(judgeService(svc({ updateState: 'completed' }), 's_api', NEW, [task(NEW), task(NEW)]).status, 'converged');
    assert.equal(judgeService(svc(), 's_api', NEW, [task(NEW), task(NEW)]).status, 'converged');
  });
  it('N/N on the OLD image after swarm rolled back by itself is a failure, not success', () => {
    const j = judgeService(svc({ specImage: OLD, updateState: 'rollback_completed' }), 's_api', NEW, [task(OLD), task(OLD)]);
    assert.equal(j.status, 'failed');
    assert.match(j.text, /rollback completed by swarm/);
  });
  for (const state of ['rollback_started', 'rollback_paused', 'paused']) {
    it(`UpdateStatus ${state} is a failure`, () => assert.equal(judgeService(svc({ updateState: state }), 's_api', NEW, [task(NEW), task(NEW)]).status, 'failed'));
  }
  it('a same-image redeploy rolled back by swarm is still a failure', () => {
    assert.equal(judgeService(svc({ updateState: 'rollback_completed' }), 's_api', NEW, [task(NEW), task(NEW)]).status, 'failed');
  });
  it('while waiting for a rollback, rollback_completed on the intended image is success', () => {
    assert.equal(judgeService(svc({ specImage: OLD, updateState: 'rollback_completed' }), 's_api', OLD, [task(OLD), task(OLD)], { rollingBack: true }).status, 'converged');
    assert.equal(judgeService(svc({ specImage: OLD, updateState: 'rollback_paused' }), 's_api', OLD, [task(OLD)], { rollingBack: true }).status, 'failed');
    // after `docker service rollback` the state passes through rollback_started: progress while rolling back
    assert.equal(judgeService(svc({ specImage: OLD, updateState: 'rollback_started' }), 's_api', OLD, [task(OLD), task(OLD)], { rollingBack: true }).status, 'waiting');
    assert.equal(judgeService(svc({ specImage: OLD, updateState: 'rollback_started' }), 's_api', OLD, [task(OLD), task(OLD)]).status, 'failed');
  });
  it('waiting: still updating, too few tasks, an old task still running, a task not yet running', () => {
    assert.equal(judgeService(svc({ updateState: 'updating' }), 's_api', NEW, [task(NEW), task(NEW)]).status, 'waiting');
    assert.equal(judgeService(svc(), 's_api', NEW, [task(NEW)]).status, 'waiting');
    assert.equal(judgeService(svc(), 's_api', NEW, [task(NEW), task(NEW), task(OLD)]).status, 'waiting');
    const j = judgeService(svc(), 's_api', NEW, [task(NEW), task(NEW, false, 'No such image: r/honeydue-api:v2')]);
    assert.equal(j.status, 'waiting');
    assert.match(j.text, /1\/2 \(No such image/);
  });
  it('a spec on another image, not rolled back, is still waiting (and the deadline decides)', () => {
    assert.equal(judgeService(svc({ specImage: OLD }), 's_api', NEW, []).status, 'waiting');
  });
  it('a service that does not exist yet is waiting; zero replicas converge with no tasks', () => {
    assert.equal(judgeService(undefined, 's_api', NEW, []).status, 'waiting');
    assert.equal(judgeService(svc({ replicas: 0 }), 's_api', NEW, []).status, 'converged');
  });
  it('digests are ignored when comparing images', () => {
    assert.equal(stripDigest(`${NEW}@sha256:abc`), NEW);
    assert.equal(judgeService(svc({ specImage: stripDigest(`${NEW}@sha256:abc`) }), 's_api', `${NEW}@sha256:def`.replace(/@.*/, ''), [task(NEW), task(NEW)]).status, 'converged');
  });
  it('the same tag redeployed with new content: tasks of the old digest are not this update\'s, whatever their tag', () => {
    const spec = svc({ specDigest: 'sha256:new', updateState: 'completed' });
    const old = (): TaskView => ({ ...task(NEW), digest: 'sha256:old' });
    const fresh = (): TaskView => ({ ...task(NEW), digest: 'sha256:new' });
    assert.equal(judgeService(spec, 's_api', NEW, [old(), old()]).status, 'waiting');
    assert.equal(judgeService(spec, 's_api', NEW, [fresh(), old()]).status, 'waiting');
    assert.equal(judgeService(spec, 's_api', NEW, [fresh(), fresh()]).status, 'converged');
    // no digest pinned (a registry that was not asked): the tag decides, as before
    assert.equal(judgeService(svc(), 's_api', NEW, [old(), old()]).status, 'converged');
  });
  it('image references compare in a normal form: implicit :latest and Docker Hub prefixes', () => {
    for (const same of ['redis', 'redis:latest', 'docker.io/library/redis:latest@sha256:ab', 'redis@sha256:ab']) assert.equal(normalizeImage(same), 'redis:latest', same);
    assert.equal(normalizeImage('127.0.0.1:5000/ns/honeydue-api'), '127.0.0.1:5000/ns/honeydue-api:latest');
    assert.equal(normalizeImage('127.0.0.1:5000/ns/honeydue-api:v1@sha256:ab'), '127.0.0.1:5000/ns/honeydue-api:v1');
    assert.equal(normalizeImage('amir20/dozzle:v8'), 'amir20/dozzle:v8');
    const services = [{ name: 's_r', specImage: normalizeImage('redis:latest@sha256:1'), replicas: 1 }];
    const tasks = [{ service: 's_r', image: normalizeImage('redis:latest@sha256:1'), running: true, state: 'Running', error: '' }];
    assert.equal(judgeAll(services, tasks, { s_r: 'redis' })[0]!.status, 'converged');
  });

  it('parses docker JSON lines', () => {
    const services = parseServices(
      `${JSON.stringify({ Spec: { Name: 's_api', Mode: { Replicated: { Replicas: 2 } }, TaskTemplate: { ContainerSpec: { Image: `${NEW}@sha256:1` } } }, PreviousSpec: { TaskTemplate: { ContainerSpec: { Image: `${OLD}@sha256:0` } } }, UpdateStatus: { State: 'completed' } })}\n` +
        `${JSON.stringify({ Spec: { Name: 's_g', Mode: { Global: {} }, TaskTemplate: { ContainerSpec: { Image: 'x' } } } })}\n`,
    );
    assert.deepEqual(services, [
      { name: 's_api', specImage: NEW, replicas: 2, updateState: 'completed', previousSpecImage: OLD, specDigest: 'sha256:1' },
      { name: 's_g', specImage: 'x:latest', replicas: undefined, updateState: undefined, previousSpecImage: undefined },
    ]);
    const tasks = parseTasks(`${JSON.stringify({ Name: 's_api.1', Image: `${NEW}@sha256:1`, CurrentState: 'Running 3 seconds ago', Error: '' })}\n${JSON.stringify({ Name: 's_api.2', Image: NEW, CurrentState: 'Preparing 1 second ago', Error: '' })}\n`);
    assert.deepEqual(tasks.map((t) => [t.service, t.image, t.digest, t.running]), [['s_api', NEW, 'sha256:1', true], ['s_api', NEW, undefined, false]]);
    assert.deepEqual(judgeAll(services, tasks, { s_api: NEW }).map((j) => j.status), ['waiting']);
  });
});

describe('placements swarm never makes while every node is up', () => {
  const pending = (id: string, error: string): TaskView => ({ id, service: 's_api', image: NEW, running: false, state: 'Pending', error, desiredRunning: true });
  const since = (ms: number) => ({ unplacedSince: new Map([['p1', 0]]), now: ms });
  const reasons = [
    'no suitable node (unsupported platform on 3 nodes)',
    'no suitable node (host-mode port already in use on 3 nodes)',
    'no suitable node (insufficient resources on 3 nodes)',
    'no suitable node (scheduling constraints not satisfied on 3 nodes)',
  ];
  for (const reason of reasons) {
    it(`${reason}: waiting at first, a failed release once it has stood ${PERMANENT_AFTER_MS / 1000}s, with what to do`, () => {
      assert.equal(judgeService(svc({ replicas: 1 }), 's_api', NEW, [pending('p1', reason)], since(1000)).status, 'waiting');
      const j = judgeService(svc({ replicas: 1 }), 's_api', NEW, [pending('p1', reason)], since(PERMANENT_AFTER_MS));
      assert.equal(j.status, 'failed');
      assert.ok(j.text.startsWith(`s_api: 1 replica(s) cannot be placed with every node up (${reason}): `), j.text);
      assert.match(j.text, /\): [^—]+ — (build it|free it|lower deploy|fix the constraint)/);
    });
  }
  it('a port still held by the service\'s own task being stopped (stop-first) is waited for', () => {
    const stopping: TaskView = { id: 'old', service: 's_api', image: OLD, running: true, state: 'Running', error: '', desiredRunning: false };
    assert.equal(judgeService(svc({ replicas: 1 }), 's_api', NEW, [stopping, pending('p1', reasons[1]!)], since(60_000)).status, 'waiting');
  });
  it('with a node down, a host-mode port the service\'s own stopping task holds is waited for; then the missing replica is the down node\'s share', () => {
    const port = 'no suitable node (1 node not available for new tasks; host-mode port already in use on 1 node)';
    const stopping: TaskView = { id: 'old', service: 's_api', image: OLD, running: true, state: 'Running', error: '', desiredRunning: false, node: 'hdnode1' };
    const on1: TaskView = { id: 'n1', service: 's_api', image: NEW, running: true, state: 'Running', error: '', desiredRunning: true, node: 'hdnode2' };
    const nodes = [node(1), node(2), node(3, 'down')];
    const downOpts = { downNodes: new Set(['hdnode3']), nodes };
    assert.equal(judgeService(svc({ replicas: 3, hostPort: true }), 's_api', NEW, [stopping, on1, pending('p1', port)], { ...since(60_000), ...downOpts }).status, 'waiting');
    const j = judgeService(svc({ replicas: 3, hostPort: true }), 's_api', NEW, [{ ...on1, node: 'hdnode1' }, { ...on1, id: 'n2' }, pending('p1', port)], { ...since(60_000), ...downOpts });
    assert.equal(j.status, 'converged');
  });
  it('swarm rolled the update back: the failed task is named, not one still waiting for a port', () => {
    const waiting = pending('p1', 'no suitable node (host-mode port already in use on 3 nodes)');
    const rejected: TaskView = { id: 'r1', service: 's_api', image: NEW, running: false, failed: true, state: 'Rejected', error: 'No such image: r/api:new', desiredRunning: false, node: 'hdnode3' };
    const j = judgeService(svc({ replicas: 3, updateState: 'rollback_started' }), 's_api', NEW, [waiting, rejected], { tasksBefore: new Set(), describe: (h) => `id3 (${h}, 10.0.0.3)` });
    assert.match(j.text, /: No such image: r\/api:new on node id3 \(hdnode3, 10\.0\.0\.3\)$/);
  });
  it('with a node down, "not available for new tasks" alone is never a lasting reason', () => {
    const j = judgeService(svc({ replicas: 1 }), 's_api', NEW, [pending('p1', 'no suitable node (1 node not available for new tasks)')], { ...since(60_000), downNodes: new Set(['n3']) });
    assert.notEqual(j.status, 'failed');
  });
  it('rolling back: the previous release on the replicas that can run is accepted, saying what blocks the rest; none at all is a failure', () => {
    const prev = svc({ specImage: NEW, replicas: 3, updateState: 'completed' });
    const tasks = [task(NEW), task(NEW), pending('p1', reasons[1]!)];
    const j = judgeService(prev, 's_api', NEW, tasks, { ...since(60_000), rollingBack: true });
    assert.equal(j.status, 'converged');
    assert.deepEqual(j.degraded, { running: 2, want: 3, why: 'the rest cannot be placed: another service holds that host-mode port on 3 node(s) — free it or publish another port' });
    assert.equal(judgeService(svc({ replicas: 1 }), 's_api', NEW, [pending('p1', reasons[0]!)], { ...since(60_000), rollingBack: true }).status, 'failed');
  });
});
