/**
 * The pre-deploy job: DEPLOY_MIGRATE_COMMAND run once as a one-off swarm task of the new api image — its secrets,
 * prod.env, environment, networks, placement and limits as the api service has them in the rendered stack file —
 * before the stack is updated. Exit 0: the deploy goes on. Anything else stops the deploy before the stack is
 * touched, the previous release serving. A migration is not undone by a rollback (README: "Migrations").
 */
import { createJob, jobName, jobStatus, JOB_LOG_MARK, listNetworks, removeJob, timedLine, type JobSpec } from '../commands/job.js';
import { splitParts } from '../commands/command.js';
import { splitCommandLine } from '../config/shell-words.js';
import { envFilesOf, serviceEnvironment, stackDoc, yamlMap } from '../stack/services.js';
import { errorMessage } from '../errors.js';
import { cmd, exec, execChecked, note, type Ctx, type PlanCtx, type StepPlan } from './context.js';

export function configured(ctx: Pick<PlanCtx, 'cfg'>): boolean {
  return (ctx.cfg.cluster.DEPLOY_MIGRATE_COMMAND ?? '').trim() !== '';
}

/** The api service of the rendered stack file, as the job copies it. */
export function jobSpec(ctx: PlanCtx): JobSpec {
  const r = ctx.release;
  const split = splitCommandLine(ctx.cfg.cluster.DEPLOY_MIGRATE_COMMAND ?? '');
  const command = 'words' in split ? split.words : [];
  const doc = yamlMap(stackDoc(r.stackFile || '{}'));
  const api = yamlMap(yamlMap(doc.services).api);
  const env = Object.fromEntries(Object.entries(serviceEnvironment(api)).filter((e): e is [string, string] => e[1] !== undefined));
  const topSecrets = yamlMap(doc.secrets);
  const secrets = (Array.isArray(api.secrets) ? api.secrets : []).map((s) => {
    const long = yamlMap(s);
    const key = typeof s === 'string' ? s : String(long.source ?? '');
    const name = String(yamlMap(topSecrets[key]).name ?? key);
    const target = typeof s === 'string' ? key : String(long.target ?? key);
    return { source: name, target };
  });
  const topNetworks = yamlMap(doc.networks);
  const netKeys = Array.isArray(api.networks) ? api.networks.map(String) : Object.keys(yamlMap(api.networks));
  const networks = netKeys.map((k) => {
    const n = yamlMap(topNetworks[k]);
    return typeof n.name === 'string' ? n.name : n.external ? k : `${r.stackName}_${k}`;
  });
  const topVolumes = yamlMap(doc.volumes);
  const volumeName = (key: string) => {
    const v = yamlMap(topVolumes[key]);
    return typeof v.name === 'string' ? v.name : v.external ? key : `${r.stackName}_${key}`;
  };
  const mounts = (Array.isArray(api.volumes) ? api.volumes : []).flatMap((v): string[] => {
    if (typeof v === 'string') {
      const [source = '', target, mode] = v.split(':');
      if (!target) return [];
      const bind = source.startsWith('/') || source.startsWith('.');
      return [`type=${bind ? 'bind' : 'volume'},source=${bind ? source : volumeName(source)},target=${target}${mode === 'ro' ? ',readonly' : ''}`];
    }
    const m = yamlMap(v);
    if (!m.target) return [];
    const type = String(m.type ?? 'volume');
    if (type !== 'volume' && type !== 'bind') return [];
    const source = type === 'volume' && m.source ? volumeName(String(m.source)) : String(m.source ?? '');
    return [`type=${type}${source ? `,source=${source}` : ''},target=${String(m.target)}${m.read_only ? ',readonly' : ''}`];
  });
  const deploy = yamlMap(api.deploy);
  const constraints = (Array.isArray(yamlMap(deploy.placement).constraints) ? (yamlMap(deploy.placement).constraints as unknown[]) : []).map(String);
  const limits = yamlMap(yamlMap(deploy.resources).limits);
  const envFiles = envFilesOf(api);
  return {
    name: jobName(r.stackName),
    stack: r.stackName,
    deployId: r.deployId,
    image: r.images.api,
    command,
    envFile: envFiles.includes('prod.env') ? 'prod.env' : undefined,
    env,
    secrets,
    networks,
    mounts,
    constraints,
    limitCpu: limits.cpus === undefined ? undefined : String(limits.cpus),
    limitMemory: limits.memory === undefined ? undefined : String(limits.memory),
    cwd: r.releaseDir,
  };
}

/** Only a new api image migrates: a redeploy of the serving image has nothing new to run. */
export function skipBecause(ctx: Ctx): string | undefined {
  const p = ctx.state.previous;
  if (p && p.images.api === ctx.release.images.api) return `the api image is the one serving (${p.deployId}): nothing new to migrate`;
  return undefined;
}

export function plan(ctx: PlanCtx): StepPlan {
  const j = jobSpec(ctx);
  return {
    title: 'Run the pre-deploy job (DEPLOY_MIGRATE_COMMAND)',
    entries: [
      note(`only when the api image is new (not the serving release's); a job left by a killed run is removed first: ${removeJob(j.name).argv.join(' ')}`),
      cmd(createJob(j)),
      note('the new api image with the new release\'s secrets, prod.env, the api\'s environment, networks, volumes, constraints and limits; a network the stack\'s first deploy creates is left out until it exists'),
      cmd(jobStatus(j.name)),
      note(`every second: its state and output (streamed here, redacted) until it ends; DEPLOY_MIGRATE_TIMEOUT ${ctx.cfg.cluster.DEPLOY_MIGRATE_TIMEOUT}s; Ctrl-C stops it`),
      note('exit 0: the deploy goes on; non-zero, a timeout, or a task that cannot start: the deploy stops before the stack is touched (exit 1), the previous release serving'),
      cmd(removeJob(j.name)),
      note('removed afterwards, whatever happened (the audit record keeps its exit code); a rollback never runs it'),
    ],
  };
}

interface JobLook {
  state: string;
  error: string;
  log: string[];
}

/** The state line, and the log in the order it was written (lines without a time, docker's own, last). */
export function parseLook(stdout: string): JobLook & { keys: string[] } {
  const [whole = '', body = ''] = splitParts(stdout, JOB_LOG_MARK);
  const head = whole.trim();
  const [state = '', error = ''] = head.split('|');
  const raw = body.split('\n');
  if (raw.at(-1) === '') raw.pop();
  const lines = raw.map((l, i) => ({ i, ...(timedLine(l) ?? { key: `~${String(i).padStart(9, '0')}`, text: l }) }));
  lines.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.i - b.i));
  return { state: state.trim(), error: error.trim(), log: lines.map((l) => l.text), keys: lines.map((l) => `${l.key} ${l.text}`) };
}

/** A task that never starts (no node can take it, the image cannot be pulled): judged after this long. */
const CANNOT_START_AFTER_MS = 15_000;

export interface JobOutcome {
  exitCode: number | null;
  durationMs: number;
}

/** Runs the job and waits for it; throws when it did not exit 0. The job is removed in every case. */
export async function run(ctx: Ctx, progress: (text: string) => void): Promise<JobOutcome | undefined> {
  const skip = skipBecause(ctx);
  if (skip) {
    progress(`skipped: ${skip}`);
    return undefined;
  }
  const spec = jobSpec(ctx);
  const redact = (t: string) => ctx.reporter.redactor.redact(t);
  await exec(ctx, removeJob(spec.name));
  const existing = new Set((await execChecked(ctx, listNetworks(), 'listing the swarm networks')).stdout.split('\n').map((l) => l.trim()).filter(Boolean));
  const missing = spec.networks.filter((n) => !existing.has(n));
  for (const n of missing) progress(`network ${n} does not exist yet (the stack's first deploy creates it): the job runs without it`);
  const started = Date.now();
  ctx.state.jobName = spec.name;
  try {
    await execChecked(ctx, createJob({ ...spec, networks: spec.networks.filter((n) => existing.has(n)) }), 'starting the pre-deploy job');
    progress(`started ${spec.name}: ${spec.command.join(' ')}`);
    const timeoutMs = ctx.cfg.cluster.DEPLOY_MIGRATE_TIMEOUT * 1000;
    // each line once, as it comes (a line of the other stream may turn up a look later with an earlier time)
    const shown = new Set<string>();
    let waitingSince: number | undefined;
    for (;;) {
      const look = parseLook((await execChecked(ctx, jobStatus(spec.name), 'watching the pre-deploy job')).stdout);
      look.log.forEach((line, k) => {
        if (shown.has(look.keys[k]!)) return;
        shown.add(look.keys[k]!);
        ctx.reporter.info(`    job: ${redact(line)}`);
      });
      const state = look.state.split(' ')[0] ?? '';
      if (state === 'Complete') return { exitCode: 0, durationMs: Date.now() - started };
      const last = look.log.slice(-10).map(redact);
      const tailText = last.length ? `; its last lines:\n${last.map((l) => `      ${l}`).join('\n')}` : '; it printed nothing';
      if (state === 'Failed' || state === 'Rejected' || state === 'Shutdown' || state === 'Orphaned') {
        const code = /exit \((\d+)\)/.exec(look.error)?.[1];
        ctx.state.jobExitCode = code === undefined ? null : Number(code);
        throw new JobFailed(`the pre-deploy job ${code !== undefined ? `exited with ${code}` : `ended ${state.toLowerCase()}${look.error ? ` (${redact(look.error)})` : ''}`}: the stack was not touched${tailText}`);
      }
      const pending = !/^(Running|Starting)$/.test(state);
      if (pending && look.error) waitingSince ??= Date.now();
      else waitingSince = undefined;
      if (waitingSince !== undefined && Date.now() - waitingSince >= CANNOT_START_AFTER_MS) {
        throw new JobFailed(`the pre-deploy job cannot start: ${redact(look.error)} (${state || 'not scheduled'} for ${Math.round((Date.now() - waitingSince) / 1000)}s): the stack was not touched`);
      }
      if (Date.now() - started >= timeoutMs) {
        throw new JobFailed(`the pre-deploy job did not finish within ${timeoutMs / 1000}s (DEPLOY_MIGRATE_TIMEOUT) and was stopped: the stack was not touched${tailText}`);
      }
      ctx.interrupt.check();
      await ctx.interrupt.sleep(1000);
      ctx.interrupt.check();
    }
  } finally {
    await removeLeft(ctx);
  }
}

/** Removes the job if this run started it and it is still there (called again by cleanup after a lost manager). */
export async function removeLeft(ctx: Ctx): Promise<void> {
  const name = ctx.state.jobName;
  if (!name || !ctx.session?.alive) return;
  try {
    const r = await exec(ctx, removeJob(name));
    if (r.exitCode === 0 || /not found/i.test(r.stderr)) ctx.state.jobName = undefined;
    else ctx.reporter.warn(`the pre-deploy job ${name} was not removed: ${r.stderr.trim().split('\n').pop()} — run on a manager: docker service rm ${name}`);
  } catch (e) {
    ctx.reporter.warn(`the pre-deploy job ${name} was not removed: ${errorMessage(e)} — run on a manager: docker service rm ${name}`);
  }
}

/** The pre-deploy job did not exit 0: the deploy stops before the stack is touched. */
export class JobFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JobFailed';
  }
}
