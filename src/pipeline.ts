import { byHand, shellLine, shellQuote } from './commands/command.js';
import { splitCommandLine } from './config/shell-words.js';
import { removeRemoteDockerConfig } from './commands/remote-files.js';
import { closeRun, failover, summarize, type Summary } from './lifecycle.js';
import { NO_FACTS, type Facts, type Outcome } from './outcome.js';
import { removeSecrets } from './commands/secrets.js';
import { stackRemove, stackServices } from './commands/stack.js';
import { ConfigError, ConnectionLost, Interrupted, PreflightError, errorMessage } from './errors.js';
import { budgetLine } from './config/rules.js';
import type { StepHandle } from './ui/reporter.js';
import * as build from './steps/build.js';
import * as connect from './steps/connect.js';
import * as converge from './steps/converge.js';
import type { Ctx, StepPlan } from './steps/context.js';
import type { SshTarget } from './io/ssh.js';
import * as health from './steps/health.js';
import * as hooks from './steps/hooks.js';
import * as migrate from './steps/migrate.js';
import * as lock from './steps/lock.js';
import * as nodes from './steps/nodes.js';
import * as login from './steps/login.js';
import * as releases from './steps/releases.js';
import * as rollback from './steps/rollback.js';
import * as secrets from './steps/secrets.js';
import * as stackDeploy from './steps/stack-deploy.js';
import * as upload from './steps/upload.js';
import * as watch from './steps/watch.js';

export type { PlanCtx } from './steps/context.js';
import type { PlanCtx } from './steps/context.js';

interface PipelineStep {
  plan(ctx: PlanCtx): StepPlan;
  run(ctx: Ctx, handle: StepHandle): Promise<void>;
  /** safe to run again on another manager after the connection was lost in it */
  resumable?: boolean;
  /** present in the plan and the run only when this holds (a hook that exists, a job that is configured) */
  when?: (ctx: PlanCtx) => boolean;
}

/** The deploy, in order. The plan prints exactly these steps; the run executes exactly these. */
export const STEPS: readonly PipelineStep[] = [
  {
    when: (c) => hooks.hookOf(c, 'pre-deploy') !== undefined,
    plan: (c) => hooks.plan(c, 'pre-deploy'),
    run: (c) => hooks.runPre(c, 'pre-deploy', c.release),
  },
  { plan: connect.plan, run: (c) => connect.run(c) },
  { plan: nodes.plan, run: (c) => nodes.run(c) },
  { plan: lock.plan, run: (c) => lock.acquire(c) },
  {
    plan: releases.readPlan,
    run: async (c, h) => {
      c.state.previous = await releases.readKnownGood(c);
      h.progress(c.state.previous ? `known-good: ${c.state.previous.deployId}` : 'none yet: this is the first deploy with honeydue-deploy');
    },
  },
  {
    // a health URL the check can never pass stops the run before anything changes
    when: (c) => health.skippedBecause(c) === undefined,
    plan: health.precheckPlan,
    run: (c, h) => health.precheck(c, h),
    resumable: true,
  },
  { plan: login.plan, run: (c) => login.run(c), resumable: true },
  { plan: build.plan, run: async (c, h) => (c.settings.skipBuild ? h.progress('skipped (SKIP_BUILD)') : build.run(c)) },
  { plan: build.verifyPlan, run: (c) => build.verify(c) },
  { plan: upload.plan, run: (c) => upload.run(c), resumable: true },
  { plan: secrets.plan, run: (c) => secrets.run(c) },
  {
    // not resumable: a job whose manager was lost may have run; it is never started twice
    when: migrate.configured,
    plan: migrate.plan,
    run: async (c, h) => {
      const done = await migrate.run(c, (t) => h.progress(t));
      if (done) {
        c.state.jobExitCode = 0;
        h.progress(`the job exited 0 after ${(done.durationMs / 1000).toFixed(1)}s`);
      }
    },
  },
  {
    plan: stackDeploy.plan,
    run: async (c) => {
      // what users see from here on is counted (the health URL watched until convergence is judged)
      await watch.startWatch(c, 'update');
      return stackDeploy.run(c);
    },
    resumable: true,
  },
  {
    plan: (c) => {
      const p = converge.plan(c);
      return { ...p, entries: [...p.entries, ...watch.planNotes(c)] };
    },
    run: async (c, h) => {
      try {
        await converge.run(c, h);
      } catch (e) {
        if (!(e instanceof ConnectionLost)) await watch.stopWatch(c);
        throw e;
      }
      await watch.judgeUpdate(c);
    },
    resumable: true,
  },
  {
    plan: health.plan,
    resumable: true,
    run: async (c, h) => {
      const skipped = health.skippedBecause(c);
      return skipped ? h.progress(`skipped: ${skipped}`) : health.run(c, h);
    },
  },
  {
    plan: (c) => {
      const mark = releases.markPlan(c);
      const prune = secrets.prunePlan(c);
      return { title: 'Mark the release known-good; then prune old releases and secret versions side by side', entries: [...mark.entries, ...prune.entries] };
    },
    resumable: true,
    run: async (c, h) => {
      await releases.markKnownGood(c);
      h.progress(`current -> ${c.release.deployId}`);
      // housekeeping of a healthy release: never fails the deploy, each part reports what it could not do
      const [removed, pruned] = await Promise.all([
        releases.pruneReleases(c).catch((e: Error) => {
          c.reporter.warn(`old releases were not pruned: ${errorMessage(e)}`);
          return [];
        }),
        secrets.prune(c).catch((e: Error) => {
          c.reporter.warn(`secrets were not pruned: ${errorMessage(e)}`);
          return { removed: [], skipped: [] };
        }),
      ]);
      if (removed.length) c.reporter.info(`removed ${removed.length} old release record(s)`);
      for (const r of pruned.removed) c.reporter.info(`removed ${r}`);
      for (const s of pruned.skipped) c.reporter.warn(`kept ${s}: docker refused to remove it; the next deploy tries again`);
    },
  },
];

export const ON_FAILURE: readonly ((ctx: PlanCtx) => StepPlan)[] = [rollback.plan, (c) => hooks.plan(c, 'post-rollback')];

export const FINALLY: readonly ((ctx: PlanCtx) => StepPlan)[] = [login.logoutPlan, lock.auditPlan, lock.releasePlan, (c) => hooks.plan(c, 'post-deploy')];

/** The steps this configuration runs (hooks that exist, a job that is configured). */
export function activeSteps(ctx: PlanCtx): PipelineStep[] {
  return STEPS.filter((s) => !s.when || s.when(ctx));
}

export type { Outcome, Summary };

function previousServing(ctx: Ctx): string {
  const p = ctx.state.previous;
  return p ? `the previous release ${p.deployId} (tag ${p.tag}) is still serving` : 'whatever served before this run is still serving (no change was made to the stack)';
}

/**
 * `ssh` to a manager as the run reached it: its key and known_hosts file, each jump host (`-J`, an IPv6 address in
 * brackets, as ssh wants it).
 */
export function sshArgv(t: SshTarget): string[] {
  const host = (h: string) => (h.includes(':') ? `[${h}]` : h);
  const jump = t.jumps.length ? ['-J', t.jumps.map((j) => `${j.username}@${host(j.host)}:${j.port}`).join(',')] : [];
  const key = t.explicitKey ? ['-i', t.explicitKey] : [];
  const alias = t.hostKeyAlias ? ['-o', `HostKeyAlias=${t.hostKeyAlias}`] : [];
  return ['ssh', ...key, '-o', `UserKnownHostsFile=${(t.userKnownHostsFiles ?? [t.knownHostsPath]).join(' ')}`, ...alias, ...jump, '-p', String(t.port), `${t.username}@${t.host}`];
}

/**
 * What a person runs when no listed manager can be reached: the tool's own commands, which work through any
 * manager that comes back (the state is in the swarm), then what is left on the lost manager.
 */
export function manualAfterLostConnection(ctx: Ctx): string[] {
  const lines: string[] = [];
  const managers = ctx.session?.targets.length ?? 1;
  const when = `# once ${managers > 1 ? 'any listed manager' : 'the manager'} answers again`;
  if (ctx.state.stackTouched && !ctx.state.knownGood) {
    if (ctx.state.previous) lines.push(`honeydue-deploy rollback ${ctx.state.previous.deployId}   ${when}: redeploys the known-good release from its record in the swarm`);
    else lines.push(`honeydue-deploy status   ${when}; then for each service: docker service rollback <service> (or ${byHand(stackRemove(ctx.release.stackName))} after a failed first deploy)`);
  } else if (ctx.state.createdSecrets.length) {
    lines.push(`${byHand(removeSecrets(ctx.state.createdSecrets))}   ${when}, on it`);
  }
  if (ctx.state.lockHeld) lines.unshift(`honeydue-deploy unlock --force   ${when} (this run's lock; no other run is going on)`);
  if (ctx.state.remoteDockerConfig) {
    const t = ctx.session?.target ?? connect.sshTarget(ctx);
    lines.push(`${shellLine(sshArgv(t))} ${shellQuote(byHand(removeRemoteDockerConfig(ctx.state.remoteDockerConfig)))}   # the run's registry login on that manager`);
  }
  return lines;
}

async function recover(ctx: Ctx, err: unknown): Promise<{ summary: Summary; facts: Facts }> {
  const interrupted = err instanceof Interrupted;
  const refused = err instanceof ConfigError || err instanceof PreflightError;
  const base: Facts = { ...NO_FACTS, interrupted, refused, stackTouched: ctx.state.stackTouched, targetHealthy: ctx.state.knownGood };
  if (!interrupted) ctx.reporter.error(`error: ${errorMessage(err)}`);
  // never connected, or nothing of this run is on the cluster yet: nothing to finish there (the table decides);
  // otherwise the run needs a manager to go on
  const holdsSomething = ctx.state.stackTouched || ctx.state.lockHeld || ctx.state.createdSecrets.length > 0;
  if (ctx.session && !(await failover(ctx)) && holdsSomething) {
    const facts = { ...base, reachable: false };
    return { facts, summary: summarize(facts, 'unknown: no listed manager can be reached', manualAfterLostConnection(ctx)) };
  }

  if (!ctx.state.stackTouched) {
    // the job uses this release's secrets: it goes first
    await migrate.removeLeft(ctx);
    const left = await secrets.removeCreated(ctx);
    await upload.removeUnused(ctx);
    const manual = left.length ? [`${byHand(removeSecrets(left))}   # on a manager: secrets of a release that never reached the stack`] : [];
    const facts = { ...base, leftForPerson: left.length > 0 };
    const serving = interrupted
      ? `stopped before the stack was changed: ${previousServing(ctx)}`
      : refused ? `nothing on the cluster was changed: ${previousServing(ctx)}` : `the deploy failed before the stack was changed: ${previousServing(ctx)}`;
    return { facts, summary: summarize(facts, serving, manual) };
  }

  if (ctx.state.knownGood) {
    // the new release is healthy and recorded; only housekeeping was cut short
    return { facts: base, summary: summarize(base, `the new release ${ctx.release.deployId} is serving and healthy${ctx.state.degraded ? ` ${ctx.state.degraded}` : ''}`) };
  }

  // the update's watch ends where the rollback begins
  await watch.stopWatch(ctx);
  const title = `Roll back (${interrupted ? `interrupted by ${(err as Interrupted).signal}` : 'the deploy failed'})`;
  ctx.state.rollbackStarted = true;
  let result: rollback.RollbackResult | undefined;
  for (let attempt = 0; !result; attempt++) {
    try {
      result = await ctx.reporter.step(attempt ? `${title}, through ${ctx.session?.describe()}` : title, (h) => rollback.run(ctx, h));
    } catch (e) {
      if (e instanceof ConnectionLost && (await failover(ctx))) continue;
      const reachable = Boolean(ctx.session?.alive);
      const facts = { ...base, reachable };
      const manual = reachable ? (ctx.state.previous ? rollback.manualRedeploy(ctx, ctx.state.previous.deployId) : [byHand(stackServices(ctx.release.stackName))]) : manualAfterLostConnection(ctx);
      return { facts, summary: summarize(facts, `unknown: the rollback failed: ${errorMessage(e)}`, manual) };
    }
  }
  ctx.reporter.info(result.how);
  const restoredText = result.nothingBefore
    ? 'rolled back: this was the first deploy of the stack and its services were removed, so no release is serving (as before the run)'
    : `rolled back: ${result.serving} is serving again${result.degraded ? ` ${result.degraded}` : ''}`;
  const facts = { ...base, restored: result.restored };
  return { facts, summary: summarize(facts, result.restored ? restoredText : result.serving, result.restored ? [] : result.manual) };
}

export function printHeader(ctx: PlanCtx, print: (line: string) => void): void {
  const { cfg } = ctx;
  print(`storage backend: ${cfg.storage === 's3' ? `S3-compatible (${cfg.prod.B2_ENDPOINT}, bucket ${cfg.prod.B2_BUCKET_NAME})` : 'local volume (uploads)'}`);
  print(budgetLine(cfg.budget));
}

/** One step; when the manager is lost in a step that can run again, the run goes on through another manager. */
async function runStep(ctx: Ctx, step: PipelineStep): Promise<void> {
  for (;;) {
    const p = step.plan(ctx);
    try {
      return await ctx.reporter.step(p.title, (h) => step.run(ctx, h));
    } catch (e) {
      if (!(e instanceof ConnectionLost) || !step.resumable || ctx.interrupt.requested) throw e;
      if (!(await failover(ctx))) throw e;
      ctx.reporter.info(`${p.title}: again, through ${ctx.session!.describe()}`);
    }
  }
}

export async function runDeploy(ctx: Ctx): Promise<Summary> {
  const startedAt = Date.now();
  let summary: Summary;
  let facts: Facts;
  try {
    for (const step of activeSteps(ctx)) {
      if (ctx.interrupt.requested && !ctx.state.knownGood) ctx.interrupt.check();
      if (ctx.interrupt.requested) break;
      await runStep(ctx, step);
    }
    const interruptedLate = ctx.interrupt.requested;
    facts = { ...NO_FACTS, targetHealthy: true, stackTouched: true, interrupted: interruptedLate };
    summary = summarize(facts, `the new release ${ctx.release.deployId} (tag ${ctx.release.tag}) is serving and healthy${ctx.state.degraded ? ` ${ctx.state.degraded}` : ''}${interruptedLate ? '; pruning was cut short' : ''}`);
  } catch (err) {
    ({ summary, facts } = await recover(ctx, err));
  }
  const closed = await closeRun(ctx, 'deploy', startedAt, facts, summary, { deployId: ctx.release.deployId, tag: ctx.release.tag, detail: jobDetail(ctx) });
  if (!ctx.state.hookRefused) {
    const servingId = closed.outcome === 'healthy' ? ctx.release.deployId : closed.outcome === 'failed-needs-attention' ? undefined : ctx.state.previous?.deployId;
    if (ctx.state.rollbackStarted) await hooks.runPost(ctx, 'post-rollback', 'deploy', ctx.release, closed, servingId);
    await hooks.runPost(ctx, 'post-deploy', 'deploy', ctx.release, closed, servingId);
  }
  return closed;
}

/** The audit record's word on the pre-deploy job, when it ran. */
function jobDetail(ctx: Ctx): string | undefined {
  const code = ctx.state.jobExitCode;
  if (code === undefined) return undefined;
  // the words as the job ran them (the audit record is redacted as a whole: a value the redactor knows never stays)
  const split = splitCommandLine(ctx.cfg.cluster.DEPLOY_MIGRATE_COMMAND ?? '');
  const command = 'words' in split ? shellLine(split.words) : '';
  return `pre-deploy job (${ctx.reporter.redactor.redact(command)}): ${code === null ? 'ended without an exit code' : `exit ${code}`}`;
}
