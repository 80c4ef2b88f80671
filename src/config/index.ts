import path from 'node:path';
import type { core } from 'zod/mini';
import { ConfigError } from '../errors.js';
import { findHooks, type Hook } from './hook-files.js';
import { ENV_FILES, type EnvFileName } from './files.js';
import { createMissingFiles, ensureDeployDir, loadRawConfig, whatToFill, type RawConfig, type RawEnvFile } from './load.js';
import { RULES, nearestKey, budgetWarning, connectionBudget, shown, storageBackend, type ConnectionBudget, type StorageBackend } from './rules.js';
import { NOT_SET, clusterSchema, prodSchema, registrySchema, type ClusterConfig, type ProdConfig, type RegistryConfig } from './schema.js';

export interface SecretFile {
  key: string;
  file: string;
  path: string;
  data: Buffer;
}

export interface Config {
  deployDir: string;
  cluster: ClusterConfig;
  registry: RegistryConfig;
  prod: ProdConfig;
  /** prod.env as written (keys in file order, empty values kept): what the services receive */
  prodEnv: Record<string, string>;
  secrets: SecretFile[];
  stack: RawConfig['stack'];
  storage: StorageBackend;
  budget: ConnectionBudget;
  /** executables in <deploy dir>/hooks/ (hooks.ts) */
  hooks: Hook[];
  warnings: string[];
}

const SCHEMAS = { 'cluster.env': clusterSchema, 'registry.env': registrySchema, 'prod.env': prodSchema } as const;

function formatIssues(raw: RawConfig, file: RawEnvFile, issues: core.$ZodIssue[]): string[] {
  const where = shown(raw, file);
  return issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const known = Object.keys(SCHEMAS[file.file].shape);
      return issue.keys.map((k) => {
        const meant = nearestKey(k, known);
        return `${where}: ${k}: is not a setting of ${file.file} — ${meant ? `did you mean ${meant}?` : 'remove it or fix its spelling'}`;
      });
    }
    const key = String(issue.path[0] ?? '(file)');
    const message = file.placeholders.has(key) ? issue.message.replace(NOT_SET, 'is still the example placeholder') : issue.message;
    return [`${where}: ${key}: ${message}`];
  });
}

/** Creates missing files from the examples and stops with the list, as `init` does. */
export function copyExamplesOrStop(deployDir: string): void {
  const created = createMissingFiles(deployDir);
  if (created.length === 0) return;
  throw new ConfigError(
    created.map((rel) => `${path.join(deployDir, rel)}: created${rel === '.gitignore' ? '' : ' from the example'} — ${whatToFill(rel)}${rel === '.gitignore' ? '' : ', then run again'}`),
  );
}

/**
 * Environment variables named like a setting of cluster.env or registry.env: the files decide, and the run says
 * so rather than ignoring them without a word.
 */
export function ignoredEnvironment(deployDir: string, env: NodeJS.ProcessEnv): string[] {
  return (['cluster.env', 'registry.env'] as const).flatMap((name) =>
    Object.keys(SCHEMAS[name].shape)
      .filter((k) => env[k] !== undefined && env[k] !== '')
      .map((k) => `environment: ${k}: is set, but ${path.join(deployDir, name)} decides (the environment does not override the deploy dir's files) — set it in ${name}, or unset it`),
  );
}

/** Everything the deploy needs from the deploy dir, validated; all problems at once. No network, no docker. */
export function loadConfig(deployDir: string, env: NodeJS.ProcessEnv = process.env, opts: { readOnly?: boolean } = {}): Config {
  ensureDeployDir(deployDir);
  copyExamplesOrStop(deployDir);
  const raw = loadRawConfig(deployDir);
  const problems: string[] = [];
  const parsed: Partial<Record<EnvFileName, unknown>> = {};
  for (const name of ENV_FILES) {
    const file = raw.env[name];
    // placeholders count as unset; a required key then reports "still the example placeholder"
    const result = SCHEMAS[name].safeParse(file.values);
    if (result.success) parsed[name] = result.data;
    else problems.push(...formatIssues(raw, file, result.error.issues));
    if (name !== 'prod.env') {
      for (const key of file.placeholders) {
        if (!(key in SCHEMAS[name].shape)) problems.push(`${shown(raw, file)}: ${key}: is not a setting of ${name} — remove it or fix its spelling`);
      }
    }
  }
  for (const rule of RULES) problems.push(...rule(raw));
  // hooks matter to the commands that change something: a read-only command is not stopped by them
  const hooks = findHooks(deployDir);
  if (!opts.readOnly) problems.push(...hooks.problems);
  // a read-only command (status, releases, logs, dozzle, doctor, unlock) needs no prod.env: its problems are said,
  // not in its way (a deploy stops on them)
  const prodFile = `${shown(raw, raw.env['prod.env'])}: `;
  const skipped = opts.readOnly ? problems.filter((p) => p.startsWith(prodFile)) : [];
  const blocking = problems.filter((p) => !skipped.includes(p));
  if (blocking.length) throw new ConfigError(blocking);

  const cluster = parsed['cluster.env'] as ClusterConfig;
  // a read-only command with a prod.env that does not validate: what it says is read as written, defaults aside
  const prod = (parsed['prod.env'] ?? prodSchema.safeParse({}).data ?? {}) as ProdConfig;
  const budget = connectionBudget(cluster.API_REPLICAS, cluster.WORKER_REPLICAS, prod.DB_MAX_OPEN_CONNS!, prod.DB_CONNECTION_LIMIT);
  const warning = budgetWarning(budget);
  return {
    deployDir,
    cluster,
    registry: parsed['registry.env'] as RegistryConfig,
    prod,
    prodEnv: raw.env['prod.env'].all,
    secrets: raw.secrets.map((s) => ({ key: s.spec.key, file: s.spec.file, path: s.path, data: s.data })),
    stack: raw.stack,
    storage: storageBackend(raw),
    budget,
    hooks: hooks.hooks,
    warnings: [...(warning ? [warning] : []), ...ignoredEnvironment(deployDir, env), ...skipped.map((p) => `${p} (not needed here; a deploy stops on it)`)],
  };
}
