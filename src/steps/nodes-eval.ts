/**
 * Pure judgements about the swarm's nodes, from `docker node inspect` JSON lines: which nodes can take
 * tasks, and whether a stack's placement can succeed on them.
 */
import YAML from 'yaml';

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
}

interface NodeJson {
  ID?: string;
  Description?: { Hostname?: string };
  Status?: { State?: string; Addr?: string };
  Spec?: { Role?: string; Availability?: string };
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
    }));
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
  const doc = YAML.parse(stackFile, { merge: true }) as {
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

/** Services whose replicas cannot all be placed on the usable nodes; one line each. */
export function impossiblePlacements(needs: PlacementNeed[], nodes: NodeView[]): string[] {
  const problems: string[] = [];
  for (const n of needs) {
    const candidates = nodes.filter((x) => usable(x) && (!n.role || x.role === n.role));
    const capacity = n.maxPerNode === undefined || n.maxPerNode === 0 ? (candidates.length ? Infinity : 0) : n.maxPerNode * candidates.length;
    if (n.replicas > 0 && n.replicas > capacity) {
      const limit = n.maxPerNode ? ` with at most ${n.maxPerNode} per node (max_replicas_per_node, or a port published in host mode)` : '';
      problems.push(`${n.service}: ${n.replicas} replica(s)${limit} need more than the ${candidates.length} ready and active ${n.role ?? ''}${n.role ? ' ' : ''}node(s) can take (at most ${capacity})`);
    }
  }
  return problems;
}
