import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { editDistance } from '../edit-distance.js';

/** What the command line passed (undefined = not given; the env var then decides). */
export interface Flags {
  dryRun?: boolean;
  skipBuild?: boolean;
  skipHealthcheck?: boolean;
  tag?: string;
  pushLatest?: boolean;
  keepSecrets?: string;
  deployDir?: string;
  context?: string;
  dockerfile?: string;
  platform?: string;
  buildArg?: string[];
  json?: boolean;
  lockWait?: string;
  sshTimeout?: string;
  ageIdentity?: string;
  secretTimeout?: string;
  maxFailedRequests?: string;
}

export interface Settings {
  dryRun: boolean;
  skipBuild: boolean;
  skipHealthcheck: boolean;
  tag?: string;
  pushLatest: boolean;
  keepSecrets: number;
  deployDir: string;
  context: string;
  dockerfile: string;
  platform?: string;
  buildArgs: string[];
  json: boolean;
  lockWaitSeconds: number;
  /** how long an SSH connection may take to finish its handshake (every hop, every manager tried) */
  sshTimeoutSeconds: number;
  /** the age identity file `age:` references are decrypted with */
  ageIdentity: string;
  /** how long each secret reference's program may take (op, pass, age, cmd:) */
  secretTimeoutSeconds: number;
  /** requests to the health URL an update may fail before the release is rolled back; undefined: only reported */
  maxFailedRequests?: number;
}

/** Docker's tag grammar; the tag also ends up in secret names, whose alphabet is the same. */
export const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

interface Source {
  flag: string;
  env: string;
}

class Collector {
  problems: string[] = [];
  where(flagGiven: boolean, s: Source): string {
    return flagGiven ? `command line: ${s.flag}` : `environment: ${s.env}`;
  }
  add(flagGiven: boolean, s: Source, message: string): void {
    this.problems.push(`${this.where(flagGiven, s)}: ${message}`);
  }
}

export function parseBoolean(text: string): boolean | undefined {
  const v = text.trim().toLowerCase();
  if (v === '1' || v === 'true' || v === 'yes') return true;
  if (v === '0' || v === 'false' || v === 'no' || v === '') return false;
  return undefined;
}

/** Every setting a person gives per run: its flag and its environment variable (the reference documents each). */
export const SETTING_SOURCES = {
  dryRun: { flag: '--dry-run', env: 'DRY_RUN' },
  skipBuild: { flag: '--skip-build', env: 'SKIP_BUILD' },
  skipHealth: { flag: '--skip-healthcheck', env: 'SKIP_HEALTHCHECK' },
  tag: { flag: '--tag', env: 'DEPLOY_TAG' },
  pushLatest: { flag: '--push-latest', env: 'PUSH_LATEST_TAG' },
  keep: { flag: '--keep-secrets', env: 'SECRET_KEEP_VERSIONS' },
  deployDir: { flag: '--deploy-dir', env: 'HONEYDUE_DEPLOY_DIR' },
  context: { flag: '--context', env: 'BUILD_CONTEXT' },
  dockerfile: { flag: '--dockerfile', env: 'DOCKERFILE' },
  platform: { flag: '--platform', env: 'DEPLOY_PLATFORM' },
  buildArgs: { flag: '--build-arg', env: 'BUILD_ARGS' },
  json: { flag: '--json', env: 'DEPLOY_JSON' },
  lockWait: { flag: '--lock-wait', env: 'DEPLOY_LOCK_WAIT' },
  sshTimeout: { flag: '--ssh-timeout', env: 'DEPLOY_SSH_TIMEOUT' },
  ageIdentity: { flag: '--age-identity', env: 'DEPLOY_AGE_IDENTITY' },
  secretTimeout: { flag: '--secret-timeout', env: 'DEPLOY_SECRET_TIMEOUT' },
  maxFailedRequests: { flag: '--max-failed-requests', env: 'DEPLOY_MAX_FAILED_REQUESTS' },
} satisfies Record<string, Source>;

export function resolveSettings(flags: Flags, env: NodeJS.ProcessEnv, opts: { plan?: boolean } = {}): Settings {
  const c = new Collector();

  const bool = (flag: boolean | undefined, s: Source, fallback: boolean): boolean => {
    if (flag !== undefined) return flag;
    const raw = env[s.env];
    if (raw === undefined) return fallback;
    const parsed = parseBoolean(raw);
    if (parsed === undefined) {
      c.add(false, s, `"${raw}" is not a yes/no value — use 1, true or yes to turn it on, 0, false or no to turn it off`);
      return fallback;
    }
    return parsed;
  };
  const text = (flag: string | undefined, s: Source): { value?: string; fromFlag: boolean } => {
    if (flag !== undefined) return { value: flag, fromFlag: true };
    const raw = env[s.env];
    return { value: raw === '' ? undefined : raw, fromFlag: false };
  };
  const wholeNumber = (flag: string | undefined, s: Source, fallback: number, min: number, why: string): number => {
    const { value, fromFlag } = text(flag, s);
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value) || Number(value) < min) {
      c.add(fromFlag, s, `"${value}" ${why}`);
      return fallback;
    }
    return Number(value);
  };

  const S = SETTING_SOURCES;

  const dryRun = opts.plan ? true : bool(flags.dryRun, S.dryRun, false);
  const skipBuild = bool(flags.skipBuild, S.skipBuild, false);
  const skipHealthcheck = bool(flags.skipHealthcheck, S.skipHealth, false);
  const pushLatest = bool(flags.pushLatest, S.pushLatest, false);
  const json = bool(flags.json, S.json, false);

  const tag = text(flags.tag, S.tag);
  if (tag.value !== undefined && !TAG_PATTERN.test(tag.value)) {
    c.add(tag.fromFlag, S.tag, `"${tag.value}" is not a valid image tag — use letters, digits, _, . and -, starting with a letter, digit or _, at most 128 characters`);
  }

  const keepSecrets = wholeNumber(flags.keepSecrets, S.keep, 3, 2, 'must be a whole number of at least 2 — rolling back needs the previous version of every secret');
  const sshTimeoutSeconds = wholeNumber(flags.sshTimeout, S.sshTimeout, 20, 1, 'is not a number of seconds — use a whole number, 1 or more');
  const lockWaitSeconds = wholeNumber(flags.lockWait, S.lockWait, 0, 0, 'is not a number of seconds — use a whole number, 0 or more');
  const secretTimeoutSeconds = wholeNumber(flags.secretTimeout, S.secretTimeout, 30, 1, 'is not a number of seconds — use a whole number, 1 or more');
  const budget = text(flags.maxFailedRequests, S.maxFailedRequests);
  const maxFailedRequests = budget.value === undefined ? undefined : wholeNumber(flags.maxFailedRequests, S.maxFailedRequests, 0, 0, 'is not a number of requests — use a whole number, 0 or more (0: no failed request allowed)');
  const ageIdentity = defaultAgeIdentity(text(flags.ageIdentity, S.ageIdentity).value, env);

  const deployDir = text(flags.deployDir, S.deployDir).value ?? 'deploy';
  const context = text(flags.context, S.context).value ?? '.';
  const dockerfile = text(flags.dockerfile, S.dockerfile).value ?? path.join(context, 'Dockerfile');
  const platform = text(flags.platform, S.platform).value;

  const argsFromFlag = flags.buildArg !== undefined && flags.buildArg.length > 0;
  const buildArgs = argsFromFlag ? flags.buildArg! : (env.BUILD_ARGS ?? '').split(/\s+/).filter(Boolean);
  for (const arg of buildArgs) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(arg)) c.add(argsFromFlag, S.buildArgs, `"${arg}" is not KEY=VALUE — write build arguments as NAME=value`);
  }

  const pushLatestFromFlag = flags.pushLatest !== undefined;
  if (skipBuild && pushLatest) {
    c.add(pushLatestFromFlag, S.pushLatest, 'conflicts with SKIP_BUILD (--skip-build): nothing is built or pushed, so no :latest tag can be pushed — drop one of the two');
  }
  if (skipBuild && buildArgs.length > 0) {
    c.add(argsFromFlag, S.buildArgs, 'conflicts with SKIP_BUILD (--skip-build): nothing is built — drop one of the two');
  }
  if (json && !dryRun) {
    c.add(flags.json !== undefined, S.json, 'only applies to the plan — use `honeydue-deploy plan --json` or add --dry-run');
  }

  if (c.problems.length) throw new ConfigError(c.problems);
  return {
    dryRun, skipBuild, skipHealthcheck, pushLatest, json, keepSecrets, lockWaitSeconds, sshTimeoutSeconds, ageIdentity, secretTimeoutSeconds,
    ...(maxFailedRequests !== undefined ? { maxFailedRequests } : {}),
    tag: tag.value, deployDir, context, dockerfile, platform, buildArgs,
  };
}

/** DEPLOY_AGE_IDENTITY (or --age-identity), else age's own default, ~/.config/age/keys.txt; `~/` is the home folder. */
export function defaultAgeIdentity(given: string | undefined, env: NodeJS.ProcessEnv): string {
  const home = env.HOME || os.homedir();
  if (given === undefined) return path.join(home, '.config', 'age', 'keys.txt');
  return given.startsWith('~/') ? path.join(home, given.slice(2)) : path.resolve(given);
}

/** The yes/no toggles a person sets in the environment for one run (the seed's own names). */
export const TOGGLES = ['DRY_RUN', 'SKIP_BUILD', 'SKIP_HEALTHCHECK', 'PUSH_LATEST_TAG'] as const;

/**
 * Environment variables one typo from a toggle (DRYRUN, DRY-RUN, dry_run, SKIPBUILD, DRY_RUNN, …): a real run would
 * go on as if the toggle were unset — `DRYRUN=1` would deploy for real. Each is named with the toggle it resembles.
 */
export function toggleTypos(env: NodeJS.ProcessEnv): string[] {
  const squash = (k: string) => k.toUpperCase().replace(/[^A-Z0-9]/g, '');
  const problems: string[] = [];
  for (const key of Object.keys(env)) {
    if ((TOGGLES as readonly string[]).includes(key)) continue;
    const meant = TOGGLES.find((t) => squash(key) === squash(t) || (key.length >= 6 && editDistance(key.toUpperCase(), t) === 1));
    if (meant) problems.push(`environment: ${key}: is not a setting — did you mean ${meant}? (as written it does nothing: unset it, and set ${meant}=${env[key] ?? ''} if that is what you meant)`);
  }
  return problems;
}

/** A deploy id as the tool makes them: a tag, `_`, and a 14-digit UTC stamp. */
export const DEPLOY_ID_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}_\d{14}$/;
