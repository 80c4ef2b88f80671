/**
 * The health URL watched while the stack changes: started at the stack deploy (or the rollback's), stopped once
 * convergence is judged. Its summary line is said in the run's summary and kept in the audit record, and with the
 * release's known-good mark; a budget of failed requests (DEPLOY_MAX_FAILED_REQUESTS) fails a release that used more.
 */
import { DeployFailed } from '../errors.js';
import { overBudget, summarizeSamples, watchLine, type WatchSummary } from '../watch/samples.js';
import { HealthWatcher } from '../watch/watcher.js';
import { note, type Ctx, type PlanCtx } from './context.js';

export function planNotes(ctx: PlanCtx): ReturnType<typeof note>[] {
  const rate = ctx.cfg.cluster.DEPLOY_WATCH_RATE;
  if (ctx.settings.skipHealthcheck || !ctx.release.healthUrl || rate === 0) return [note(`the health URL is not watched during the update (${rate === 0 ? 'DEPLOY_WATCH_RATE=0' : ctx.settings.skipHealthcheck ? 'SKIP_HEALTHCHECK' : 'no DEPLOY_HEALTHCHECK_URL'})`)];
  const budget = ctx.settings.maxFailedRequests;
  return [
    note(`from the stack deploy until convergence is judged: GET ${ctx.release.healthUrl} ${rate} time(s) a second (DEPLOY_WATCH_RATE), each answer awaited at most 2s; the summary says "during the update: F of N requests to the health URL failed (longest gap S s)"`),
    note(budget === undefined ? 'no budget of failed requests (DEPLOY_MAX_FAILED_REQUESTS): only reported' : `more than ${budget} failed request(s) (DEPLOY_MAX_FAILED_REQUESTS) fails the release: it is rolled back`),
  ];
}

/** Starts watching `url` (default: this release's health URL), unless there is none, the check is skipped or the rate is 0. */
export async function startWatch(ctx: Ctx, phase: WatchSummary['phase'], url = ctx.release.healthUrl): Promise<void> {
  // the same phase again (a step resumed through another manager): the watch goes on
  if (ctx.state.watch?.phase === phase) return;
  await stopWatch(ctx);
  const rate = ctx.cfg.cluster.DEPLOY_WATCH_RATE;
  if (!url || ctx.settings.skipHealthcheck || rate === 0) return;
  ctx.state.watch = { phase, watcher: new HealthWatcher(url, rate) };
}

/** Stops the watch under way, if any: its summary, kept for the run's summary and audit record. */
export async function stopWatch(ctx: Ctx): Promise<WatchSummary | undefined> {
  const w = ctx.state.watch;
  if (!w) return undefined;
  ctx.state.watch = undefined;
  const { samples, endAt } = await w.watcher.stop();
  const summary = summarizeSamples(samples, endAt, w.phase, w.watcher.rate);
  ctx.state.watched.push(summary);
  return summary;
}

/** The update's watch, stopped; a release that failed more requests than the budget allows is a failed release. */
export async function judgeUpdate(ctx: Ctx): Promise<void> {
  const s = await stopWatch(ctx);
  // (its line is said once, in the run's summary before the result line: closeRun)
  if (!s) return;
  const budget = ctx.settings.maxFailedRequests;
  // nothing answered before this deploy (a first deploy): its misses cost no user anything
  if (ctx.state.servedBefore === false) {
    if (budget !== undefined) ctx.reporter.info('the health URL did not answer before this deploy (nothing served yet): its failed requests are not held against DEPLOY_MAX_FAILED_REQUESTS');
    return;
  }
  if (overBudget(s, budget)) {
    throw new DeployFailed(`${watchLine(s)}: more than the ${budget} the update may cost (DEPLOY_MAX_FAILED_REQUESTS) — make the update gapless (start-first, a healthcheck, more replicas; see the plan's warnings) or raise the budget`);
  }
}

/** The lines for the run's summary and its audit record. */
export function watchLines(ctx: Pick<Ctx, 'state'>): string[] {
  return ctx.state.watched.map(watchLine);
}
