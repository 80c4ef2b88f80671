/**
 * Pure judgements of capacity: how many replicas of a service the nodes that are up can hold, which missing
 * replicas are the share of nodes that are down (or drained, or not yet reporting to the scheduler), whether the
 * swarm's view of its nodes has settled, and what swarm's "no suitable node (…)" really means for a service.
 */
import type { ServiceView, TaskView } from './swarm-views.js';
import { describeNode, usable, type NodeView } from './nodes-eval.js';

/** swarm's reason for a task it cannot place, part by part: `no suitable node (a on 2 nodes; 1 node not available …)` */
export interface PlacementReason {
  /** nodes the scheduler does not count (down, drained, paused, or not yet reporting after a rejoin or a leader change) */
  notAvailable: number;
  portInUse: number;
  resources: number;
  constraints: number;
  platform: number;
  maxReplicas: boolean;
}

export function parseReason(error: string): PlacementReason {
  const count = (re: RegExp) => {
    const m = re.exec(error);
    return m ? Number(m[1] ?? 1) : 0;
  };
  return {
    notAvailable: count(/(\d+) nodes? not available for new tasks/i),
    portInUse: count(/host-mode port already in use on (\d+) node/i),
    resources: count(/insufficient resources on (\d+) node/i),
    constraints: count(/scheduling constraints not satisfied on (\d+) node/i),
    platform: count(/unsupported platform on (\d+) node/i),
    maxReplicas: /max replicas per node/i.test(error),
  };
}

const UNPLACEABLE = /no suitable node/i;

/** A node a service may run on by its role constraint (other constraints are swarm's to judge). */
function roleAllows(svc: ServiceView, n: NodeView): boolean {
  for (const c of svc.constraints ?? []) {
    const m = /^node\.role\s*(==|!=)\s*(manager|worker)$/.exec(c.trim());
    if (m && (m[1] === '==') !== (n.role === m[2])) return false;
  }
  return true;
}

export interface Capacity {
  /** the nodes its tasks may go to */
  candidates: NodeView[];
  /** candidates that take no task now: listed down, drained or paused */
  unavailable: NodeView[];
  /** nodes the scheduler does not count, as many as swarm says (at least the ones listed) */
  missingNodes: number;
  /** replicas the nodes that take tasks can hold (Infinity: no per-node limit) */
  live: number;
  /** replicas every node could hold, were they all up */
  full: number;
}

export function capacityOf(svc: ServiceView, nodes: NodeView[], reasons: PlacementReason[] = []): Capacity {
  const candidates = nodes.filter((n) => roleAllows(svc, n));
  const unavailable = candidates.filter((n) => !usable(n));
  const missingNodes = Math.min(candidates.length, Math.max(unavailable.length, ...reasons.map((r) => r.notAvailable)));
  const perNode = svc.hostPort ? 1 : svc.maxPerNode || undefined;
  return {
    candidates,
    unavailable,
    missingNodes,
    live: perNode === undefined ? (candidates.length > missingNodes ? Infinity : 0) : perNode * (candidates.length - missingNodes),
    full: perNode === undefined ? (candidates.length ? Infinity : 0) : perNode * candidates.length,
  };
}

/**
 * The replicas of a service missing only because nodes take no task: with a per-node limit, what the live nodes
 * cannot hold (when every node up could); without one, the unplaced tasks whose only reasons are nodes not
 * available or resources (the resources the missing nodes had). 0 when no node is missing.
 */
export function nodesShare(svc: ServiceView, cap: Capacity, unplaced: TaskView[]): number {
  const want = svc.replicas;
  if (want === undefined || cap.missingNodes === 0) return 0;
  if (cap.live !== Infinity) return want <= cap.full ? Math.max(0, want - cap.live) : 0;
  const onlyNodes = unplaced.filter((t) => {
    const r = parseReason(t.error);
    return r.platform === 0 && r.constraints === 0;
  });
  return onlyNodes.length;
}

/**
 * The swarm's view of its nodes has not settled: swarm counts more nodes "not available for new tasks" than the node
 * list shows down, drained or paused — a new leader waiting for the nodes to report, or a node that has just rejoined.
 * What it says, in words; undefined when settled.
 */
export function unsettled(tasks: TaskView[], nodes: NodeView[]): string | undefined {
  if (!nodes.length) return undefined;
  const listed = nodes.filter((n) => !usable(n)).length;
  const said = Math.max(0, ...tasks.filter((t) => t.desiredRunning !== false && !t.running && UNPLACEABLE.test(t.error)).map((t) => parseReason(t.error).notAvailable));
  if (said <= listed) return undefined;
  const ready = nodes.filter(usable).length;
  return `swarm counts ${said} node(s) not available for new tasks while ${ready} of ${nodes.length} are listed Ready and Active (a new leader waiting for the nodes to report, or a node that has just rejoined)`;
}

/** Nodes that take no task, each with its state, and what to do about them. */
export function missingNodesText(nodes: NodeView[]): string {
  return `node ${nodes.map((n) => `${describeNode(n)} is ${n.state === 'ready' ? n.availability : n.state}`).join(', node ')} — bring it back (start its docker, or docker node update --availability active) and swarm places the rest, or remove it (docker node rm) and lower the replicas`;
}

export interface BlameContext {
  svc: ServiceView;
  tasks: TaskView[];
  nodes: NodeView[];
  describe: (node: string) => string;
  /** services of other stacks (or none) holding host-mode ports: port -> names */
  portOwners?: ReadonlyMap<number, string[]>;
}

function gib(bytes: number): string {
  return bytes >= 1 << 30 ? `${(bytes / (1 << 30)).toFixed(1)} GiB` : `${Math.round(bytes / (1 << 20))} MiB`;
}

/**
 * What swarm's "no suitable node (…)" means for this service, part by part, each with the action that fits: its own
 * tasks holding its host-mode port, nodes down or drained (named), nodes listed Ready that are not yet available
 * (rejoined), another service holding the port (named when known), the resources it reserves, the constraints it has.
 */
export function blame(error: string, b: BlameContext): string {
  const r = parseReason(error);
  const parts: string[] = [];
  const name = b.svc.name;
  const ownNodes = new Set(b.tasks.filter((t) => t.service === name && t.desiredRunning !== false && t.running && (t.nodeId ?? t.node)).map((t) => t.nodeId ?? t.node));
  if (r.notAvailable) {
    const down = b.nodes.filter((n) => !usable(n));
    const notYet = r.notAvailable - down.length;
    if (down.length) parts.push(missingNodesText(down));
    if (notYet > 0) parts.push(`${notYet} node(s) listed Ready are not yet available for new tasks (just rejoined, or a new leader waiting for them to report) — swarm places the rest once they report; nothing to do`);
  }
  if (r.portInUse) {
    const own = Math.min(r.portInUse, ownNodes.size);
    if (own) parts.push(`the service's own tasks hold its host-mode port on ${own} node(s) (one task per node) — more replicas need more nodes, or lower the replicas`);
    const others = r.portInUse - own;
    if (others > 0) {
      const owners = [...(b.portOwners?.entries() ?? [])].filter(([port]) => !b.svc.hostPorts || b.svc.hostPorts.includes(port)).flatMap(([, names]) => names);
      parts.push(`another service${owners.length ? ` (${[...new Set(owners)].join(', ')})` : ''} holds that host-mode port on ${others} node(s) — free it or publish another port`);
    }
  }
  if (r.resources) {
    const res = b.svc.reserves;
    const what = [res?.cpus ? `${res.cpus} CPU` : '', res?.memoryBytes ? `${gib(res.memoryBytes)} of memory` : ''].filter(Boolean).join(' and ');
    parts.push(`${r.resources} node(s) lack the ${what || 'CPU or memory'} each task reserves free — lower deploy.resources.reservations or add capacity`);
  }
  if (r.constraints) parts.push(`${r.constraints} node(s) do not meet its constraints (${(b.svc.constraints ?? []).join(', ') || 'placement constraints'}) — fix the constraint or label a node (docker node update --label-add)`);
  if (r.platform) parts.push(`${r.platform} node(s) run a platform the image does not offer — build it for theirs (DEPLOY_PLATFORM, or --platform)`);
  if (r.maxReplicas) parts.push(`max_replicas_per_node ${b.svc.maxPerNode ?? ''} is reached on the nodes that take tasks — add nodes or lower the replicas`.replace('  ', ' '));
  return parts.length ? parts.join('; ') : error;
}
