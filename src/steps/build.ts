import { buildxVersion, dockerBuild, dockerBuildxBuild, dockerPush, manifestInspect, type BuildSpec } from '../commands/docker.js';
import { PreflightError } from '../errors.js';
import { APP_SERVICES, type AppService } from '../release.js';
import { cmd, exec, execChecked, note, type Ctx, type PlanEntry, type StepPlan } from './context.js';

function spec(ctx: Pick<Ctx, 'settings' | 'release'>, service: AppService): BuildSpec {
  const s = ctx.settings;
  return {
    target: service,
    image: ctx.release.images[service],
    latestImage: ctx.release.latestImages?.[service],
    context: s.context,
    dockerfile: s.dockerfile,
    buildArgs: s.buildArgs,
    platform: s.platform,
  };
}

function classicCommands(ctx: Pick<Ctx, 'settings' | 'release'>, service: AppService) {
  const sp = spec(ctx, service);
  return [dockerBuild(sp), dockerPush(sp.image), ...(sp.latestImage ? [dockerPush(sp.latestImage)] : [])];
}

export function plan(ctx: Pick<Ctx, 'settings' | 'release'>): StepPlan {
  if (ctx.settings.skipBuild) {
    return { title: 'Build and push images', entries: [note('skipped (SKIP_BUILD): the images must already be in the registry')] };
  }
  const entries: PlanEntry[] = [
    cmd(buildxVersion()),
    note('with buildx (the three run concurrently):'),
    ...APP_SERVICES.map((s) => cmd(dockerBuildxBuild(spec(ctx, s)))),
    note('without buildx (the three build+push chains run concurrently):'),
    ...APP_SERVICES.flatMap((s) => classicCommands(ctx, s).map(cmd)),
  ];
  if (ctx.release.dirty) entries.unshift(note(`the working tree is dirty: building it as ${ctx.release.tag}, not as the clean commit's tag`));
  return { title: 'Build and push images', entries };
}

export async function run(ctx: Ctx): Promise<void> {
  const buildx = (await exec(ctx, buildxVersion())).exitCode === 0;
  if (ctx.settings.platform && !buildx) {
    throw new PreflightError(`command line: --platform: ${ctx.settings.platform} needs docker buildx, which is not installed here — install buildx, or build on a machine of that platform and use SKIP_BUILD`);
  }
  // the first failure cancels the other builds (as a signal does): fail fast, report the real cause
  const siblings = new AbortController();
  const cancel = AbortSignal.any([ctx.interrupt.abortSignal, siblings.signal]);
  let firstFailure: unknown;
  const chains = APP_SERVICES.map(async (service) => {
    try {
      if (buildx) {
        await execChecked(ctx, dockerBuildxBuild(spec(ctx, service)), `building ${service}`, { cancel });
        return;
      }
      for (const c of classicCommands(ctx, service)) {
        await execChecked(ctx, c, `${c.argv[1] === 'build' ? 'building' : 'pushing'} ${service}`, { cancel });
      }
    } catch (err) {
      if (!cancel.aborted) firstFailure ??= err;
      siblings.abort();
      throw err;
    }
  });
  // wait for all three to end: never leave a build running in the background
  await Promise.allSettled(chains);
  ctx.interrupt.check();
  if (firstFailure !== undefined) throw firstFailure;
}

export function verifyPlan(ctx: Pick<Ctx, 'cfg' | 'release'>): StepPlan {
  return {
    title: 'Verify the images are in the registry',
    entries: APP_SERVICES.map((s) => cmd(manifestInspect(ctx.release.images[s], ctx.cfg.registry.REGISTRY))),
  };
}

/** Every image this release deploys must exist before the cluster is touched. */
export async function verify(ctx: Ctx): Promise<void> {
  const missing: string[] = [];
  await Promise.all(
    APP_SERVICES.map(async (s) => {
      const image = ctx.release.images[s];
      const r = await exec(ctx, manifestInspect(image, ctx.cfg.registry.REGISTRY));
      if (r.exitCode !== 0) missing.push(`${image} (${r.stderr.trim().split('\n').pop() || `exit ${r.exitCode}`})`);
    }),
  );
  if (missing.length) {
    throw new PreflightError(
      `not in the registry: ${missing.sort().join(', ')} — push the images first (see the multi-arch recipe in the README) or deploy a tag that exists with --tag`,
    );
  }
}
