/**
 * Fetching the values secrets.env refers to: once per run, side by side, before anything on the cluster is
 * touched, each program bounded by DEPLOY_SECRET_TIMEOUT. The values live only in this process's memory — to
 * docker by stdin as any secret, never in argv, a file, the plan, a log line, the audit, a record, a hook's
 * environment or an error message — and the redactor learns every one. A reference that fails stops the run with
 * exit 2, naming the name, the reference and what to do, with the program's own stderr (redacted).
 */
import fs from 'node:fs';
import path from 'node:path';
import { local, type Command } from '../commands/command.js';
import type { Config } from '../config/index.js';
import { SECRET_MAX_BYTES } from '../config/files.js';
import { prodSchema } from '../config/schema.js';
import { commandHolds } from '../config/shell-words.js';
import { ConfigError } from '../errors.js';
import { fileWith } from '../io/file-access.js';
import type { LocalRunner } from '../io/local.js';
import { MIN_REDACTED_LENGTH, type Redactor } from '../ui/redact.js';
import { PROGRAMS, SECRETS_ENV, valueOf, type Reference } from './references.js';

/** The command value that fetches one reference: on the laptop, no shell, no stdin. */
export function fetchCommand(ref: Reference): Command {
  return local(ref.argv);
}

/** Whether a program can be found on PATH as the OS would find it (no program is run). */
export function onPath(program: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (program.includes('/')) return isExecutable(program);
  return (env.PATH ?? '').split(path.delimiter).filter(Boolean).some((dir) => isExecutable(path.join(dir, program)));
}

function isExecutable(file: string): boolean {
  return fileWith(file, fs.constants.X_OK);
}

/** What the plan can check without reading a secret: the program is there (the reference and an age file were checked when the config loaded). */
export function referenceProblems(refs: readonly Reference[], env: NodeJS.ProcessEnv = process.env, ageIdentity?: string): string[] {
  const problems: string[] = [];
  for (const r of refs) {
    const where = `${SECRETS_ENV}: ${r.name} (${r.ref})`;
    if (!onPath(r.argv[0]!, env)) problems.push(`${where}: ${r.argv[0]} is not installed or not on PATH — ${r.kind === 'cmd' ? `install ${r.argv[0]} or fix the command` : PROGRAMS[r.kind].install}`);
    if (r.kind === 'age' && ageIdentity && !fs.existsSync(ageIdentity)) problems.push(`${where}: the age identity ${ageIdentity} does not exist — set DEPLOY_AGE_IDENTITY (or --age-identity) to your age key file`);
  }
  return problems;
}

/** Where a value comes from, in words, for the plan. */
export function describeSource(r: Reference): string {
  const how = r.kind === 'op' ? '1Password, `op read`' : r.kind === 'pass' ? 'pass, `pass show`' : r.kind === 'age' ? 'an age file, `age --decrypt`' : `the program ${r.argv[0]}, its standard output`;
  return `${r.ref} (${how})`;
}

export interface Fetched {
  ref: Reference;
  value: Buffer;
}

/** What failed, in words: the program missing, not signed in, no such item, nothing printed, too slow. */
function failure(r: Reference, result: { exitCode: number; stderr: string; timedOut?: boolean }, timeoutSeconds: number, redactor: Redactor): string {
  const where = `${SECRETS_ENV}: ${r.name}: ${r.ref}`;
  const program = r.argv[0]!;
  const advice = r.kind === 'cmd' ? `run \`${r.ref.slice(4).trim()}\` yourself to see why` : PROGRAMS[r.kind].signIn;
  if (result.timedOut) return `${where}: ${program} did not answer within ${timeoutSeconds}s (DEPLOY_SECRET_TIMEOUT) and was stopped — ${r.kind === 'op' ? 'is the 1Password app waiting for you to approve (Touch ID)? ' : ''}${advice}`;
  const said = redactor.redact(result.stderr.trim().split('\n').slice(-3).join(' | '));
  if (result.exitCode === 127 && /not installed or not on PATH|ENOENT/.test(result.stderr)) return `${where}: ${program} is not installed or not on PATH — ${r.kind === 'cmd' ? `install ${program} or fix the command` : PROGRAMS[r.kind].install}`;
  return `${where}: ${program} exited with ${result.exitCode}${said ? `: ${said}` : ''} — ${advice}`;
}

/**
 * Fetches every reference side by side. All failures are reported at once (exit 2); nothing is returned then.
 * Each fetched value is taught to the redactor before anything else sees it.
 */
export async function fetchAll(refs: readonly Reference[], o: { local: LocalRunner; timeoutSeconds: number; redactor: Redactor }): Promise<Fetched[]> {
  const results = await Promise.all(
    refs.map(async (ref) => {
      const r = await o.local.run(fetchCommand(ref), { timeoutMs: o.timeoutSeconds * 1000, bytes: true });
      if (r.exitCode === 0 && !r.timedOut) {
        const value = valueOf(ref.kind, r.stdoutBytes ?? Buffer.alloc(0));
        if (value.length) o.redactor.add(value);
        return { ref, value };
      }
      return { ref, problem: failure(ref, r, o.timeoutSeconds, o.redactor) };
    }),
  );
  const problems = results.flatMap((x) => ('problem' in x ? [x.problem!] : []));
  for (const x of results) if (!('problem' in x) && x.value.length === 0) problems.push(`${SECRETS_ENV}: ${x.ref.name}: ${x.ref.ref}: printed nothing — an empty value cannot be deployed; check the entry (or field) it names`);
  if (problems.length) throw new ConfigError(problems);
  return results as Fetched[];
}

/** The checks a value gets once it is fetched, as a file's or an env file's would have (exit 2, value never shown). */
export function valueProblems(cfg: Config, fetched: readonly Fetched[]): string[] {
  const problems: string[] = [];
  for (const { ref, value } of fetched) {
    const where = `${SECRETS_ENV}: ${ref.name}: ${ref.ref}`;
    if (value.toString('utf8').trim().length < MIN_REDACTED_LENGTH) problems.push(`${where}: the value is shorter than ${MIN_REDACTED_LENGTH} characters, too short to be redacted reliably from the output — use a real, longer credential`);
    if (ref.target === 'secret' && value.length >= SECRET_MAX_BYTES) problems.push(`${where}: the value is ${value.length} bytes; swarm secrets must be under 500 KB (${SECRET_MAX_BYTES} bytes)`);
    if (ref.target !== 'secret' && /[\r\n\0]/.test(value.toString('utf8'))) problems.push(`${where}: the value spans several lines (or holds a NUL), which ${ref.target === 'registry' ? 'docker login' : 'docker\'s env files'} cannot carry — store it on one line`);
  }
  // the pre-deploy job's command is argv on the manager: no fetched value may be in it (as written or as run)
  const migrate = cfg.cluster.DEPLOY_MIGRATE_COMMAND;
  if (migrate) {
    const hit = fetched.find(({ value }) => {
      const v = value.toString('utf8').trim();
      return v.length >= MIN_REDACTED_LENGTH && commandHolds(migrate, v);
    });
    if (hit) problems.push(`cluster.env: DEPLOY_MIGRATE_COMMAND: holds the value of ${hit.ref.name} (${hit.ref.ref}) — the command is argv on the manager and part of the job's spec: let the job read the secret from /run/secrets/<name> instead`);
  }
  return problems;
}

/** Puts the fetched values in their places: a secret's bytes, the registry token, a prod.env value. */
export function applyFetched(cfg: Config, fetched: readonly Fetched[]): void {
  for (const { ref, value } of fetched) {
    if (ref.target === 'secret') {
      const s = cfg.secrets.find((x) => x.key === ref.name);
      if (s) s.data = value;
    } else if (ref.target === 'registry') {
      cfg.registry.REGISTRY_TOKEN = value.toString('utf8');
    } else {
      cfg.prodEnv[ref.name] = value.toString('utf8');
      (cfg.prod as Record<string, unknown>)[ref.name] = value.toString('utf8');
    }
  }
  cfg.resolved = true;
}

/** Fetches, checks and applies every reference of the configuration; a no-op without secrets.env. */
export async function resolveReferences(cfg: Config, o: { local: LocalRunner; timeoutSeconds: number; redactor: Redactor }): Promise<void> {
  if (cfg.resolved || !cfg.references.length) {
    cfg.resolved = true;
    return;
  }
  const fetched = await fetchAll(cfg.references, o);
  const problems = valueProblems(cfg, fetched);
  if (problems.length) throw new ConfigError(problems);
  applyFetched(cfg, fetched);
  // a prod.env value from a reference gets the check its line in prod.env would have had (never shown)
  const fromRefs = new Set(fetched.filter((f) => f.ref.target === 'prod').map((f) => f.ref.name));
  if (fromRefs.size) {
    const check = prodSchema.safeParse(Object.fromEntries(Object.entries(cfg.prodEnv).filter(([, v]) => v !== '')));
    const issues = check.success ? [] : check.error.issues.filter((i) => fromRefs.has(String(i.path[0] ?? '')));
    if (issues.length) throw new ConfigError(issues.map((i) => o.redactor.redact(`${SECRETS_ENV}: ${String(i.path[0])}: the value fetched from ${cfg.references.find((r) => r.name === String(i.path[0]))?.ref}: ${i.message}`)));
  }
}
