import fs from 'node:fs';
import path from 'node:path';
import { SshConfigError, sshResolver } from '../io/ssh-config.js';
import { commandHolds, splitCommandLine } from './shell-words.js';
import { parseManagerList } from './managers.js';
import { isSecretSetting, isSecretValue, MIN_REDACTED_LENGTH, urlCredentials } from '../ui/redact.js';
import { SECRET_MAX_BYTES, exampleOf } from './files.js';
import { MANAGER_USER_HINT, NOT_SET, prodSchema } from './schema.js';
import dotenv from 'dotenv';
import { closest } from '../edit-distance.js';
import { REFERENCE_STANDIN } from '../secrets/references.js';
import type { RawConfig, RawEnvFile, RawSecretFile } from './load.js';

/**
 * Cross-field rules. Each takes the raw files and returns problems (`FILE: KEY: what — what to do`);
 * numbers that do not parse are skipped here because the schema already reported them.
 */
export type Rule = (raw: RawConfig) => string[];

const B2_KEYS = ['B2_ENDPOINT', 'B2_KEY_ID', 'B2_APP_KEY', 'B2_BUCKET_NAME'] as const;
const SECRET_KEYS_NOT_IN_ENV = ['POSTGRES_PASSWORD', 'SECRET_KEY', 'EMAIL_HOST_PASSWORD', 'FCM_SERVER_KEY', 'APNS_AUTH_KEY'];

export function shown(raw: RawConfig, f: RawEnvFile | RawSecretFile): string {
  return path.relative(process.cwd(), f.path) || f.path;
}

function int(v: string | undefined, fallback: number): number | undefined {
  if (v === undefined) return fallback;
  return /^\d+$/.test(v) ? Number(v) : undefined;
}

export type StorageBackend = 's3' | 'local';

export function storageBackend(raw: RawConfig): StorageBackend {
  return B2_KEYS.every((k) => raw.env['prod.env'].values[k] !== undefined) ? 's3' : 'local';
}

export const b2AllOrNone: Rule = (raw) => {
  const prod = raw.env['prod.env'];
  const set = B2_KEYS.filter((k) => prod.values[k] !== undefined);
  if (set.length === 0 || set.length === B2_KEYS.length) return [];
  const missing = B2_KEYS.filter((k) => prod.values[k] === undefined);
  return [
    `${shown(raw, prod)}: ${missing.join(', ')}: missing while ${set.join(', ')} ${set.length === 1 ? 'is' : 'are'} set — set all four B2_* for S3-compatible storage, or clear all four to use the local uploads volume`,
  ];
};

export const singleWorker: Rule = (raw) => {
  const cluster = raw.env['cluster.env'];
  const n = int(cluster.values.WORKER_REPLICAS, 1);
  if (n === undefined || n <= 1) return [];
  return [
    `${shown(raw, cluster)}: WORKER_REPLICAS: ${n} replicas would each run the cron scheduler and enqueue the same periodic jobs (duplicate digests and emails) — keep WORKER_REPLICAS=1`,
  ];
};

export const noSecretsInProdEnv: Rule = (raw) => {
  const prod = raw.env['prod.env'];
  return SECRET_KEYS_NOT_IN_ENV.filter((k) => prod.values[k] !== undefined || prod.placeholders.has(k)).map(
    (k) => `${shown(raw, prod)}: ${k}: secrets do not belong in prod.env — put it in secrets/${k.toLowerCase()}${k === 'APNS_AUTH_KEY' ? '.p8' : '.txt'} and remove the line`,
  );
};

export const envValuesOnOneLine: Rule = (raw) => {
  const prod = raw.env['prod.env'];
  return Object.entries(prod.values)
    .filter(([, v]) => /[\r\n]/.test(v))
    .map(([k]) => `${shown(raw, prod)}: ${k}: spans several lines, which docker's env files cannot carry — put it on one line (or make it a secret file)`);
};

/** A value dotenv would change (cut at a `#`): say so without echoing it; quoting keeps it whole. */
export const valuesReadAsWritten: Rule = (raw) =>
  Object.values(raw.env).flatMap((f) =>
    f.altered.map((k) => `${shown(raw, f)}: ${k}: the value holds a # that the env-file syntax reads as the start of a comment, so only the part before it would be used — put the value in quotes: ${k}="…"`),
  );

/** A key set twice: the reader keeps the last line's value, silently. Say which key, on which lines. */
export const keysSetOnce: Rule = (raw) =>
  Object.values(raw.env).flatMap((f) =>
    Object.entries(f.duplicates).map(([k, lines]) => `${shown(raw, f)}: ${k}: is set ${lines.length === 2 ? 'twice' : `${lines.length} times`}, on lines ${lines.slice(0, -1).join(', ')} and ${lines.at(-1)} — keep one line (only the last one, line ${lines.at(-1)}, would be used)`),
  );

/** ` #` in an unquoted value starts a comment for the env-file reader: the value would be cut there, silently. */
export const noCommentCut: Rule = (raw) =>
  Object.values(raw.env).flatMap((f) =>
    f.commentCut
      .filter((k) => !f.duplicates[k])
      .map((k) => `${shown(raw, f)}: ${k}: the value holds " #", which the env-file syntax reads as the start of a comment, so only the part before it would be used — if the # belongs to the value, put the value in quotes: ${k}="…"; if it is a comment, put it on a line of its own`),
  );

/** The known name a typo most likely meant: within 2 edits (1 for short names), else undefined. */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  return closest(key.toUpperCase(), known, (k) => (k.length >= 6 ? 2 : 1));
}

/** prod.env keys the stack or the tool reads: its schema and the example file. */
export function knownProdKeys(): string[] {
  const example = dotenv.parse(fs.readFileSync(exampleOf('prod.env')));
  return [...new Set([...Object.keys(prodSchema.shape), ...Object.keys(example)])];
}

/** prod.env keys that neither the stack nor the tool reads: passed to the services as written (the plan lists them). */
export function unknownProdKeys(prodEnv: Record<string, string>): string[] {
  const known = new Set(knownProdKeys());
  return Object.keys(prodEnv).filter((k) => !known.has(k));
}

/** A prod.env key one typo away from a known one: the known one would silently stay at its default. */
export const nearMissKeys: Rule = (raw) => {
  const prod = raw.env['prod.env'];
  const known = knownProdKeys();
  return unknownProdKeys(prod.all).flatMap((k) => {
    const meant = nearestKey(k, known);
    return meant ? [`${shown(raw, prod)}: ${k}: is not a key the stack or the tool reads — did you mean ${meant}? (as written, ${meant} ${asWritten(meant, prod)})`] : [];
  });
};

/** What a known key is when a near-miss spelling stands in its place: set elsewhere, at its default, or not set. */
function asWritten(key: string, prod: RawEnvFile): string {
  if (prod.values[key] !== undefined) return 'is set on its own line too';
  const shape = (prodSchema.shape as Record<string, { safeParse(v: unknown): { success: boolean; data?: unknown } }>)[key];
  const r = shape?.safeParse(undefined);
  return r?.success && r.data !== undefined ? 'stays at its default' : 'is not set';
}

/**
 * Unknown prod.env keys that look like a known one cut short or run on (B2_BUCKET for B2_BUCKET_NAME): not an error
 * (prod.env passes any key to the services), a warning with did-you-mean.
 */
export function prodKeyWarnings(raw: RawConfig): string[] {
  const prod = raw.env['prod.env'];
  const known = knownProdKeys();
  return unknownProdKeys(prod.all).flatMap((k) => {
    if (nearestKey(k, known)) return [];
    const meant = known.find((x) => x.startsWith(`${k}_`) || k.startsWith(`${x}_`));
    return meant ? [`${shown(raw, prod)}: ${k}: is not a key the stack or the tool reads — did you mean ${meant}? (as written, ${meant} ${asWritten(meant, prod)}; ${k} is passed to the services as it is)`] : [];
  });
}

/** A value that starts with a quote dotenv never saw closed: read with the quote as part of it. Refused, naming the line. */
export const closedQuotes: Rule = (raw) =>
  Object.values(raw.env).flatMap((f) =>
    Object.entries(f.all)
      .filter(([, v]) => /^["'`]/.test(v))
      .map(([k, v]) => `${shown(raw, f)}:${f.lines[k] ?? '?'}: ${k}: the value starts with ${v[0]} that is never closed, so it would be read with the quote as part of it — close it (${k}=${v[0]}…${v[0]}) or remove it`),
  );

/** Placeholders the tool fills in a cluster.env value: any other ${…} would be kept as written. */
const CLUSTER_PLACEHOLDERS: Record<string, readonly string[]> = { DEPLOY_HEALTHCHECK_URL: ['DEPLOY_TAG', 'DEPLOY_ID'], DEPLOY_HEALTHCHECK_EXPECT: ['DEPLOY_TAG', 'DEPLOY_ID'] };

export const knownPlaceholders: Rule = (raw) => {
  const cluster = raw.env['cluster.env'];
  const problems: string[] = [];
  for (const [k, v] of Object.entries(cluster.values)) {
    const allowed = CLUSTER_PLACEHOLDERS[k] ?? [];
    for (const m of v.matchAll(/\$\{([^}]*)\}?/g)) {
      if (allowed.includes(m[1]!)) continue;
      problems.push(
        allowed.length
          ? `${shown(raw, cluster)}: ${k}: \${${m[1]}} is not filled in by the tool and would be kept as written — use ${allowed.map((a) => `\${${a}}`).join(' or ')}, or write the value out`
          : `${shown(raw, cluster)}: ${k}: \${${m[1]}} would be kept as written (the tool fills in no variables here) — write the value out`,
      );
    }
  }
  return problems;
};

/** Env files hold the registry token and the storage keys: owner-only, like the secret files. */
/**
 * The env-file keys that hold a secret value as written (not a reference's stand-in): the registry token, and the
 * prod.env keys whose names say secret or whose value holds a URL password. A file with none may be shared (a
 * clone of the repository gives 0644); one with any must be owner-only, and must not be tracked by git.
 */
export function literalSecrets(raw: RawConfig, name: 'registry.env' | 'prod.env' | 'cluster.env'): string[] {
  const f = raw.env[name];
  const literal = (v: string | undefined) => v !== undefined && v !== '' && v !== REFERENCE_STANDIN;
  if (name === 'registry.env') return literal(f.values.REGISTRY_TOKEN) ? ['REGISTRY_TOKEN'] : [];
  if (name === 'cluster.env') return urlCredentials(f.values.DEPLOY_HEALTHCHECK_URL, 'secret').length ? ['DEPLOY_HEALTHCHECK_URL'] : [];
  return Object.entries(f.values).filter(([k, v]) => literal(v) && isSecretValue(k, v)).map(([k]) => k);
}

export const privateEnvFiles: Rule = (raw) =>
  (['registry.env', 'prod.env'] as const).flatMap((name) => {
    const f = raw.env[name];
    const mode = fs.statSync(f.path).mode & 0o777;
    const held = literalSecrets(raw, name);
    return (mode & 0o077) === 0 || held.length === 0 ? [] : [`${shown(raw, f)}: (file): is readable by group or others (mode ${mode.toString(8).padStart(4, '0')}) and holds ${held.join(', ')} — run \`chmod 600 ${shown(raw, f)}\` (or take ${held.length === 1 ? 'it' : 'them'} from a password manager through secrets.env)`];
  });

/**
 * Every value that is redacted from the output must be long enough to be told from ordinary text; a shorter
 * one could print. Real credentials are far longer, so a short one is refused.
 */
export const secretsLongEnough: Rule = (raw) => {
  const short = (v: string | undefined) => v !== undefined && v !== REFERENCE_STANDIN && v.trim().length > 0 && v.trim().length < MIN_REDACTED_LENGTH;
  const why = `is shorter than ${MIN_REDACTED_LENGTH} characters, too short to be redacted reliably from the output — use a real, longer credential`;
  const problems: string[] = [];
  for (const s of raw.secrets) if (s.exists && !s.readError && short(s.data.toString('utf8'))) problems.push(`${shown(raw, s)}: (file): ${why}`);
  const registry = raw.env['registry.env'];
  if (short(registry.values.REGISTRY_TOKEN)) problems.push(`${shown(raw, registry)}: REGISTRY_TOKEN: ${why}`);
  const prod = raw.env['prod.env'];
  for (const [k, v] of Object.entries(prod.values)) if (isSecretSetting(k) && short(v)) problems.push(`${shown(raw, prod)}: ${k}: ${why}`);
  const cluster = raw.env['cluster.env'];
  if (urlCredentials(cluster.values.DEPLOY_HEALTHCHECK_URL, 'secret').some((c) => short(c))) problems.push(`${shown(raw, cluster)}: DEPLOY_HEALTHCHECK_URL: its password (or token) ${why}`);
  return problems;
};

export const secretFiles: Rule = (raw) => {
  const problems: string[] = [];
  for (const s of raw.secrets) {
    const where = `${shown(raw, s)}`;
    if (!s.exists) {
      problems.push(`${where}: (file): does not exist — create it with the ${s.spec.key} value (run \`honeydue-deploy init\` to copy the example)`);
      continue;
    }
    if (s.readError) {
      problems.push(`${where}: (file): ${s.readError} — make it a regular file the deploying user can read`);
      continue;
    }
    if (s.size === 0) problems.push(`${where}: (file): is empty — put the ${s.spec.key} value in it`);
    else if (s.isPlaceholder) problems.push(`${where}: (file): is still the example placeholder — replace it with the real ${s.spec.key} value`);
    if (s.size >= SECRET_MAX_BYTES) problems.push(`${where}: (file): is ${s.size} bytes; swarm secrets must be under 500 KB (${SECRET_MAX_BYTES} bytes) — shrink it`);
    if ((s.mode & 0o077) !== 0) {
      problems.push(`${where}: (file): is readable by group or others (mode ${s.mode.toString(8).padStart(4, '0')}) — run \`chmod 600 ${where}\``);
    }
  }
  return problems;
};

/** As with ssh: DEPLOY_MANAGER_USER, else the User of an ~/.ssh/config alias (of every listed manager); one of them must say who. */
export const managerUser: Rule = (raw) => {
  const cluster = raw.env['cluster.env'];
  if (cluster.values.DEPLOY_MANAGER_USER !== undefined) return [];
  const host = cluster.values.DEPLOY_MANAGER_HOST;
  const entries = host === undefined ? [] : parseManagerList(host).entries;
  const resolver = sshResolver(process.env, cluster.values.DEPLOY_SSH_CONFIG || undefined);
  try {
    if (entries.length && entries.every((e) => resolver.resolve(e.host, { port: e.port }).sources.user !== undefined)) return [];
  } catch (err) {
    if (err instanceof SshConfigError) return [err.message];
    throw err;
  }
  const state = cluster.placeholders.has('DEPLOY_MANAGER_USER') ? 'is still the example placeholder' : NOT_SET;
  return [`${shown(raw, cluster)}: DEPLOY_MANAGER_USER: ${state} — ${MANAGER_USER_HINT}`];
};

/** DEPLOY_MANAGER_HOST: one manager or several, comma-separated, each host, host:port or [v6]:port. */
export const managerList: Rule = (raw) => {
  const cluster = raw.env['cluster.env'];
  const host = cluster.values.DEPLOY_MANAGER_HOST;
  if (host === undefined) return [];
  return parseManagerList(host).problems.map(
    (p) => `${shown(raw, cluster)}: DEPLOY_MANAGER_HOST: ${p} — write the managers as host, host:port or [IPv6]:port (or ~/.ssh/config aliases), several separated by commas`,
  );
};

/** DEPLOY_MIGRATE_COMMAND is split into words as compose splits command: (no shell); what cannot be split is said. */
export const migrateCommand: Rule = (raw) => {
  const cluster = raw.env['cluster.env'];
  const text = cluster.values.DEPLOY_MIGRATE_COMMAND;
  if (text === undefined || text.trim() === '') return [];
  const split = splitCommandLine(text);
  if ('problem' in split) return [`${shown(raw, cluster)}: DEPLOY_MIGRATE_COMMAND: ${split.problem}`];
  // the command is argv on the manager and in the job's spec: a secret in it would be readable there
  const values = [
    ...raw.secrets.filter((f) => f.exists && !f.isPlaceholder).map((f) => ({ what: f.spec.file, value: f.data.toString('utf8').trim() })),
    ...Object.entries(raw.env['registry.env'].values).filter(([k]) => k === 'REGISTRY_TOKEN').map(([k, v]) => ({ what: `registry.env ${k}`, value: v ?? '' })),
  ].filter((v) => v.value.length >= 6);
  const leaked = values.find((v) => commandHolds(text, v.value));
  return leaked
    ? [`${shown(raw, cluster)}: DEPLOY_MIGRATE_COMMAND: holds the value of ${leaked.what} — the command is argv on the manager and part of the job's spec: let the job read the secret from /run/secrets/<name> instead (it gets the api's secrets)`]
    : [];
};

export const RULES: readonly Rule[] = [closedQuotes, migrateCommand, managerList, managerUser, nearMissKeys, b2AllOrNone, singleWorker, noSecretsInProdEnv, envValuesOnOneLine, keysSetOnce, noCommentCut, valuesReadAsWritten, knownPlaceholders, privateEnvFiles, secretFiles, secretsLongEnough];

export interface ConnectionBudget {
  replicas: number;
  perReplica: number;
  total: number;
  limit?: number;
}

export function connectionBudget(apiReplicas: number, workerReplicas: number, perReplica: number, limit?: number): ConnectionBudget {
  const replicas = apiReplicas + workerReplicas;
  return { replicas, perReplica, total: replicas * perReplica, limit };
}

export function budgetLine(b: ConnectionBudget): string {
  return `connection budget: (API + worker replicas) ${b.replicas} x DB_MAX_OPEN_CONNS ${b.perReplica} = ${b.total} peak open connections${b.limit ? ` (DB_CONNECTION_LIMIT ${b.limit})` : ''}`;
}

export function budgetWarning(b: ConnectionBudget): string | undefined {
  if (b.limit === undefined || b.total < b.limit) return undefined;
  return `prod.env: DB_MAX_OPEN_CONNS: the peak of ${b.total} connections reaches DB_CONNECTION_LIMIT ${b.limit}; one spike and the database refuses connections — lower DB_MAX_OPEN_CONNS (e.g. 15 on Neon's free tier) or raise the limit`;
}
