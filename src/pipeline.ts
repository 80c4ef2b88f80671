import { byHand, shellLine, shellQuote } from './commands/command.js';
import { forceUnlock, releaseLock, removeRemoteDockerConfig } from './commands/remote-files.js';
import { removeSecrets } from './commands/secrets.js';
import { stackRemove, stackServices } from './commands/stack.js';
import { ConfigError, ConnectionLost, EXIT, Interrupted, PreflightError, errorMessage } from './errors.js';
import { budgetLine } from './config/rules.js';
import type { StepHandle } from './ui/reporter.js';
import * as build from './steps/build.js';
import * as connect from './steps/connect.js';
import * as converge from './steps/converge.js';
import { cmd, type Ctx, type StepPlan } from './steps/context.js';
import * as health from './steps/health.js';
import { auditRecord } from './audit.js';
import * as lock from './steps/lock.js';
import * as nodes from './steps/nodes.js';
import * as login from './steps/login.js';
import * as releases from './steps/releases.js';
import * as rollback from './steps/rollback.js';
import * as secrets from './steps/secrets.js';
import * as stackDeploy from './steps/stack-deploy.js';
import * as upload from './steps/upload.js';

export type PlanCtx = Pick<Ctx, 'cfg' | 'settings' | 'release'>;

interface PipelineStep {
  plan(ctx: PlanCtx): StepPlan;
  run(ctx: Ctx, handle: StepHandle): Promise<void>;
}

/** The deploy, in order. The plan prints exactly these steps; the run executes exactly these. */
export const STEPS: readonly PipelineStep[] = [
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
  { plan: login.plan, run: (c) => login.run(c) },
  { plan: build.plan, run: async (c, h) => (c.settings.skipBuild ? h.progress('skipped (SKIP_BUILD)') : build.run(c)) },
  { plan: build.verifyPlan, run: (c) => build.verify(c) },
  { plan: upload.plan, run: (c) => upload.run(c) },
  { plan: secrets.plan, run: (c) => secrets.run(c) },
  { plan: stackDeploy.plan, run: (c) => stackDeploy.run(c) },
  { plan: converge.plan, run: (c, h) => converge.run(c, h) },
  {
    plan: health.plan,
    run: async (c, h) => {
      const skipped = health.skippedBecause(c);
      return skipped ? h.progress(`skipped: ${skipped}`) : health.run(c, h);
    },
  },
  {
    plan: releases.markPlan,
    run: async (c, h) => {
      await releases.markKnownGood(c);
      const removed = await releases.pruneReleases(c).catch((e: Error) => {
        c.reporter.warn(`old release folders were not pruned: ${errorMessage(e)}`);
        return [];
      });
      h.progress(`current -> ${c.release.deployId}${removed.length ? `; removed ${removed.length} old release folder(s)` : ''}`);
    },
  },
  {
    plan: secrets.prunePlan,
    run: async (c) => {
      const { removed, skipped } = await secrets.prune(c).catch((e: Error) => {
        c.reporter.warn(`secrets were not pruned: ${errorMessage(e)}`);
        return { removed: [], skipped: [] };
      });
      for (const r of removed) c.reporter.info(`removed ${r}`);
      for (const s of skipped) c.reporter.warn(`kept ${s}: docker refused to remove it; the next deploy tries again`);
    },
  },
];

export const ON_FAILURE: readonly ((ctx: PlanCtx) => StepPlan)[] = [rollback.plan];

export const FINALLY: readonly ((ctx: PlanCtx) => StepPlan)[] = [
  login.logoutPlan,
  lock.auditPlan,
  (ctx) => ({ title: 'Release the deploy lock (always)', entries: [cmd(releaseLock(ctx.release.remoteDir, ctx.release.deployId))] }),
];

export type Outcome = 'healthy' | 'rolled-back' | 'failed-needs-attention' | 'interrupted' | 'config-error' | 'preflight-failed' | 'failed-before-change';

export interface Summary {
  exitCode: number;
  outcome: Outcome;
  /** which release serves now, in words */
  serving: string;
  manual: string[];
}

function previousServing(ctx: Ctx): string {
  const p = ctx.state.previous;
  return p ? `the previous release ${p.deployId} (tag ${p.tag}) is still serving` : 'whatever served before this run is still serving (no change was made to the stack)';
}

/** Exact commands to finish by hand when the manager cannot be reached any more. */
export function manualAfterLostConnection(ctx: Ctx): string[] {
  const t = ctx.session?.target ?? connect.sshTarget(ctx);
  const r = ctx.release;
  const jump = t.jumps.length ? ['-J', t.jumps.map((j) => `${j.username}@${j.host}:${j.port}`).join(',')] : [];
  const lines = [`${shellLine(['ssh', ...jump, '-p', String(t.port), `${t.username}@${t.host}`])}   # then, on the manager:`];
  if (ctx.state.stackTouched && !ctx.state.knownGood) {
    // the redeploy needs the registry login for --with-registry-auth: the run's own, still on the manager
    if (ctx.state.previous && ctx.state.remoteDockerConfig) lines.push(`export DOCKER_CONFIG=${shellQuote(ctx.state.remoteDockerConfig)}   # the run's registry login, for the redeploy`);
    if (ctx.state.previous) lines.push(...rollback.manualRedeploy(ctx, ctx.state.previous.deployId));
    else lines.push(`${byHand(stackServices(r.stackName))}   # then for each service: docker service rollback <service> (or ${byHand(stackRemove(r.stackName))} after a failed first deploy)`);
  } else if (ctx.state.createdSecrets.length) {
    lines.push(byHand(removeSecrets(ctx.state.createdSecrets)));
  }
  if (ctx.state.remoteDockerConfig) lines.push(`${byHand(removeRemoteDockerConfig(ctx.state.remoteDockerConfig))}   # the run's registry login`);
  if (ctx.state.lockHeld) lines.push(byHand(forceUnlock(r.remoteDir)));
  return lines;
}

async function withOneReconnect(ctx: Ctx): Promise<boolean> {
  if (!ctx.session || ctx.session.alive) return true;
  if (ctx.session.connectCount > 1) return false;
  ctx.reporter.warn('the SSH connection to the manager was lost: reconnecting once for rollback and cleanup');
  try {
    await ctx.session.reconnect();
    ctx.reporter.info('reconnected');
    return true;
  } catch (e) {
    ctx.reporter.error(`reconnecting failed: ${errorMessage(e)}`);
    return false;
  }
}

async function recover(ctx: Ctx, err: unknown): Promise<Summary> {
  const interrupted = err instanceof Interrupted;
  if (!interrupted) ctx.reporter.error(`error: ${errorMessage(err)}`);
  if (!(await withOneReconnect(ctx))) {
    return { exitCode: EXIT.needsAttention, outcome: 'failed-needs-attention', serving: 'unknown: the manager cannot be reached', manual: manualAfterLostConnection(ctx) };
  }

  if (!ctx.state.stackTouched) {
    const left = await secrets.removeCreated(ctx);
    await upload.removeUnused(ctx);
    const manual = left.length ? [`${byHand(removeSecrets(left))}   # on the manager: secrets of a release that never reached the stack`] : [];
    if (interrupted) return { exitCode: EXIT.interrupted, outcome: 'interrupted', serving: `stopped before the stack was changed: ${previousServing(ctx)}`, manual };
    if (err instanceof ConfigError || err instanceof PreflightError) {
      return { exitCode: EXIT.config, outcome: 'preflight-failed', serving: `nothing on the cluster was changed: ${previousServing(ctx)}`, manual };
    }
    return { exitCode: left.length ? EXIT.needsAttention : EXIT.rolledBack, outcome: left.length ? 'failed-needs-attention' : 'failed-before-change', serving: `the deploy failed before the stack was changed: ${previousServing(ctx)}`, manual };
  }

  if (ctx.state.knownGood) {
    // the new release is healthy and recorded; only housekeeping was cut short
    return { exitCode: interrupted ? EXIT.interrupted : EXIT.ok, outcome: 'healthy', serving: `the new release ${ctx.release.deployId} is serving and healthy`, manual: [] };
  }

  let result: rollback.RollbackResult;
  const title = `Roll back (${interrupted ? `interrupted by ${(err as Interrupted).signal}` : 'the deploy failed'})`;
  try {
    result = await ctx.reporter.step(title, (h) => rollback.run(ctx, h));
  } catch (e) {
    if (e instanceof ConnectionLost && (await withOneReconnect(ctx))) {
      try {
        result = await ctx.reporter.step(`${title}, after reconnecting`, (h) => rollback.run(ctx, h));
      } catch (e2) {
        return { exitCode: EXIT.needsAttention, outcome: 'failed-needs-attention', serving: `unknown: the rollback failed: ${errorMessage(e2)}`, manual: manualAfterLostConnection(ctx) };
      }
    } else {
      const manual = ctx.session?.alive ? (ctx.state.previous ? rollback.manualRedeploy(ctx, ctx.state.previous.deployId) : [byHand(stackServices(ctx.release.stackName))]) : manualAfterLostConnection(ctx);
      return { exitCode: EXIT.needsAttention, outcome: 'failed-needs-attention', serving: `unknown: the rollback failed: ${errorMessage(e)}`, manual };
    }
  }
  ctx.reporter.info(result.how);
  const restoredText = result.nothingBefore
    ? 'rolled back: this was the first deploy of the stack and its services were removed, so no release is serving (as before the run)'
    : `rolled back: ${result.serving} is serving again${result.degraded ? ` ${result.degraded}` : ''}`;
  if (interrupted) {
    return {
      exitCode: EXIT.interrupted,
      outcome: 'interrupted',
      serving: result.restored ? restoredText : `${result.serving}`,
      manual: result.restored ? [] : result.manual,
    };
  }
  if (result.restored) return { exitCode: EXIT.rolledBack, outcome: 'rolled-back', serving: restoredText, manual: [] };
  return { exitCode: EXIT.needsAttention, outcome: 'failed-needs-attention', serving: result.serving, manual: result.manual };
}

/** Logout, audit, unlock, disconnect: whatever happened before. Returns what is left for a person. */
async function cleanup(ctx: Ctx, summary: Summary, startedAt: number): Promise<string[]> {
  const left = await login.logout(ctx);
  const auditProblem = await lock.audit(
    ctx,
    ctx.release.remoteDir,
    auditRecord({
      event: 'deploy', deployId: ctx.release.deployId, tag: ctx.release.tag, start: new Date(startedAt).toISOString(),
      durationMs: Date.now() - startedAt, outcome: summary.outcome, serving: summary.serving,
    }),
  );
  if (auditProblem && ctx.session) ctx.reporter.warn(auditProblem);
  const lockProblem = await lock.release(ctx);
  if (lockProblem) left.push(lockProblem);
  ctx.session?.close();
  return left;
}

export function printHeader(ctx: PlanCtx, print: (line: string) => void): void {
  const { cfg } = ctx;
  print(`storage backend: ${cfg.storage === 's3' ? `S3-compatible (${cfg.prod.B2_ENDPOINT}, bucket ${cfg.prod.B2_BUCKET_NAME})` : 'local volume (uploads)'}`);
  print(budgetLine(cfg.budget));
}

export async function runDeploy(ctx: Ctx): Promise<Summary> {
  const startedAt = Date.now();
  let summary: Summary;
  try {
    for (const step of STEPS) {
      if (ctx.interrupt.requested && !ctx.state.knownGood) ctx.interrupt.check();
      if (ctx.interrupt.requested) break;
      const p = step.plan(ctx);
      await ctx.reporter.step(p.title, (h) => step.run(ctx, h));
    }
    const interruptedLate = ctx.interrupt.requested;
    summary = {
      exitCode: interruptedLate ? EXIT.interrupted : EXIT.ok,
      outcome: 'healthy',
      serving: `the new release ${ctx.release.deployId} (tag ${ctx.release.tag}) is serving and healthy${interruptedLate ? '; pruning was cut short' : ''}`,
      manual: [],
    };
  } catch (err) {
    summary = await recover(ctx, err);
  }
  // what cleanup could not do; the manual list for a lost manager already says it
  const left = (await cleanup(ctx, summary, startedAt)).filter((l) => !(summary.manual.length && /\(no connection\)/.test(l)));
  if (left.length) {
    summary = {
      ...summary,
      exitCode: summary.exitCode === EXIT.interrupted ? EXIT.interrupted : EXIT.needsAttention,
      outcome: summary.exitCode === EXIT.interrupted ? summary.outcome : 'failed-needs-attention',
      manual: [...summary.manual, ...left],
    };
  }
  return summary;
}
