/**
 * Stacks that cost users answers during an update, read from the rendered stack file: each a warning naming the
 * service and the fix, in the plan (before the deploy) and in `doctor` (of the release that serves).
 */
import { yamlMap, type YamlMap } from './services.js';

/** How long the app's own services drain before they stop (the seed's stop_grace_period for api, worker and admin). */
export const APP_DRAIN_SECONDS = 60;
const APP = new Set(['api', 'worker', 'admin']);

/** A compose duration (`60s`, `1m30s`, `500ms`, a bare number of seconds) in seconds; undefined when unreadable. */
export function seconds(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return undefined;
  const parts = [...v.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|ns)/g)];
  if (!parts.length) return /^\d+$/.test(v) ? Number(v) : undefined;
  const unit: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001, us: 1e-6, ns: 1e-9 };
  return parts.reduce((sum, p) => sum + Number(p[1]) * unit[p[2]!]!, 0);
}

interface Port {
  published?: unknown;
  mode?: unknown;
}

function publishedPorts(svc: YamlMap): Port[] {
  const ports = Array.isArray(svc.ports) ? svc.ports : [];
  return ports.map((p) => (typeof p === 'object' && p ? (p as Port) : { published: String(p).split(':').at(-2) ?? String(p) }));
}

/** The warnings for one rendered stack file (parsed): none for a stack that updates without a gap. */
export function downtimeWarnings(doc: unknown, stackName?: string): string[] {
  const warnings: string[] = [];
  const services = yamlMap(yamlMap(doc).services);
  for (const [name, raw] of Object.entries(services)) {
    const svc = yamlMap(raw);
    const deploy = yamlMap(svc.deploy);
    const update = yamlMap(deploy.update_config);
    const ports = publishedPorts(svc);
    const shown = stackName ? `${stackName}_${name}` : name;
    const image = typeof svc.image === 'string' ? svc.image : '';
    if (image && (!/:[^/]+$/.test(image.replace(/@sha256:[0-9a-f]+$/, '')) || /:latest(@|$)/.test(image)) && !/@sha256:/.test(image)) {
      warnings.push(`${shown}: its image ${image} is ${/:latest(@|$)/.test(image) ? ':latest' : 'untagged (:latest)'}: every node may pull a different build, and a redeploy may change it without a word — pin a tag or a digest`);
    }
    if (!ports.length) continue;
    const published = ports.map((p) => String(p.published ?? '?')).join(', ');
    const hostMode = ports.some((p) => p.mode === 'host');
    if (update.order === undefined) {
      warnings.push(`${shown}: publishes ${published} and sets no update_config.order: swarm's default is stop-first, so each task stops before its replacement starts — set order: start-first`);
    } else if (update.order === 'stop-first') {
      warnings.push(
        hostMode
          ? `${shown}: publishes ${published} in host mode and is updated stop-first (two tasks cannot hold one host port on a node): users get no answer from that node while its task is replaced — accept the gap (an admin UI), or run it on more nodes than replicas (deploy.placement.max_replicas_per_node: 1) with order: start-first and a load balancer that checks each node`
          : `${shown}: publishes ${published} and is updated stop-first: each task stops before its replacement starts, a gap in answers on every update — use update_config.order: start-first`,
      );
    }
    if (svc.healthcheck === undefined || yamlMap(svc.healthcheck).disable === true) {
      warnings.push(`${shown}: publishes ${published} without a healthcheck: swarm routes to a new task as soon as it runs, before it can answer — add a healthcheck`);
    }
    const grace = seconds(svc.stop_grace_period);
    if (APP.has(name) && (grace === undefined || grace < APP_DRAIN_SECONDS)) {
      warnings.push(`${shown}: stop_grace_period is ${svc.stop_grace_period === undefined ? 'not set (docker\'s 10s)' : String(svc.stop_grace_period)}, shorter than the app's ${APP_DRAIN_SECONDS}s drain: requests still in flight are cut when the task is killed — set stop_grace_period: ${APP_DRAIN_SECONDS}s`);
    }
  }
  return warnings;
}
