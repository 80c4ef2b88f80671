/**
 * The frame every run that changes the cluster runs in (deploy, rollback): the body, then always logout, audit,
 * unlock and disconnect, and the outcome from one table (outcome.ts). Also what happens when the manager is lost
 * mid-run: the run goes on through the next listed manager that is up.
 */
import { stopWatch, watchLines } from './steps/watch.js';
import { auditRecord, type AuditRecord } from './audit.js';
import { ConnectionLost, errorMessage } from './errors.js';
import { decide, type Facts, type Outcome } from './outcome.js';
import { releaseRecord } from './release.js';
import { type Ctx } from './steps/context.js';
import * as lock from './steps/lock.js';
import * as login from './steps/login.js';
import { materialize, scrubFolders } from './steps/upload.js';
import { byHand } from './commands/command.js';
import { removeRemoteDockerConfig } from './commands/remote-files.js';

export interface Summary {
  exitCode: number;
  outcome: Outcome;
  /** which release serves now, in words */
  serving: string;
  manual: string[];
}

/** A summary from the facts: the table decides the code and the outcome, the caller says what serves. */
export function summarize(facts: Facts, serving: string, manual: string[] = []): Summary {
  const d = decide(facts);
  return { exitCode: d.exitCode, outcome: d.outcome, serving, manual };
}

/** How many times one run may move to another manager (each loss of a manager is one). */
export const MAX_SWITCHES = 3;

/**
 * After the connection to the manager was lost: connect to the next listed manager that is up and serves a swarm
 * with quorum (the same one again if it is the only one), and prepare it for the rest of the run — its working
 * folder, the run's registry login, this release's folder. False when no listed manager can be reached.
 */
export async function failover(ctx: Ctx): Promise<boolean> {
  const s = ctx.session;
  if (!s) return false;
  if (s.alive) return true;
  if (s.connectCount > MAX_SWITCHES) return false;
  const before = s.describe();
  const several = s.targets.length > 1;
  ctx.reporter.warn(`the connection to the manager ${before} was lost: ${several ? 'going on through the next listed manager that is up' : 'reconnecting'}`);
  try {
    await s.reconnect();
  } catch (e) {
    ctx.reporter.error(`no listed manager can be reached: ${errorMessage(e)}`);
    return false;
  }
  ctx.reporter.info(`connected to ${s.describe()}${several ? ` (manager ${s.index + 1} of ${s.targets.length})` : ''}`);
  try {
    const lostConfig = ctx.state.remoteDockerConfig;
    if (s.describe() !== before && lostConfig) {
      ctx.reporter.warn(`the run's private docker config (a registry login) stays on ${before} until that manager is back: the next run through it removes it, or run there: ${byHand(removeRemoteDockerConfig(lostConfig))}`);
    }
    await lock.checkWorkingFolder(ctx);
    if (ctx.state.remoteDockerConfig) {
      ctx.state.remoteDockerConfig = undefined;
      await login.loginManager(ctx);
    }
    if (ctx.state.uploaded && ctx.release.stackFile) await materialize(ctx, releaseRecord(ctx.release));
    return true;
  } catch (e) {
    if (e instanceof ConnectionLost) return failover(ctx);
    ctx.reporter.error(`preparing ${s.describe()} failed: ${errorMessage(e)}`);
    return false;
  }
}

/**
 * Logout, audit, unlock, disconnect — whatever happened before — then the final decision: something left for a
 * person turns the outcome into exit 3 (130 stays 130).
 */
export async function closeRun(ctx: Ctx, event: AuditRecord['event'], startedAt: number, facts: Facts, summary: Summary, audit: { deployId?: string; tag?: string; detail?: string } = {}): Promise<Summary> {
  if (ctx.session && !ctx.session.alive && ctx.state.lockHeld) await failover(ctx);
  // what the users saw while the stack changed: said in the summary, kept in the audit record
  await stopWatch(ctx);
  const watched = watchLines(ctx);
  for (const l of watched) ctx.reporter.info(l);
  const detail = [ctx.state.lockTakenFrom ? `took over the deploy lock held by ${ctx.state.lockTakenFrom}` : undefined, audit.detail, ...watched].filter(Boolean).join('; ');
  // logout and the audit record are independent: side by side; the lock goes last
  const [loggedOut, auditProblem, scrubbed] = await Promise.all([
    login.logout(ctx),
    lock.audit(ctx, auditRecord({
      event, deployId: audit.deployId, tag: audit.tag, start: new Date(startedAt).toISOString(), durationMs: Date.now() - startedAt, outcome: summary.outcome, serving: summary.serving,
      ...(detail ? { detail } : {}),
      ...(ctx.state.watched.length ? { watch: ctx.state.watched } : {}),
    })),
    scrubFolders(ctx),
  ]);
  const left = [...loggedOut];
  for (const w of scrubbed) ctx.reporter.warn(w);
  if (auditProblem && ctx.session) ctx.reporter.warn(auditProblem);
  const lockProblem = await lock.release(ctx);
  if (lockProblem) left.push(lockProblem);
  ctx.session?.close();
  // what cleanup could not do; the manual list for a lost manager already says it
  const extra = left.filter((l) => !(summary.manual.length && /\(no connection/.test(l)));
  if (!extra.length) return summary;
  const d = decide({ ...facts, leftForPerson: true });
  return { ...summary, exitCode: d.exitCode, outcome: d.outcome, manual: [...summary.manual, ...extra] };
}
