import { DeployFailed, PreflightError } from '../errors.js';
import { resolveHealthUrl, waitHealthy } from '../io/http.js';
import { maskUrlCredentials, urlCredentials } from '../ui/redact.js';
import type { StepHandle } from '../ui/reporter.js';
import { clusterEnvShown, note, type Ctx, type StepPlan } from './context.js';

export function skippedBecause(ctx: Pick<Ctx, 'settings' | 'release'>): string | undefined {
  if (ctx.settings.skipHealthcheck) return 'SKIP_HEALTHCHECK is set';
  if (!ctx.release.healthUrl) return 'DEPLOY_HEALTHCHECK_URL is not set';
  return undefined;
}

export function plan(ctx: Pick<Ctx, 'cfg' | 'settings' | 'release'>): StepPlan {
  const skipped = skippedBecause(ctx);
  return {
    title: 'Health check',
    entries: skipped
      ? [note(`skipped: ${skipped}; the release becomes known-good once it converged`)]
      : [
          note(`GET ${ctx.release.healthUrl} until it answers 2xx${ctx.release.healthExpect ? ` with "${ctx.release.healthExpect}" in the body` : ''}`),
          note(`retried with backoff (1s doubling to 8s) for at most DEPLOY_HEALTHCHECK_TIMEOUT=${ctx.cfg.cluster.DEPLOY_HEALTHCHECK_TIMEOUT}s`),
        ],
  };
}

export async function check(ctx: Ctx, handle: StepHandle, expect: string | undefined, stop: () => boolean, url = ctx.release.healthUrl!): Promise<{ ok: boolean; detail: string }> {
  const result = await waitHealthy({
    url,
    expect,
    timeoutSeconds: ctx.cfg.cluster.DEPLOY_HEALTHCHECK_TIMEOUT,
    onAttempt: (a, n) => handle.progress(`attempt ${n}: ${a.detail}`),
    shouldStop: stop,
    sleep: (ms) => ctx.interrupt.sleep(ms),
  });
  return { ok: result.ok, detail: `${url}: ${result.last.detail} after ${result.attempts} attempt(s)` };
}

export async function run(ctx: Ctx, handle: StepHandle): Promise<void> {
  const result = await check(ctx, handle, ctx.release.healthExpect, () => ctx.interrupt.requested);
  if (!result.ok) {
    ctx.interrupt.check();
    throw new DeployFailed(`the health check failed: ${result.detail}`);
  }
}

/** How long the one request of the check before the stack is touched may take. */
export const PRECHECK_TIMEOUT_MS = 10_000;

export function precheckPlan(ctx: Pick<Ctx, 'cfg' | 'settings' | 'release'>): StepPlan {
  return {
    title: 'Ask the health URL once, before anything changes',
    entries: [
      note(`GET ${ctx.release.healthUrl} (the serving release answers): a redirect to the same host is followed (at most 5) and the run checks where it leads; one to another host stops the run (exit 2) naming the Location to use`),
      note('a URL that does not answer 2xx while a known-good release serves stops the run (exit 2), nothing changed; before the first deploy nothing serves yet, and that is not a failure'),
    ],
  };
}

/**
 * The health URL asked once against the serving release, before the stack is touched: a URL the check can never
 * pass (a redirect it does not follow, a URL that fails while a release serves) would otherwise fail every deploy
 * after the stack changed, and roll it back.
 */
export async function precheck(ctx: Ctx, handle: StepHandle): Promise<void> {
  const url = ctx.release.healthUrl!;
  const r = await resolveHealthUrl(url, PRECHECK_TIMEOUT_MS);
  // a Location may carry credentials of its own: never shown, and taught to the redactor for every later line
  for (const c of [...urlCredentials(r.otherHost, 'secret'), ...urlCredentials(r.url, 'secret')]) ctx.reporter.redactor.add(c);
  const shown = maskUrlCredentials;
  if (r.otherHost) {
    throw new PreflightError(`${clusterEnvShown(ctx.cfg)}: DEPLOY_HEALTHCHECK_URL: ${shown(url)} redirects to ${shown(r.otherHost)}, which the health check does not follow (another host) — set DEPLOY_HEALTHCHECK_URL=${shown(r.otherHost)}`);
  }
  if (r.hops.length) {
    ctx.release.healthUrl = r.url;
    ctx.reporter.warn(`${clusterEnvShown(ctx.cfg)}: DEPLOY_HEALTHCHECK_URL: ${shown(url)} redirects to ${shown(r.url)} (the same host): this run checks ${shown(r.url)} — write it in cluster.env`);
  }
  const prev = ctx.state.previous;
  ctx.state.servedBefore = r.attempt.ok;
  if (!r.attempt.ok) {
    if (!prev) return handle.progress(`${shown(r.url)}: ${r.attempt.detail} — no known-good release serves yet (a first deploy): not a failure`);
    throw new PreflightError(
      `${clusterEnvShown(ctx.cfg)}: DEPLOY_HEALTHCHECK_URL: ${shown(r.url)} answers ${r.attempt.detail} now, while the known-good release ${prev.deployId} (tag ${prev.tag}) serves — every deploy would be judged unhealthy and rolled back. Point it at the serving release through the load balancer; to deploy anyway (a fix for an outage), SKIP_HEALTHCHECK=1`,
    );
  }
  handle.progress(`${shown(r.url)}: ${r.attempt.detail} from the serving release${prev ? ` ${prev.deployId}` : ''}`);
}
