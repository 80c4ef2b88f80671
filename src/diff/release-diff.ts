/**
 * What the next deploy would change against the serving known-good release: per service the image, the replicas and
 * the environment (keys added, removed, changed; values of secret-looking keys never shown), which secret files
 * changed (by the sha256 kept in the release record, never the content), and a unified diff of the stack file.
 * Both sides have their own deploy id replaced by ${DEPLOY_ID}: a deploy id is new every time, and is no change.
 */
import YAML from 'yaml';
import type { ReleaseRecord } from '../store/store.js';
import { envFilesOf, serviceEnvironment, yamlMap } from '../stack/services.js';
import { isSecretSetting, maskUrlCredentials } from '../ui/redact.js';
import { unifiedDiff } from './unified.js';

export interface EnvChange {
  key: string;
  /** absent for a secret-looking key: changed, never printed */
  from?: string;
  to?: string;
  hidden?: boolean;
}

export interface ServiceDiff {
  service: string;
  status: 'added' | 'removed' | 'changed' | 'same';
  image: { from?: string; to?: string; fromRunning?: string };
  replicas: { from?: string; to?: string };
  env: { added: string[]; removed: string[]; changed: EnvChange[] };
}

export interface SecretDiff {
  key: string;
  file: string;
  status: 'changed' | 'same' | 'added' | 'unknown';
}

export interface ReleaseDiff {
  serving?: { deployId: string; tag: string };
  next: { deployId: string; tag: string };
  services: ServiceDiff[];
  secrets: SecretDiff[];
  stackDiff: string;
  /** anything differs (an unknown secret hash does not count) */
  changed: boolean;
}

/** The side of a diff: a release as recorded (or as the next deploy would record it). */
export interface Side {
  deployId: string;
  tag: string;
  stackFile: string;
  envFile: string;
  secretHashes?: Record<string, string>;
  /** prod.env keys whose values are compared by digest, never shown */
  withheld?: string[];
}

/** A docker env file (KEY=VALUE per line) as a map. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (!line.trim() || line.trimStart().startsWith('#')) continue;
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

function normalize(text: string, deployId: string): string {
  return deployId ? text.split(deployId).join('${DEPLOY_ID}') : text;
}

interface ServiceView {
  image?: string;
  replicas?: string;
  env: Record<string, string>;
}

/** Each service of a rendered stack file with the environment it gets (its env_file prod.env, then `environment:`). */
function services(side: Side): Map<string, ServiceView> {
  const doc = yamlMap(YAML.parse(normalize(side.stackFile, side.deployId) || '{}', { merge: true }));
  const prodEnv = parseEnvFile(normalize(side.envFile, side.deployId));
  const out = new Map<string, ServiceView>();
  for (const [name, raw] of Object.entries(yamlMap(doc.services))) {
    const s = yamlMap(raw);
    const env: Record<string, string> = envFilesOf(s).includes('prod.env') ? { ...prodEnv } : {};
    for (const [k, v] of Object.entries(serviceEnvironment(s))) env[k] = v ?? '';
    const deploy = yamlMap(s.deploy);
    out.set(name, { image: s.image === undefined ? undefined : String(s.image), replicas: deploy.mode === 'global' ? 'global' : deploy.replicas === undefined ? '1' : String(deploy.replicas), env });
  }
  return out;
}

function envDiff(from: Record<string, string>, to: Record<string, string>, hidden: ReadonlySet<string> = new Set()): ServiceDiff['env'] {
  const added = Object.keys(to).filter((k) => !(k in from)).sort();
  const removed = Object.keys(from).filter((k) => !(k in to)).sort();
  const changed = Object.keys(to)
    .filter((k) => k in from && from[k] !== to[k])
    .sort()
    .map((key) => (isSecretSetting(key) || hidden.has(key) ? { key, hidden: true } : { key, from: maskUrlCredentials(from[key]!), to: maskUrlCredentials(to[key]!) }));
  return { added, removed, changed };
}

/**
 * The diff. `running`: the image each service of the stack runs now (with its digest), when it could be read;
 * `secretFiles`: the secret keys of the deploy dir and their files.
 */
export function releaseDiff(serving: Side | undefined, next: Side, stackName: string, secretFiles: Array<{ key: string; file: string }>, running: Record<string, string> = {}): ReleaseDiff {
  const before = serving ? services(serving) : new Map<string, ServiceView>();
  const after = services(next);
  const names = [...new Set([...after.keys(), ...before.keys()])];
  const svc: ServiceDiff[] = names.map((service) => {
    const a = before.get(service);
    const b = after.get(service);
    const env = envDiff(a?.env ?? {}, b?.env ?? {}, new Set([...(serving?.withheld ?? []), ...(next.withheld ?? [])]));
    const status = !a ? 'added' : !b ? 'removed' : a.image !== b.image || a.replicas !== b.replicas || env.added.length || env.removed.length || env.changed.length ? 'changed' : 'same';
    const live = running[`${stackName}_${service}`];
    return { service, status, image: { from: a?.image, to: b?.image, ...(live && a ? { fromRunning: live } : {}) }, replicas: { from: a?.replicas, to: b?.replicas }, env };
  });
  const secrets: SecretDiff[] = secretFiles.map(({ key, file }) => {
    const was = serving?.secretHashes?.[key];
    const now = next.secretHashes?.[key];
    const status = !serving ? 'added' : !serving.secretHashes ? 'unknown' : was === undefined ? 'added' : was === now ? 'same' : 'changed';
    return { key, file, status };
  });
  const stackDiff = unifiedDiff(
    serving ? maskUrlCredentials(normalize(serving.stackFile, serving.deployId)) : '',
    maskUrlCredentials(normalize(next.stackFile, next.deployId)),
    serving ? `serving ${serving.deployId}/swarm-stack.yml` : '/dev/null',
    `next ${next.deployId}/swarm-stack.yml`,
  );
  const changed = !serving || svc.some((s) => s.status !== 'same') || secrets.some((s) => s.status === 'changed' || s.status === 'added') || stackDiff !== '';
  return { serving: serving ? { deployId: serving.deployId, tag: serving.tag } : undefined, next: { deployId: next.deployId, tag: next.tag }, services: svc, secrets, stackDiff, changed };
}

/** The diff in words, for a terminal. */
export function diffLines(d: ReleaseDiff): string[] {
  const lines: string[] = [];
  lines.push(d.serving ? `serving: ${d.serving.deployId} (tag ${d.serving.tag}); next: ${d.next.deployId} (tag ${d.next.tag}), deploy ids shown as \${DEPLOY_ID}` : `no release is serving: the next deploy (${d.next.deployId}, tag ${d.next.tag}) is the first`);
  for (const s of d.services) {
    if (s.status === 'same') {
      lines.push(`  ${s.service}: unchanged`);
      continue;
    }
    lines.push(`  ${s.service}: ${s.status}`);
    if (s.image.from !== s.image.to) lines.push(`    image: ${s.image.from ?? '-'}${s.image.fromRunning && s.image.fromRunning !== s.image.from ? ` (running ${s.image.fromRunning})` : ''} -> ${s.image.to ?? '-'}`);
    else if (s.image.fromRunning && s.image.fromRunning !== s.image.from) lines.push(`    image: ${s.image.to} (running ${s.image.fromRunning})`);
    if (s.replicas.from !== s.replicas.to) lines.push(`    replicas: ${s.replicas.from ?? '-'} -> ${s.replicas.to ?? '-'}`);
    for (const k of s.env.added) lines.push(`    env + ${k}`);
    for (const k of s.env.removed) lines.push(`    env - ${k}`);
    for (const c of s.env.changed) lines.push(c.hidden ? `    env ~ ${c.key} (changed; a secret-looking key: values not shown)` : `    env ~ ${c.key}: ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}`);
  }
  const secretLines = d.secrets.filter((s) => s.status !== 'same');
  lines.push(secretLines.length ? 'secret files:' : 'secret files: unchanged');
  for (const s of secretLines) {
    lines.push(`  ${s.file}: ${s.status === 'unknown' ? 'unknown (the serving release was recorded before secret hashes were kept)' : s.status}`);
  }
  lines.push(d.stackDiff ? 'stack file:' : 'stack file: unchanged');
  if (d.stackDiff) lines.push(...d.stackDiff.trimEnd().split('\n').map((l) => `  ${l}`));
  return lines;
}
