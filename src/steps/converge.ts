import { splitParts } from '../commands/command.js';
import { OBSERVE_SEPARATOR, inspectServices, observeStack, serviceUpdateAllAtOnce, stackServiceIds, stackTasks } from '../commands/stack.js';
import { describeNode, hostPortOwners, parseNodes, type NodeView } from './nodes-eval.js';
import { allServiceSpecs } from '../commands/docker.js';
import { CommandFailed, DeployFailed } from '../errors.js';
import { unsettled } from './capacity-eval.js';
import type { StepHandle } from '../ui/reporter.js';
import { cmd, exec, execChecked, note, type Ctx, type StepPlan } from './context.js';
import { PERMANENT_AFTER_MS, judgeAll, parseServices, parseTasks, type JudgeOptions, type ServiceJudgement, type ServiceView, type TaskView } from './converge-eval.js';

/** A manager's words while the swarm has no leader (an election after the leader was lost). */
export const NO_LEADER = /does not have a leader|no elected cluster leader|rpc error: code = (Unknown|Unavailable|DeadlineExceeded)/i;

/** "api 2/3" for each service on fewer replicas, and why, with what to do. */
export function degradedText(ctx: { release: { stackName: string } }, degraded: ServiceJudgement[]): string | undefined {
  if (!degraded.length) return undefined;
  const replicas = degraded.map((j) => `${j.name.slice(ctx.release.stackName.length + 1)} ${j.degraded!.running}/${j.degraded!.want}`).join(', ');
  const whys = [...new Set(degraded.map((j) => j.degraded!.why).filter(Boolean))];
  return `on fewer replicas (${replicas}): ${whys.join('; ') || 'nodes are down — bring them back and swarm places the rest'}`;
}

/** How long a rolling update must look stuck before it is told to do the rest at once. */
export const STUCK_AFTER_MS = 10_000;

/** How often convergence looks (one round trip each). */
export const POLL_MS = 300;

export function plan(ctx: Pick<Ctx, 'cfg' | 'release'>): StepPlan {
  const s = ctx.release.stackName;
  return {
    title: 'Wait for convergence',
    entries: [
      cmd(observeStack(s)),
      note(`every ${POLL_MS / 1000}s (nodes, services and tasks in one command), all services at once, for at most DEPLOY_CONVERGE_TIMEOUT=${ctx.cfg.cluster.DEPLOY_CONVERGE_TIMEOUT}s`),
      note('converged: spec image is this release\'s, running tasks = desired replicas, all on that image, UpdateStatus completed or none'),
      note('failed at once: UpdateStatus rollback_* or paused (swarm rolled back by itself, even when REPLICAS reads N/N)'),
      note(`with a node down, a rolling update that waits for what it can never get — a replica it cannot place, or a new task it handed a node just before that node died, while the replacement runs elsewhere and the old task beside it — is told to do the rest at once once it has stood still for ${STUCK_AFTER_MS / 1000}s on a settled view (docker service update --update-parallelism 0 <service>; the next deploy sets it back)`),
      note('nodes that are down: their tasks do not count; when every replica the nodes that take tasks can hold runs the release and the only replicas missing are those the down, drained or not-yet-available nodes would have held, it has converged on fewer replicas (deploy and rollback alike; the last line names the nodes)'),
      note(`while swarm counts more nodes "not available for new tasks" than the node list shows down or drained (a leader change, a node that has just rejoined), or the swarm has no leader, placement is not judged: waited for, at most DEPLOY_SETTLE_TIMEOUT=${ctx.cfg.cluster.DEPLOY_SETTLE_TIMEOUT}s`),
      note(`failed in seconds: a replica swarm will never place while every node is up — unsupported platform, a host-mode port another service holds, insufficient resources, an unsatisfiable constraint — once the same reason has stood for ${PERMANENT_AFTER_MS / 1000}s (a port also waits while the service's old task is being stopped); rolling back, the previous release is accepted on the replicas that can run, and the last line says what blocks the rest`),
      note('failed at once: a crash loop — 3 tasks of the new image failed, or one error twice (whatever the stack\'s failure_action; first deploys too)'),
      ...Object.entries(ctx.release.serviceImages).map(([svc, image]) => note(`${s}_${svc} -> ${image}`)),
    ],
  };
}

export function intendedImages(stack: string, serviceImages: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(serviceImages).map(([svc, image]) => [`${stack}_${svc}`, image]));
}


/**
 * Node names in messages: ID, hostname and address. A task's node is its ID when known (hostnames repeat: a node that
 * joined again leaves its old, down entry behind), else a hostname: the ready node of that name when there is one.
 */
export function nodeDescriber(nodes: NodeView[]): (node: string) => string {
  return (node) => {
    const byId = nodes.find((n) => n.id === node);
    if (byId) return describeNode(byId);
    const matches = nodes.filter((n) => n.hostname === node);
    const ready = matches.filter((n) => n.state === 'ready');
    return matches.length === 1 ? describeNode(matches[0]!) : ready.length === 1 ? describeNode(ready[0]!) : node;
  };
}

/** The nodes that are down, by ID, and by hostname where no ready node has that name (tasks known by hostname only). */
export function downNodes(nodes: NodeView[]): Set<string> {
  const down = nodes.filter((n) => n.state !== 'ready');
  const readyNames = new Set(nodes.filter((n) => n.state === 'ready').map((n) => n.hostname));
  return new Set([...down.map((n) => n.id), ...down.map((n) => n.hostname).filter((h) => !readyNames.has(h))]);
}

/** One look at the stack: services, their tasks, and the nodes. */
/** The stack's services (inspected) and tasks as they are now. */
export async function readStack(ctx: Ctx): Promise<{ services: ServiceView[]; tasks: TaskView[] }> {
  const stack = ctx.release.stackName;
  const ids = (await execChecked(ctx, stackServiceIds(stack), 'listing the stack services')).stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  const services = ids.length ? parseServices((await execChecked(ctx, inspectServices(ids), 'inspecting services')).stdout) : [];
  const tasksResult = await exec(ctx, stackTasks(stack));
  // `docker stack ps` exits 1 with "nothing found in stack" while no task exists yet
  return { services, tasks: tasksResult.exitCode === 0 ? parseTasks(tasksResult.stdout) : [] };
}

/** Nodes, services and tasks in one remote command (a convergence poll is one round trip). */
export async function readCluster(ctx: Ctx): Promise<{ nodes: NodeView[]; services: ServiceView[]; tasks: TaskView[] }> {
  const r = await execChecked(ctx, observeStack(ctx.release.stackName), 'looking at the nodes and the stack');
  const [nodes = '', services = '', tasks = '', taskNodes = ''] = splitParts(r.stdout, OBSERVE_SEPARATOR);
  const nodeIds = new Map(taskNodes.split('\n').map((l) => l.trim().split(' ')).filter((p) => p.length === 2 && p[1]) as Array<[string, string]>);
  const views = parseTasks(tasks).map((t) => (t.id && nodeIds.has(t.id) ? { ...t, nodeId: nodeIds.get(t.id) } : t));
  return { nodes: parseNodes(nodes), services: parseServices(services), tasks: views };
}

/** When the swarm's view of its nodes was first seen unsettled in this wait, and until when the wait gives it. */
export interface Settle {
  since?: number;
  /** seconds (DEPLOY_SETTLE_TIMEOUT) */
  limit: number;
}

export async function observe(ctx: Ctx, intended: Record<string, string>, opts: JudgeOptions = {}, unplacedSince?: Map<string, number>, settle?: Settle): Promise<ServiceJudgement[]> {
  const { nodes, services, tasks } = await readCluster(ctx);
  if (unplacedSince) {
    // the first time each task was seen waiting for a placement, forgotten once it is not
    const waiting = new Set(tasks.filter((t) => t.id && !t.running && /no suitable node/i.test(t.error)).map((t) => t.id!));
    for (const id of waiting) if (!unplacedSince.has(id)) unplacedSince.set(id, opts.now ?? Date.now());
    for (const id of [...unplacedSince.keys()]) if (!waiting.has(id)) unplacedSince.delete(id);
  }
  if (nodes.length) ctx.state.nodes = nodes;
  opts = { ...opts, nodes: ctx.state.nodes, downNodes: downNodes(ctx.state.nodes), describe: nodeDescriber(ctx.state.nodes) };
  if (settle) {
    const now = opts.now ?? Date.now();
    const view = unsettled(tasks, ctx.state.nodes);
    if (!view) settle.since = undefined;
    else {
      settle.since ??= now;
      if (now - settle.since < settle.limit * 1000) opts.settling = `${view}; waited ${Math.round((now - settle.since) / 1000)}s of at most DEPLOY_SETTLE_TIMEOUT=${settle.limit}s`;
    }
  }
  return judgeAll(services, tasks, intended, opts);
}

export interface WaitOptions {
  intended: Record<string, string>;
  timeoutSeconds: number;
  handle: StepHandle;
  /** stop waiting (without failing the checks already made) when this says so */
  stop: () => boolean;
  rollingBack?: boolean;
}

export type WaitOutcome =
  | { kind: 'converged'; degraded: ServiceJudgement[] }
  | { kind: 'failed'; why: string }
  | { kind: 'timeout'; why: string }
  | { kind: 'stopped' };

export async function waitForConvergence(ctx: Ctx, o: WaitOptions): Promise<WaitOutcome> {
  const deadline = Date.now() + o.timeoutSeconds * 1000;
  const unstuck = new Set<string>();
  /** task id -> first seen waiting for a placement: a reason that stays is a placement swarm will never make */
  const unplacedSince = new Map<string, number>();
  const settle: Settle = { limit: ctx.cfg.cluster.DEPLOY_SETTLE_TIMEOUT };
  /** service -> since when its rolling update has looked stuck */
  const stuckSince = new Map<string, number>();
  for (;;) {
    const now = Date.now();
    let judgements: ServiceJudgement[];
    try {
      judgements = await observe(ctx, o.intended, { rollingBack: o.rollingBack, tasksBefore: ctx.state.tasksBefore, unplacedSince, now }, unplacedSince, settle);
    } catch (e) {
      // the swarm is electing a leader: its managers answer again once it has one — waited for, within the same bound
      if (!(e instanceof CommandFailed) || !NO_LEADER.test(e.message)) throw e;
      settle.since ??= now;
      if (now - settle.since >= settle.limit * 1000) throw e;
      o.handle.progress(`the swarm has no leader yet (an election): waiting for one, ${Math.round((now - settle.since) / 1000)}s of at most DEPLOY_SETTLE_TIMEOUT=${settle.limit}s`);
      await ctx.interrupt.sleep(POLL_MS * 3);
      if (o.stop()) return { kind: 'stopped' };
      continue;
    }
    o.handle.progress(judgements.map((j) => j.text).join(' | '));
    // a rolling update told to do the rest at once stops every old task together: only once it has stood still for a
    // while on a settled view, never on the first look after a node went (an election may still be under way)
    for (const j of judgements) if (!j.stuck) stuckSince.delete(j.name);
    for (const j of judgements.filter((x) => x.stuck && !unstuck.has(x.name))) {
      const since = stuckSince.get(j.name) ?? now;
      stuckSince.set(j.name, since);
      if (now - since < STUCK_AFTER_MS) continue;
      unstuck.add(j.name);
      const r = await exec(ctx, serviceUpdateAllAtOnce(j.name));
      ctx.reporter.info(`${j.name}: ${j.stuck}: ${r.exitCode === 0 ? 'told it to replace the other tasks at once (--update-parallelism 0; the next deploy sets it back)' : `could not unblock it: ${r.stderr.trim()}`}`);
    }
    let failed = judgements.filter((j) => j.status === 'failed');
    if (failed.some((j) => /another service holds/.test(j.text))) {
      // name the services that hold the port: one more look, with the swarm's service specs
      const specs = await exec(ctx, allServiceSpecs());
      if (specs.exitCode === 0) {
        const portOwners = hostPortOwners(ctx.release.stackName, specs.stdout);
        const again = await observe(ctx, o.intended, { rollingBack: o.rollingBack, tasksBefore: ctx.state.tasksBefore, unplacedSince, now, portOwners });
        if (again.some((j) => j.status === 'failed')) failed = again.filter((j) => j.status === 'failed');
      }
    }
    if (failed.length) return { kind: 'failed', why: failed.map((j) => j.text).join('; ') };
    if (judgements.every((j) => j.status === 'converged')) return { kind: 'converged', degraded: judgements.filter((j) => j.degraded) };
    if (Date.now() >= deadline) {
      return { kind: 'timeout', why: `not converged after ${o.timeoutSeconds}s: ${judgements.filter((j) => j.status !== 'converged').map((j) => j.text).join('; ')}` };
    }
    if (o.stop()) return { kind: 'stopped' };
    await ctx.interrupt.sleep(POLL_MS);
    if (o.stop()) return { kind: 'stopped' };
  }
}

export async function run(ctx: Ctx, handle: StepHandle): Promise<void> {
  const outcome = await waitForConvergence(ctx, {
    intended: intendedImages(ctx.release.stackName, ctx.release.serviceImages),
    timeoutSeconds: ctx.cfg.cluster.DEPLOY_CONVERGE_TIMEOUT,
    handle,
    stop: () => ctx.interrupt.requested,
  });
  if (outcome.kind === 'stopped') ctx.interrupt.check();
  if (outcome.kind === 'failed' || outcome.kind === 'timeout') throw new DeployFailed(`the stack did not converge: ${outcome.why}`);
  if (outcome.kind === 'converged' && outcome.degraded.length) {
    ctx.state.degraded = degradedText(ctx, outcome.degraded);
    ctx.reporter.warn(`converged ${ctx.state.degraded}`);
  }
}
