/**
 * Pure judgement of convergence from `docker service inspect` and `docker stack ps` JSON lines.
 * REPLICAS N/N is not success: after swarm's own auto-rollback the old image runs N/N.
 */
import { digestOf, normalizeImage, stripDigest, parseServices, parseTasks, type ServiceView, type TaskView } from './swarm-views.js';
export { digestOf, normalizeImage, stripDigest, parseServices, parseTasks, type ServiceView, type TaskView };
import { blame, capacityOf, missingNodesText, nodesShare, parseReason, type Capacity } from './capacity-eval.js';
import type { NodeView } from './nodes-eval.js';

export type ServiceStatus = 'converged' | 'waiting' | 'failed';

export interface ServiceJudgement {
  name: string;
  status: ServiceStatus;
  text: string;
  /**
   * converged on fewer replicas than wanted: every replica the nodes that take tasks can hold runs the intended image,
   * and the rest are missing only because nodes are down, drained or not yet available (or, rolling back with every
   * node up, because of a placement swarm will never make): why, with what to do
   */
  degraded?: { running: number; want: number; why?: string };
  /**
   * with nodes down, swarm's rolling update waits forever (for a replica it cannot place, or for a task it gave a node
   * that died) while tasks on the nodes that are up still run another image: why, in words; the update must be told
   * to do the rest at once
   */
  stuck?: string;
}

const FAILED_STATES = new Set(['rollback_started', 'rollback_completed', 'rollback_paused', 'paused']);

export interface JudgeOptions {
  /**
   * Waiting for a rollback: `rollback_completed` on the intended (previous) image is success. Redeploying the
   * known-good stack file after swarm's own auto-rollback changes nothing, so that state stays.
   */
  rollingBack?: boolean;
  /**
   * task IDs that existed before the update being judged (this run's stack deploy): their failures are not this
   * release's. Without it (status) no crash loop is judged: there is no update, only what runs.
   */
  tasksBefore?: ReadonlySet<string>;
  /** hostnames of the nodes that are not Ready: their tasks do not count as running */
  downNodes?: ReadonlySet<string>;
  /** how to name a node by hostname in a message: ID, hostname and address */
  describe?: (hostname: string) => string;
  /** task id -> when it was first seen waiting for placement ("no suitable node"), and the time now (ms) */
  unplacedSince?: ReadonlyMap<string, number>;
  now?: number;
  /** the swarm's nodes as listed: how many replicas the nodes that take tasks can hold */
  nodes?: NodeView[];
  /**
   * the swarm's view of its nodes has not settled yet (a leader change, a node that has just rejoined), and the
   * run still waits for it: in words. No placement is judged lost or permanent meanwhile.
   */
  settling?: string;
  /** services of other stacks holding host-mode ports (port -> names), for the words on a port in use */
  portOwners?: ReadonlyMap<number, string[]>;
}

/**
 * Reasons swarm never resolves by itself while every node is up: the task stays Pending forever. Judged after
 * PERMANENT_AFTER_MS of the same reason (a port also waits while a task of the service is still being stopped).
 */
const NEVER_BY_ITSELF = /unsupported platform|scheduling constraints not satisfied|insufficient resources|host-mode port already in use/i;
export const PERMANENT_AFTER_MS = 5_000;

/** swarm's word for a replica it cannot place: "no suitable node (… 1 node not available for new tasks)" */
const UNPLACEABLE = /no suitable node/i;

/** How a task's node is named to `downNodes` and `describe`: its ID when known, else its hostname. */
export function nodeOf(t: TaskView): string | undefined {
  return t.nodeId ?? t.node;
}

/**
 * Errors that come from a node's own state, not from the release: what the operator does about each. A node's docker
 * at times keeps the addresses of an overlay network the swarm has removed (after a stack was removed, or while its
 * daemon was killed — moby/moby#35204); the swarm gives them to a new network and that node refuses every task on it.
 */
const NODE_FAULTS: ReadonlyArray<readonly [RegExp, string]> = [
  [
    /Pool overlaps with other one on this address space|failed to allocate gateway \(.*\): Address already in use/i,
    "not the release: that node's docker still holds the addresses of a network the swarm has removed — restart docker on that node (systemctl restart docker), then deploy again",
  ],
];

/** What to do about a task error that is a node's fault, not the release's; undefined for any other error. */
export function nodeFault(error: string): string | undefined {
  return NODE_FAULTS.find(([re]) => re.test(error))?.[1];
}

/** A release whose tasks fail again and again is judged at once: this many failures, or one error seen twice. */
export const CRASH_LOOP_FAILURES = 3;

/**
 * The failures of this release's tasks of a service: a crash loop when there are 3, or the same error twice. Only
 * the tasks of the update being judged count (not in `before`); history never does.
 */
export function crashLoop(mine: TaskView[], intended: string, before: ReadonlySet<string>, describe: (hostname: string) => string = (h) => h): string | undefined {
  const failed = mine.filter((t) => t.failed && t.image === intended && !(t.id && before.has(t.id)));
  if (!failed.length) return undefined;
  // the node goes with the error: a pull denied on one node is that node's story
  const errors = failed.map((t) => `${t.error || t.state}${nodeOf(t) ? ` on node ${describe(nodeOf(t)!)}` : ''}`);
  const repeated = errors.find((e, i) => e && errors.indexOf(e) !== i);
  if (failed.length < CRASH_LOOP_FAILURES && !repeated) return undefined;
  const fault = nodeFault(repeated ?? errors[0]!);
  return `${failed.length} task${failed.length === 1 ? '' : 's'} of the new image failed (${repeated ?? errors[0]})${fault ? `: ${fault}` : ''}`;
}

export function judgeService(svc: ServiceView | undefined, name: string, intended: string, tasks: TaskView[], opts: JudgeOptions = {}): ServiceJudgement {
  if (!svc) return { name, status: 'waiting', text: `${name}: not created yet` };
  const all = tasks.filter((t) => t.service === name);
  const down = opts.downNodes ?? new Set<string>();
  // the tasks swarm wants running; the others are history (shut down, failed)
  const mine = all.filter((t) => t.desiredRunning !== false);
  // a task on a node that is down does not serve, whatever its last known state
  const running = mine.filter((t) => t.running && !(nodeOf(t) && down.has(nodeOf(t)!)));
  const unplaceable = mine.filter((t) => t.image === intended && !t.running && UNPLACEABLE.test(t.error));
  // what the nodes that take tasks can hold, and how many missing replicas are only theirs to hold
  const cap: Capacity = capacityOf(svc, opts.nodes ?? [], unplaceable.map((t) => parseReason(t.error)));
  const nodesMissing = cap.missingNodes > 0 || down.size > 0;
  // (no node list, only the nodes known to be down: at least one node is missing)
  const share = nodesShare(svc, cap.missingNodes || !down.size ? cap : { ...cap, missingNodes: 1 }, unplaceable);
  const describe = opts.describe ?? ((h: string) => h);
  const why = (error?: string) =>
    error
      ? blame(error, { svc, tasks, nodes: opts.nodes ?? [], describe, ...(opts.portOwners ? { portOwners: opts.portOwners } : {}) })
      : cap.unavailable.length
        ? missingNodesText(cap.unavailable)
        : `node(s) ${[...down].map(describe).join(', ')} are down — bring them back and swarm places the rest`;
  // placements swarm will never make while every node is up: the same reason for a while, and (for a port) no task
  // of the service still being stopped that could be holding it; with nodes missing, only replicas beyond their share
  const stopping = all.some((t) => t.running && t.desiredRunning === false);
  const permanent = opts.settling || unplaceable.length <= share
    ? []
    : unplaceable.filter((t) => {
        const since = t.id ? opts.unplacedSince?.get(t.id) : undefined;
        const long = since !== undefined && (opts.now ?? Date.now()) - since >= PERMANENT_AFTER_MS;
        return long && NEVER_BY_ITSELF.test(t.error) && !(/port already in use/i.test(t.error) && stopping);
      });
  // the same tag redeployed with new content: a task of the old content runs the tag, but not the spec's digest
  const current = (t: TaskView) => t.image === intended && (!svc.specDigest || !t.digest || t.digest === svc.specDigest);
  const onImage = running.filter(current);
  const want = svc.replicas;
  const count = `${onImage.length}/${want ?? 'global'}`;
  const rolledBackToIntended = opts.rollingBack === true && svc.updateState === 'rollback_completed' && svc.specImage === intended;
  // while a rollback is what we wait for, swarm rolling back is progress, not failure
  const rollbackInProgress = opts.rollingBack === true && svc.updateState === 'rollback_started';
  if (svc.updateState && FAILED_STATES.has(svc.updateState) && !rolledBackToIntended && !rollbackInProgress) {
    // the error of this release's task that failed (its node too: a pull denied on one node is that node's story)
    const fresh = all.filter((t) => t.error && !(t.id && opts.tasksBefore?.has(t.id)));
    // a task that failed is what made swarm give up; one still waiting for a place (a port being freed) is not
    const culprit = fresh.find((t) => t.image === intended && t.failed) ?? fresh.find((t) => t.image === intended) ?? fresh[0] ?? mine.find((t) => t.error);
    const fault = culprit ? nodeFault(culprit.error) : undefined;
    const why = culprit ? `${culprit.error}${nodeOf(culprit) ? ` on node ${(opts.describe ?? ((h: string) => h))(nodeOf(culprit)!)}` : ''}${fault ? `: ${fault}` : ''}` : undefined;
    return {
      name,
      status: 'failed',
      text: `${name}: update ${svc.updateState.replace('_', ' ')} by swarm (running ${svc.specImage})${why ? `: ${why}` : ''}`,
    };
  }
  if (!opts.rollingBack) {
    // a crash loop is judged only for an update (its tasks are those not in tasksBefore): a service that was
    // killed and restarted over its life is not crash-looping now
    const loop = opts.tasksBefore ? crashLoop(all, intended, opts.tasksBefore, opts.describe) : undefined;
    if (loop) return { name, status: 'failed', text: `${name}: ${loop}` };
    if (permanent.length) {
      return {
        name,
        status: 'failed',
        text: `${name}: ${permanent.length} replica(s) cannot be placed${nodesMissing ? '' : ' with every node up'} (${permanent[0]!.error}): ${why(permanent[0]!.error)}`,
      };
    }
  }
  if (svc.specImage !== intended) return { name, status: 'waiting', text: `${name}: spec still on ${svc.specImage}` };
  const settled = svc.updateState === undefined || svc.updateState === 'completed' || rolledBackToIntended;
  const enough = want === undefined ? onImage.length > 0 : onImage.length === want;
  if (enough && running.length === onImage.length && settled) return { name, status: 'converged', text: `${name}: ${count} ok` };
  // a node that died during the update can leave swarm's update status at "updating" for good, although every
  // replica runs the intended image on the nodes that are up: that is converged, and the text says why
  if (enough && onImage.length > 0 && running.length === onImage.length && down.size && svc.updateState === 'updating') {
    return { name, status: 'converged', text: `${name}: ${count} ok (swarm's update status stays "updating" while a node is down)` };
  }
  // nodes down, drained or not yet available: what the others can hold runs the intended image, and the rest are
  // missing only because of those nodes — the release serves on fewer replicas, whatever the run (deploy, rollback);
  // swarm places the rest when the nodes are back. Not while the swarm's view of its nodes is still settling.
  const missing = want === undefined ? 0 : want - onImage.length;
  if (!opts.settling && nodesMissing && missing > 0 && missing <= share && onImage.length > 0 && running.length === onImage.length && (!svc.updateState || !FAILED_STATES.has(svc.updateState) || rolledBackToIntended)) {
    const reason = unplaceable[0]?.error;
    return {
      name,
      status: 'converged',
      text: `${name}: ${count} (the rest cannot be placed while nodes are missing${reason ? `: ${reason}` : ''})`,
      degraded: { running: onImage.length, want: want!, why: why(reason) },
    };
  }
  // the swarm's view of its nodes is settling: replicas without a node wait for it, nothing is judged lost
  if (opts.settling && unplaceable.length) {
    return { name, status: 'waiting', text: `${name}: ${count} (waiting for the swarm's view of its nodes to settle: ${opts.settling})` };
  }
  // rolling back with every node up and a placement swarm will never make: say what serves and what blocks the rest
  if (opts.rollingBack && permanent.length && want !== undefined && running.length === onImage.length && onImage.length + permanent.length >= want) {
    if (onImage.length === 0) return { name, status: 'failed', text: `${name}: 0/${want}: no replica can be placed (${permanent[0]!.error}): ${why(permanent[0]!.error)}` };
    return {
      name,
      status: 'converged',
      text: `${name}: ${count} (the rest cannot be placed: ${permanent[0]!.error})`,
      degraded: { running: onImage.length, want, why: `the rest cannot be placed: ${why(permanent[0]!.error)}` },
    };
  }
  const err = all.find((t) => t.error && !t.running && !(t.id && opts.tasksBefore?.has(t.id)))?.error;
  const phase = svc.updateState && !settled ? ` ${svc.updateState}` : '';
  // what still runs beside the intended replicas, and where: the reason a count that looks complete is not done
  const others = running.filter((t) => !current(t));
  // swarm's rolling update waits for a task it can never get: a replica that cannot be placed while a node is down
  // (rolling back), or a new task that was handed to a node just before it died (start-first waits for it to come up
  // for good, and keeps the old task running beside the replacement that swarm placed elsewhere)
  const onDeadNode = all.some((t) => t.image === intended && !t.running && nodeOf(t) !== undefined && down.has(nodeOf(t)!) && !(t.id && opts.tasksBefore?.has(t.id)));
  const stuck = !nodesMissing || others.length === 0
    ? undefined
    : unplaceable.length > 0 && unplaceable.length <= share
      ? 'a replica cannot be placed while a node is down and the rolling update waits for it'
      : enough && onDeadNode
        ? 'every replica runs the intended image, but the rolling update still waits for a task it gave a node that is down, so the old task keeps running'
        : undefined;
  const also = others.length ? `; also running: ${others.map((t) => `${t.image.replace(/^.*\//, '')}${nodeOf(t) ? ` on ${(opts.describe ?? ((h: string) => h))(nodeOf(t)!)}` : ''}`).join(', ')}` : '';
  return { name, status: 'waiting', text: `${name}: ${count}${phase}${err ? ` (${err})` : ''}${also}`, ...(stuck ? { stuck } : {}) };
}

/** intended: full service name (<stack>_<service>) -> image without digest */
export function judgeAll(services: ServiceView[], tasks: TaskView[], intended: Record<string, string>, opts: JudgeOptions = {}): ServiceJudgement[] {
  const byName = new Map(services.map((s) => [s.name, s]));
  return Object.entries(intended).map(([name, image]) => judgeService(byName.get(name), name, normalizeImage(image), tasks, opts));
}
