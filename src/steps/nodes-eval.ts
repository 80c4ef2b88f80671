/**
 * Pure judgements about the swarm's nodes, from `docker node inspect` JSON lines: which nodes can take
 * tasks, and whether a stack's placement can succeed on them.
 */
import { stackDoc } from '../stack/services.js';

export interface NodeView {
  id: string;
  hostname: string;
  addr: string;
  role: 'manager' | 'worker';
  /** ready, down, unknown, disconnected */
  state: string;
  /** active, pause, drain */
  availability: string;
  /** managers: reachable or unreachable */
  reachability?: string;
  /** the node's labels (docker node update --label-add) */
  labels?: Record<string, string>;
  /** os/arch as images name it (linux/amd64, linux/arm64): what an image must offer to run there */
  platform?: string;
}

interface NodeJson {
  ID?: string;
  Description?: { Hostname?: string; Platform?: { Architecture?: string; OS?: string } };
  Status?: { State?: string; Addr?: string };
  Spec?: { Role?: string; Availability?: string; Labels?: Record<string, string> };
  ManagerStatus?: { Addr?: string; Reachability?: string };
}

export function parseNodes(text: string): NodeView[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => JSON.parse(l) as NodeJson)
    .map((n) => ({
      id: n.ID ?? '?',
      hostname: n.Description?.Hostname ?? '?',
      // a manager's Status.Addr may read 0.0.0.0; its advertised address is in ManagerStatus
      addr: (n.Status?.Addr && n.Status.Addr !== '0.0.0.0' ? n.Status.Addr : n.ManagerStatus?.Addr?.replace(/:\d+$/, '')) ?? '?',
      role: n.Spec?.Role === 'manager' ? 'manager' : 'worker',
      state: n.Status?.State ?? 'unknown',
      availability: n.Spec?.Availability ?? 'unknown',
      ...(n.ManagerStatus?.Reachability ? { reachability: n.ManagerStatus.Reachability } : {}),
      ...(n.Spec?.Labels && Object.keys(n.Spec.Labels).length ? { labels: n.Spec.Labels } : {}),
      ...(n.Description?.Platform?.Architecture ? { platform: imagePlatform(n.Description.Platform.OS ?? 'linux', n.Description.Platform.Architecture) } : {}),
    }));
}

/** The kernel's machine names (uname -m, what nodes report) as image platforms name them. */
const ARCH: Record<string, string> = { x86_64: 'amd64', amd64: 'amd64', aarch64: 'arm64', arm64: 'arm64', armv7l: 'arm/v7', armv6l: 'arm/v6', i386: '386', i686: '386', ppc64le: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

export function imagePlatform(os: string, arch: string): string {
  return `${os.toLowerCase()}/${ARCH[arch] ?? arch}`;
}

/** The platforms the ready nodes run, each with the nodes that run it. */
export function nodePlatforms(nodes: NodeView[]): Map<string, NodeView[]> {
  const out = new Map<string, NodeView[]>();
  for (const n of nodes.filter((x) => x.state === 'ready' && x.platform)) out.set(n.platform!, [...(out.get(n.platform!) ?? []), n]);
  return out;
}

export function usable(n: NodeView): boolean {
  return n.state === 'ready' && n.availability === 'active';
}

/** `ID (hostname, address)`: hostnames alone are not unique, the ID is. */
export function describeNode(n: NodeView): string {
  return `${n.id.slice(0, 12)} (${n.hostname}, ${n.addr})`;
}

export interface PlacementNeed {
  service: string;
  replicas: number;
  maxPerNode?: number;
  role?: 'manager' | 'worker';
}

/** What each replicated service of the rendered stack file asks of the nodes. */
export function placementNeeds(stackFile: string): PlacementNeed[] {
  const doc = stackDoc(stackFile) as {
    services?: Record<string, { ports?: unknown; deploy?: { mode?: string; replicas?: unknown; placement?: { max_replicas_per_node?: unknown; constraints?: unknown } } }>;
  };
  const needs: PlacementNeed[] = [];
  for (const [service, svc] of Object.entries(doc?.services ?? {})) {
    const d = svc?.deploy ?? {};
    if (d.mode === 'global') continue;
    const replicas = d.replicas === undefined ? 1 : Number(d.replicas);
    // a port published in host mode is bound on the node itself: one task per node
    const hostPort = Array.isArray(svc?.ports) && svc.ports.some((p) => typeof p === 'object' && p !== null && (p as { mode?: string }).mode === 'host');
    const limit = d.placement?.max_replicas_per_node === undefined ? undefined : Number(d.placement.max_replicas_per_node);
    const maxPerNode = hostPort ? 1 : limit;
    const constraints = Array.isArray(d.placement?.constraints) ? d.placement.constraints.map(String) : [];
    const role = constraints.map((c) => /^node\.role\s*==\s*(manager|worker)$/.exec(c.trim())?.[1]).find(Boolean) as PlacementNeed['role'];
    needs.push({ service, replicas, maxPerNode, role });
  }
  return needs;
}

function capacityFor(n: PlacementNeed, candidates: NodeView[]): number {
  return n.maxPerNode === undefined || n.maxPerNode === 0 ? (candidates.length ? Infinity : 0) : n.maxPerNode * candidates.length;
}

/**
 * Services whose replicas could not all be placed even with every node up and active; one line each. Those that do not
 * fit only because nodes are down or drained are `shortPlacements`.
 */
export function impossiblePlacements(needs: PlacementNeed[], nodes: NodeView[]): string[] {
  const problems: string[] = [];
  for (const n of needs) {
    const candidates = nodes.filter((x) => !n.role || x.role === n.role);
    const capacity = capacityFor(n, candidates);
    if (n.replicas > 0 && n.replicas > capacity) {
      const limit = n.maxPerNode ? ` with at most ${n.maxPerNode} per node (max_replicas_per_node, or a port published in host mode)` : '';
      problems.push(`${n.service}: ${n.replicas} replica(s)${limit} need more than the ${candidates.length} ${n.role ?? ''}${n.role ? ' ' : ''}node(s) of the swarm can take, even with every one of them up and active (at most ${capacity})`);
    }
  }
  return problems;
}

/**
 * Services that fit the swarm, but not the nodes that take tasks now (some are down or drained): they will run on fewer
 * replicas until those nodes are back. One line each, naming the nodes.
 */
export function shortPlacements(needs: PlacementNeed[], nodes: NodeView[]): string[] {
  const out: string[] = [];
  for (const n of needs) {
    const candidates = nodes.filter((x) => !n.role || x.role === n.role);
    const live = candidates.filter(usable);
    const capacity = capacityFor(n, live);
    if (n.replicas > 0 && n.replicas > capacity && n.replicas <= capacityFor(n, candidates)) {
      const missing = candidates.filter((x) => !usable(x)).map((x) => `${describeNode(x)} is ${x.state === 'ready' ? x.availability : x.state}`);
      out.push(`${n.service}: ${n.replicas} replica(s) fit the swarm, but the ${live.length} node(s) that take tasks now hold at most ${capacity} (node ${missing.join(', node ')}): it will serve on ${capacity} until swarm places the rest on the nodes when they are back`);
    }
  }
  return out;
}

/** A port a stack file publishes in host mode: bound on the node itself. */
export interface HostPort {
  service: string;
  port: number;
  protocol: string;
}

/** The host-mode ports the rendered stack file publishes (long syntax; the short syntax is always ingress). */
export function hostPorts(stackFile: string): HostPort[] {
  const doc = stackDoc(stackFile) as { services?: Record<string, { ports?: unknown }> };
  const out: HostPort[] = [];
  for (const [service, svc] of Object.entries(doc?.services ?? {})) {
    for (const p of Array.isArray(svc?.ports) ? svc.ports : []) {
      const q = p as { mode?: string; published?: unknown; protocol?: string };
      if (typeof p === 'object' && p !== null && q.mode === 'host' && q.published !== undefined) out.push({ service, port: Number(q.published), protocol: q.protocol ?? 'tcp' });
    }
  }
  return out;
}

interface ServiceSpecJson {
  Name?: string;
  Labels?: Record<string, string>;
  EndpointSpec?: { Ports?: Array<{ PublishedPort?: number; Protocol?: string; PublishMode?: string }> };
}

/**
 * Host-mode ports of this stack that a service of another stack (or no stack) already holds: swarm would wait
 * forever on "host-mode port already in use". One line each, naming that service.
 */
export function hostPortConflicts(stack: string, stackFile: string, specsJson: string): string[] {
  const wanted = hostPorts(stackFile);
  const problems: string[] = [];
  for (const line of specsJson.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('{'))) {
    const spec = JSON.parse(line) as ServiceSpecJson;
    if (spec.Labels?.['com.docker.stack.namespace'] === stack) continue;
    for (const p of spec.EndpointSpec?.Ports ?? []) {
      if (p.PublishMode !== 'host') continue;
      for (const w of wanted.filter((x) => x.port === p.PublishedPort && x.protocol === (p.Protocol ?? 'tcp'))) {
        const owner = spec.Labels?.['com.docker.stack.namespace'];
        problems.push(`${w.service}: publishes ${w.port}/${w.protocol} in host mode, which the service ${spec.Name}${owner ? ` (stack ${owner})` : ''} already holds on the nodes — swarm would never place the task; free the port (docker service update --publish-rm ${w.port} ${spec.Name}, or remove that service) or publish another one`);
      }
    }
  }
  return problems;
}

/** Host-mode ports held by services of other stacks (or of none): port -> `service (stack …)`. */
export function hostPortOwners(stack: string, specsJson: string): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const line of specsJson.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('{'))) {
    const spec = JSON.parse(line) as ServiceSpecJson;
    const owner = spec.Labels?.['com.docker.stack.namespace'];
    if (owner === stack) continue;
    for (const p of spec.EndpointSpec?.Ports ?? []) {
      if (p.PublishMode !== 'host' || p.PublishedPort === undefined) continue;
      out.set(p.PublishedPort, [...(out.get(p.PublishedPort) ?? []), `${spec.Name}${owner ? ` (stack ${owner})` : ''}`]);
    }
  }
  return out;
}

/** A service pinned by a node label: `node.labels.KEY == VALUE`; `volume` when it keeps data on a named volume. */
export interface LabelPin {
  service: string;
  key: string;
  value: string;
  volume: boolean;
}

export function labelPins(stackFile: string): LabelPin[] {
  const doc = stackDoc(stackFile) as { services?: Record<string, { volumes?: unknown; deploy?: { placement?: { constraints?: unknown } } }> };
  const pins: LabelPin[] = [];
  for (const [service, svc] of Object.entries(doc?.services ?? {})) {
    const constraints = Array.isArray(svc?.deploy?.placement?.constraints) ? svc.deploy.placement.constraints.map(String) : [];
    const volume = Array.isArray(svc?.volumes) && svc.volumes.some((v) => (typeof v === 'string' ? !/^[./~]/.test(v.split(':')[0]!) && v.includes(':') : (v as { type?: string }).type === 'volume'));
    for (const c of constraints) {
      const m = /^node\.labels\.([A-Za-z0-9_.-]+)\s*==\s*(\S+)$/.exec(c.trim());
      if (m) pins.push({ service, key: m[1]!, value: m[2]!, volume });
    }
  }
  return pins;
}

/**
 * Label constraints no node satisfies (swarm would wait forever), and services with a volume pinned to a label
 * that more than one node carries (their data would move with the next task): one line each, with the command.
 */
export function labelProblems(pins: LabelPin[], nodes: NodeView[]): string[] {
  const problems: string[] = [];
  for (const p of pins) {
    const carriers = nodes.filter((n) => n.labels?.[p.key] === p.value);
    const usableCarriers = carriers.filter(usable);
    const suggest = nodes.find((n) => n.role === 'manager' && usable(n)) ?? nodes.find(usable);
    if (!usableCarriers.length) {
      problems.push(
        `${p.service}: placed by node.labels.${p.key} == ${p.value}, and no ready, active node has that label${carriers.length ? ` (${carriers.map(describeNode).join(', ')} has it but is ${carriers[0]!.state}/${carriers[0]!.availability})` : ''} — ${p.volume ? 'choose the node that keeps its data and ' : ''}run \`docker node update --label-add ${p.key}=${p.value} ${suggest ? suggest.id.slice(0, 12) : '<node>'}\`${suggest ? ` (${suggest.hostname})` : ''} on a manager`,
      );
    } else if (p.volume && carriers.length > 1) {
      problems.push(
        `${p.service}: keeps its data on a volume, which is per node, and node.labels.${p.key} == ${p.value} is on ${carriers.length} nodes (${carriers.map(describeNode).join(', ')}) — keep the label on the node that holds the data and remove it from the others: ${carriers.slice(1).map((n) => `docker node update --label-rm ${p.key} ${n.id.slice(0, 12)}`).join('; ')}`,
      );
    }
  }
  return problems;
}

/** The host of a URL, without IPv6 brackets, lowercased; undefined when it does not parse. */
function urlHost(url: string): string | undefined {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * The health URL names one node directly (a manager of DEPLOY_MANAGER_HOST, or a node's address or hostname): with
 * that node down, the check fails a release that serves on the others. The warning, or undefined.
 */
export function healthUrlOnNode(url: string | undefined, hosts: Array<{ host: string; what: string }>): string | undefined {
  const host = url ? urlHost(url) : undefined;
  if (!host) return undefined;
  const hit = hosts.find((h) => h.host.replace(/^\[|\]$/g, '').toLowerCase() === host);
  if (!hit) return undefined;
  return `DEPLOY_HEALTHCHECK_URL names ${hit.what} directly (${host}): with that node down the check fails a release that serves on the other nodes — point it at the load balancer in front of the nodes`;
}
