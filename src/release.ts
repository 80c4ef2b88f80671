import crypto from 'node:crypto';
import { operatorName } from './audit.js';
import { ConfigError } from './errors.js';
import type { Builder } from './steps/builder.js';
import type { Config } from './config/index.js';
import type { GitState } from './config/repository.js';
import { SECRETS } from './config/files.js';
import type { Settings } from './config/settings.js';
import { parseStack, renderParsed, type ParsedStack, type StackVariable } from './stack/render.js';
import { CONFIG_MAX_BYTES } from './commands/store.js';
import type { ReleaseRecord } from './store/store.js';
import { DIGEST_SCHEME, recordEnv, withheldKeys, type SecretDigests } from './store/withheld.js';

export const APP_SERVICES = ['api', 'worker', 'admin'] as const;
export type AppService = (typeof APP_SERVICES)[number];

/** Docker's limit on secret names. */
export const SECRET_NAME_MAX = 64;

export interface Release {
  tag: string;
  tagSource: 'command line' | 'environment' | 'git' | 'placeholder';
  gitSha?: string;
  dirty: boolean;
  deployId: string;
  startedAt: Date;
  images: Record<AppService, string>;
  latestImages?: Record<AppService, string>;
  secretNames: Record<string, string>;
  stackName: string;
  remoteDir: string;
  releaseDir: string;
  stackFile: string;
  /** service name in the file -> image this release intends it to run */
  serviceImages: Record<string, string>;
  envFile: string;
  /** prod.env keys whose values the release record does not keep (store/withheld.ts) */
  withheld: string[];
  healthUrl?: string;
  healthExpect?: string;
  deployedBy: string;
  /** the builder found on the laptop (unset with SKIP_BUILD): the plan shows the branch that will run */
  builder?: Builder;
}

export function utcStamp(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

export function imageRef(registry: string, namespace: string | undefined, service: string, tag: string): string {
  return `${registry}${namespace ? `/${namespace}` : ''}/honeydue-${service}:${tag}`;
}

/** The working folder on the manager: release folders for `docker stack deploy`, the run's private docker config. */
export function remoteDirOf(cfg: Pick<Config, 'cluster'>): string {
  return (cfg.cluster.DEPLOY_REMOTE_DIR ?? `honeydue-deploy/${cfg.cluster.DEPLOY_STACK_NAME}`).replace(/\/+$/, '');
}

export function secretName(stack: string, key: string, deployId: string): string {
  return `${stack}_${key}_${deployId}`;
}

/** The tag a dry run shows when neither --tag nor a git repository gives one. */
export const PLACEHOLDER_TAG = 'no-tag-yet';

/** Six hex digits that differ from run to run, so two dirty builds never share a tag. */
export function dirtySuffix(now: Date): string {
  return crypto.createHash('sha256').update(`${now.toISOString()}:${process.pid}`).digest('hex').slice(0, 6);
}

export function chooseTag(settings: Settings, env: NodeJS.ProcessEnv, git: GitState, now: Date): Pick<Release, 'tag' | 'tagSource'> {
  if (settings.tag) return { tag: settings.tag, tagSource: env.DEPLOY_TAG === settings.tag ? 'environment' : 'command line' };
  if (!git.sha) {
    // a plan can be reviewed from anywhere; a real deploy must know what it ships
    if (settings.dryRun) return { tag: PLACEHOLDER_TAG, tagSource: 'placeholder' };
    throw new ConfigError(
      `command line: --context: ${settings.context} is not a git repository, so no image tag can be derived — pass --tag TAG (or DEPLOY_TAG)`,
    );
  }
  // a dirty tree must never be built under the clean commit's tag; with SKIP_BUILD nothing is built from it
  // (short: the tag is part of every secret name, which docker caps at 64 characters)
  if (git.dirty && !settings.skipBuild) return { tag: `${git.sha}-dirty-${dirtySuffix(now)}`, tagSource: 'git' };
  return { tag: git.sha, tagSource: 'git' };
}

/** Docker's env-file format: KEY=value, one per line, taken literally (no quotes, no escapes). */
export function dockerEnvFile(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${v}\n`)
    .join('');
}

/** ${DEPLOY_TAG} and ${DEPLOY_ID} in the health URL and the expected health text. */
export function expandReleaseVars(template: string | undefined, vars: { DEPLOY_TAG: string; DEPLOY_ID: string }): string | undefined {
  return template?.replace(/\$\{(DEPLOY_TAG|DEPLOY_ID)\}/g, (_, name: 'DEPLOY_TAG' | 'DEPLOY_ID') => vars[name]);
}

/**
 * The identity of a run that is not a new release (rollback, status, logs, …): the stack and its remote dir,
 * with the build fields empty. Its deploy id names the run in the lock and the audit log.
 */
export function operationRelease(cfg: Config, now: Date, what: string): Release {
  return {
    tag: what, tagSource: 'command line', dirty: false, deployId: `${what}_${utcStamp(now)}`, startedAt: now,
    stackName: cfg.cluster.DEPLOY_STACK_NAME!, remoteDir: remoteDirOf(cfg), releaseDir: '', images: { api: '', worker: '', admin: '' },
    secretNames: {}, stackFile: '', serviceImages: {}, envFile: '', withheld: [], deployedBy: operatorName(),
  };
}

/** How the stack file is named in messages: its path, or the packaged template. */
export function stackShown(cfg: Pick<Config, 'stack'>): string {
  return cfg.stack.packaged ? 'templates/swarm-stack.yml (packaged)' : cfg.stack.path;
}

/** `parsed`: the stack file already parsed (the plan parses it while git and docker answer); parsed here otherwise. */
export function buildRelease(cfg: Config, settings: Settings, env: NodeJS.ProcessEnv, git: GitState, now: Date, parsed?: ParsedStack): Release {
  const { tag, tagSource } = chooseTag(settings, env, git, now);
  const deployId = `${tag}_${utcStamp(now)}`;
  const stackName = cfg.cluster.DEPLOY_STACK_NAME!;
  const remoteDir = remoteDirOf(cfg);
  const { REGISTRY, REGISTRY_NAMESPACE } = cfg.registry;
  const images = Object.fromEntries(APP_SERVICES.map((s) => [s, imageRef(REGISTRY, REGISTRY_NAMESPACE, s, tag)])) as Record<AppService, string>;
  const latestImages = settings.pushLatest
    ? (Object.fromEntries(APP_SERVICES.map((s) => [s, imageRef(REGISTRY, REGISTRY_NAMESPACE, s, 'latest')])) as Record<AppService, string>)
    : undefined;

  const problems: string[] = [];
  const secretNames = Object.fromEntries(SECRETS.map((s) => [s.key, secretName(stackName, s.key, deployId)])) as Record<string, string>;
  const longest = Object.values(secretNames).reduce((a, b) => (b.length > a.length ? b : a));
  if (longest.length > SECRET_NAME_MAX) {
    const where = tagSource === 'git' || tagSource === 'placeholder' ? `${cfg.deployDir}/cluster.env: DEPLOY_STACK_NAME` : tagSource === 'environment' ? 'environment: DEPLOY_TAG' : 'command line: --tag';
    problems.push(`${where}: makes the secret name ${longest} ${longest.length} characters long; docker allows ${SECRET_NAME_MAX} — use a shorter tag or DEPLOY_STACK_NAME`);
  }

  const vars: Record<StackVariable, string> = {
    API_IMAGE: images.api,
    WORKER_IMAGE: images.worker,
    ADMIN_IMAGE: images.admin,
    DEPLOY_TAG: tag,
    DEPLOY_ID: deployId,
    STACK_NAME: stackName,
    API_REPLICAS: String(cfg.cluster.API_REPLICAS),
    WORKER_REPLICAS: String(cfg.cluster.WORKER_REPLICAS),
    ADMIN_REPLICAS: String(cfg.cluster.ADMIN_REPLICAS),
    DOZZLE_PORT: String(cfg.cluster.DOZZLE_PORT),
    REDIS_IMAGE: cfg.cluster.REDIS_IMAGE!,
    DOZZLE_IMAGE: cfg.cluster.DOZZLE_IMAGE!,
    POSTGRES_PASSWORD_SECRET: secretNames.postgres_password ?? '',
    SECRET_KEY_SECRET: secretNames.secret_key ?? '',
    EMAIL_HOST_PASSWORD_SECRET: secretNames.email_host_password ?? '',
    FCM_SERVER_KEY_SECRET: secretNames.fcm_server_key ?? '',
    APNS_AUTH_KEY_SECRET: secretNames.apns_auth_key ?? '',
  };
  const stack = parsed ?? parseStack(cfg.stack.text, stackShown(cfg));
  const rendered = renderParsed(stack, vars);
  problems.push(...(stack.doc.errors.length ? [] : stack.problems), ...rendered.problems);
  if (problems.length) throw new ConfigError(problems);

  const healthUrl = expandReleaseVars(cfg.cluster.DEPLOY_HEALTHCHECK_URL, { DEPLOY_TAG: tag, DEPLOY_ID: deployId });
  const healthExpect = expandReleaseVars(cfg.cluster.DEPLOY_HEALTHCHECK_EXPECT, { DEPLOY_TAG: tag, DEPLOY_ID: deployId });
  const deployedBy = operatorName();
  const release: Release = {
    tag, tagSource, gitSha: git.sha, dirty: git.dirty, deployId, startedAt: now, images, latestImages, secretNames, stackName,
    remoteDir, releaseDir: `${remoteDir}/releases/${deployId}`, stackFile: rendered.text, serviceImages: rendered.images,
    envFile: dockerEnvFile(cfg.prodEnv), withheld: withheldKeys(cfg.prodEnv, cfg.references.filter((x) => x.target === 'prod').map((x) => x.name)), healthUrl, healthExpect, deployedBy,
  };
  const tooLarge = recordTooLarge(cfg, release);
  if (tooLarge) throw new ConfigError(tooLarge);
  return release;
}

/** A digest of every secret a record may name, at its final size: what the plan measures a record with. */
function placeholderDigests(cfg: Pick<Config, 'secrets'>, r: Pick<Release, 'withheld'>): SecretDigests {
  const values = Object.fromEntries([...cfg.secrets.map((s) => s.key), ...r.withheld.map((k) => `env:${k}`)].map((k) => [k, '0'.repeat(64)]));
  return { scheme: DIGEST_SCHEME, salt: 'A'.repeat(24), values };
}

/** The record as the run will write it is measured before anything is built: swarm refuses a config of 500 KiB. */
export function recordTooLarge(cfg: Pick<Config, 'secrets' | 'deployDir' | 'prodEnv'>, r: Release): string | undefined {
  const bytes = Buffer.byteLength(JSON.stringify(releaseRecord(r, placeholderDigests(cfg, r))));
  if (bytes < CONFIG_MAX_BYTES) return undefined;
  const longest = Object.entries(cfg.prodEnv).sort((a, b) => b[1].length - a[1].length)[0];
  return `${cfg.deployDir}/prod.env: the release record would be ${bytes} bytes (the rendered stack file ${Buffer.byteLength(r.stackFile)}, prod.env ${Buffer.byteLength(r.envFile)}); swarm keeps at most ${CONFIG_MAX_BYTES - 1} bytes in one config — shorten prod.env${longest ? ` (its longest value is ${longest[0]}, ${Buffer.byteLength(longest[1])} bytes)` : ''} or the stack file`;
}

/**
 * What the store keeps of a release: whatever a rollback to it needs, through any manager — and no secret value,
 * nor anything that makes guessing one cheaper (store/withheld.ts): prod.env's secret-looking values are withheld,
 * changes are told by per-record salted scrypt digests.
 */
export function releaseRecord(r: Release, digests?: SecretDigests): ReleaseRecord {
  return {
    deployId: r.deployId, tag: r.tag, gitSha: r.gitSha ?? null, dirty: r.dirty, images: r.images, serviceImages: r.serviceImages, secretNames: r.secretNames,
    stack: r.stackName, deployedBy: r.deployedBy, deployedAt: r.startedAt.toISOString(), healthUrl: r.healthUrl ?? null, healthExpect: r.healthExpect ?? null,
    stackFile: r.stackFile, envFile: recordEnv(r.envFile, r.withheld), ...(r.withheld.length ? { withheld: r.withheld } : {}), ...(digests ? { secretDigests: digests } : {}),
  };
}

export { operatorName };
