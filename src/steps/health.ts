import { DeployFailed } from '../errors.js';
import { waitHealthy } from '../io/http.js';
import type { StepHandle } from '../ui/reporter.js';
import { note, type Ctx, type StepPlan } from './context.js';

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
