import path from 'node:path';
import type { core } from 'zod/mini';
import { ConfigError } from '../errors.js';
import { findHooks, type Hook } from './hook-files.js';
import { ENV_FILES, SECRETS, type EnvFileName } from './files.js';
import { applyReferences, readReferences, referencedSecrets, REFERENCE_STANDIN, type Reference } from '../secrets/references.js';
import { defaultAgeIdentity } from './settings.js';
import { createMissingFiles, missingFiles, ensureDeployDir, loadRawConfig, whatToFill, type RawConfig, type RawEnvFile } from './load.js';
import { RULES, knownProdKeys, literalSecrets, prodKeyWarnings, nearestKey, budgetWarning, connectionBudget, shown, storageBackend, type ConnectionBudget, type StorageBackend } from './rules.js';
import { NOT_SET, clusterSchema, prodSchema, registrySchema, type ClusterConfig, type ProdConfig, type RegistryConfig } from './schema.js';

export interface SecretFile {
  key: string;
  /** where its value comes from, in words: the file (secrets/…), or `secrets.env: KEY (REFERENCE)` */
  file: string;
  path: string;
  data: Buffer;
  /** from secrets.env: the value is fetched by secrets/resolve.ts before anything on the cluster is touched */
  reference?: Reference;
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
  /** secrets.env: where values come from a password manager (empty without one) */
  references: Reference[];
  /** whether the references' values are in (secrets/resolve.ts); until then their places hold REFERENCE_STANDIN */
  resolved: boolean;
  /** per env file, the keys that hold a literal secret value (the file must then be owner-only and untracked) */
  literal: Record<'cluster.env' | 'registry.env' | 'prod.env', string[]>;
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
export function copyExamplesOrStop(deployDir: string, fromReferences: ReadonlySet<string> = new Set(), copy = true): void {
  if (!copy) {
    // a plan (and every command but a real deploy) writes nothing: it says what is missing and who creates it
    const missing = missingFiles(deployDir, fromReferences);
    if (missing.length) throw new ConfigError(missing.map((rel) => `${path.join(deployDir, rel)}: does not exist — \`honeydue-deploy init\` creates it from the example (a real deploy copies it and stops); then ${whatToFill(rel)}`));
    return;
  }
  const created = createMissingFiles(deployDir, fromReferences);
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

function shownPath(p: string): string {
  return path.relative(process.cwd(), p) || p;
}

/** Everything the deploy needs from the deploy dir, validated; all problems at once. No network, no docker. */
/**
 * `copyMissing`: only a real deploy copies a missing file from its example (and stops so it can be filled in), as the
 * original script did; a plan and the other commands write nothing and say what is missing.
 */
export function loadConfig(deployDir: string, env: NodeJS.ProcessEnv = process.env, opts: { readOnly?: boolean; ageIdentity?: string; copyMissing?: boolean } = {}): Config {
  ensureDeployDir(deployDir);
  const prodKnown = knownProdKeys();
  // a secret whose value comes from secrets.env needs no file: none is copied from the example for it (the file is
  // read and checked once, below, when prod.env's keys are known)
  copyExamplesOrStop(deployDir, referencedSecrets(deployDir), opts.copyMissing === true);
  const raw = loadRawConfig(deployDir);
  const problems: string[] = [];
  // prod.env keys may be named in secrets.env when prod.env names them (left empty) or the tool knows them
  const refs = readReferences(deployDir, [...new Set([...prodKnown, ...Object.keys(raw.env['prod.env'].all)])], opts.ageIdentity ?? defaultAgeIdentity(undefined, env), shownPath);
  problems.push(...refs.problems, ...applyReferences(raw, refs));
  const referenced = new Set(refs.refs.map((r) => r.name));
  const parsed: Partial<Record<EnvFileName, unknown>> = {};
  for (const name of ENV_FILES) {
    const file = raw.env[name];
    // placeholders count as unset; a required key then reports "still the example placeholder"
    const result = SCHEMAS[name].safeParse(file.values);
    if (result.success) parsed[name] = result.data;
    else {
      // a value from secrets.env is checked once it is fetched (secrets/resolve.ts), not its stand-in
      const issues = result.error.issues.filter((i) => !referenced.has(String(i.path[0] ?? '')));
      problems.push(...formatIssues(raw, file, issues));
      if (!issues.length) parsed[name] = SCHEMAS[name].safeParse(Object.fromEntries(Object.entries(file.values).filter(([k]) => !referenced.has(k)))).data ?? file.values;
    }
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
    secrets: SECRETS.flatMap((spec): SecretFile[] => {
      const ref = refs.refs.find((r) => r.target === 'secret' && r.name === spec.key);
      if (ref) return [{ key: spec.key, file: `${shownPath(refs.path)}: ${spec.key} (${ref.ref})`, path: refs.path, data: Buffer.from(REFERENCE_STANDIN), reference: ref }];
      const s = raw.secrets.find((x) => x.spec.key === spec.key);
      return s ? [{ key: s.spec.key, file: s.spec.file, path: s.path, data: s.data }] : [];
    }),
    stack: raw.stack,
    storage: storageBackend(raw),
    budget,
    hooks: hooks.hooks,
    references: refs.refs,
    resolved: refs.refs.length === 0,
    literal: { 'cluster.env': literalSecrets(raw, 'cluster.env'), 'registry.env': literalSecrets(raw, 'registry.env'), 'prod.env': literalSecrets(raw, 'prod.env') },
    warnings: [...prodKeyWarnings(raw), ...(warning ? [warning] : []), ...ignoredEnvironment(deployDir, env), ...skipped.map((p) => `${p} (not needed here; a deploy stops on it)`)],
  };
}
