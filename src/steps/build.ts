import path from 'node:path';
import { buildxBake, dockerBuild, dockerPush, manifestInspect, type BakeDefinition, type BuildSpec } from '../commands/docker.js';
import { display } from '../commands/command.js';
import { CommandFailed, PreflightError } from '../errors.js';
import { tail } from '../io/runner.js';
import { APP_SERVICES, type AppService } from '../release.js';
import { cmd, exec, execChecked, note, type Ctx, type PlanEntry, type StepPlan } from './context.js';
import { builderProblems, type Builder } from './builder.js';
import { buildPlatforms, laptopPlatform, offeredPlatforms, platformProblem } from './platforms.js';

function spec(ctx: Pick<Ctx, 'settings' | 'release'> & { state?: Ctx['state'] }, service: AppService): BuildSpec {
  const s = ctx.settings;
  return {
    target: service,
    image: ctx.release.images[service],
    latestImage: ctx.release.latestImages?.[service],
    context: s.context,
    dockerfile: s.dockerfile,
    buildArgs: s.buildArgs,
    // DEPLOY_PLATFORM, else the nodes' platforms when they are not this machine's (found at preflight)
    platform: s.platform ?? ctx.state?.buildPlatforms?.join(','),
  };
}

/**
 * bake reads its definition as HCL's JSON form, where `${…}` and `%{…}` in a string are interpolated (an unknown
 * variable fails the build, a known one is replaced): every string the tool puts there is escaped (`$${`, `%%{`)
 * so that it arrives as written.
 */
export function bakeLiteral(text: string): string {
  // (a function, not a replacement string: there `$$` would mean one `$`)
  return text.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{');
}

/**
 * One build graph for the three images: a bake definition with a target each, so the stages they share (the Go
 * module download and compile) are built once. Paths are absolute: bake reads the definition from stdin.
 */
export function bakeDefinition(ctx: Pick<Ctx, 'settings' | 'release'> & { state?: Ctx['state'] }): BakeDefinition {
  const target = Object.fromEntries(
    APP_SERVICES.map((s) => {
      const sp = spec(ctx, s);
      const args = Object.fromEntries(sp.buildArgs.map((a) => [a.slice(0, a.indexOf('=')), bakeLiteral(a.slice(a.indexOf('=') + 1))]));
      return [s, {
        context: bakeLiteral(path.resolve(sp.context)),
        dockerfile: bakeLiteral(path.resolve(sp.dockerfile)),
        target: s,
        tags: [sp.image, ...(sp.latestImage ? [sp.latestImage] : [])],
        ...(Object.keys(args).length ? { args } : {}),
        ...(sp.platform ? { platforms: sp.platform.split(',').map((p) => p.trim()) } : {}),
      }];
    }),
  );
  return { group: { default: { targets: [...APP_SERVICES] } }, target };
}

function classicCommands(ctx: Pick<Ctx, 'settings' | 'release'> & { state?: Ctx['state'] }, service: AppService) {
  const sp = spec(ctx, service);
  return [dockerBuild(sp), dockerPush(sp.image), ...(sp.latestImage ? [dockerPush(sp.latestImage)] : [])];
}

export function plan(ctx: Pick<Ctx, 'settings' | 'release'>): StepPlan {
  if (ctx.settings.skipBuild) {
    return { title: 'Build and push images', entries: [note('skipped (SKIP_BUILD): the images must already be in the registry')] };
  }
  const builder = ctx.release.builder ?? { kind: 'classic', why: 'not probed' };
  const entries: PlanEntry[] =
    builder.kind === 'buildx'
      ? [
          note(`builder: ${builder.version}${builder.driver ? `, driver ${builder.driver}` : ''} — one build graph for the three images (the stages they share are built once), pushed as they finish`),
          cmd(buildxBake(bakeDefinition(ctx))),
        ]
      : [
          note(`builder: the classic docker build (${builder.why}); the three build+push chains run concurrently, the first failure cancels the others`),
          ...APP_SERVICES.flatMap((s) => classicCommands(ctx, s).map(cmd)),
        ];
  if (ctx.release.dirty) entries.unshift(note(`the working tree is dirty: building it as ${ctx.release.tag}, not as the clean commit's tag`));
  if (!ctx.settings.platform) entries.push(note(`platform: the nodes' (read at preflight); when they run another than this machine's (${laptopPlatform()}), the build targets theirs (--platform), several as one multi-platform build`));
  return { title: 'Build and push images', entries };
}

async function classic(ctx: Ctx): Promise<void> {
  // the first failure cancels the other builds (as a signal does): fail fast, report the real cause
  const siblings = new AbortController();
  const cancel = AbortSignal.any([ctx.interrupt.abortSignal, siblings.signal]);
  let firstFailure: unknown;
  const chains = APP_SERVICES.map(async (service) => {
    try {
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

/** Without DEPLOY_PLATFORM: build for the nodes when they run another platform than this machine. */
function targetNodes(ctx: Ctx, builder: Builder): void {
  if (ctx.settings.platform) return;
  const platforms = buildPlatforms(ctx.state.nodes);
  if (!platforms) return;
  const problems = builderProblems({ ...ctx.settings, platform: platforms.join(',') }, builder, false).map((p) =>
    p.replace(/^environment: DEPLOY_PLATFORM: /, `the nodes run ${platforms.join(', ')} (this machine builds ${laptopPlatform()}): `),
  );
  if (problems.length) throw new PreflightError(problems.join('\n'));
  ctx.state.buildPlatforms = platforms;
  ctx.reporter.info(`building for ${platforms.join(', ')}: the nodes' platform${platforms.length > 1 ? 's' : ''}, not this machine's (${laptopPlatform()}) — set DEPLOY_PLATFORM to choose`);
}

export async function run(ctx: Ctx): Promise<void> {
  const builder = ctx.release.builder;
  if (!builder) throw new PreflightError('the builder was not probed');
  targetNodes(ctx, builder);
  if (builder.kind === 'classic') return classic(ctx);
  // one invocation: buildx cancels every other target at the first failure; that failure is the one reported
  const command = buildxBake(bakeDefinition(ctx));
  const r = await exec(ctx, command, { cancel: ctx.interrupt.abortSignal });
  ctx.interrupt.check();
  if (r.exitCode !== 0) {
    throw new CommandFailed(display(command), r.exitCode, ctx.reporter.redactor.redact(tail(r.stderr || r.stdout)), `building the three images (one build graph): ${firstBakeFailure(r.stderr)}`);
  }
}

/** The failed step bake names first in its summary (` > [api] pushing …`), e.g. "[api] pushing reg/x:tag failed". */
export function firstBakeFailure(stderr: string): string {
  const step = /^ > (\[[^\]]+\] .*?)(?::)?$/m.exec(stderr)?.[1];
  return step ? `${step.replace(/ with docker$/, '')} failed first` : 'the build failed';
}

export function verifyPlan(ctx: Pick<Ctx, 'cfg' | 'release'>): StepPlan {
  return {
    title: 'Verify the images are in the registry',
    entries: [
      ...APP_SERVICES.map((s) => cmd(manifestInspect(ctx.release.images[s], ctx.cfg.registry.REGISTRY, 'local', { verbose: true }))),
      note('each image must offer every platform the ready nodes run (docker node inspect: Description.Platform): otherwise exit 2 before the stack is touched, naming the image, what it offers and which nodes need what'),
    ],
  };
}

/** Every image this release deploys must exist before the cluster is touched. */
export async function verify(ctx: Ctx): Promise<void> {
  const missing: string[] = [];
  const wrongPlatform: string[] = [];
  await Promise.all(
    APP_SERVICES.map(async (s) => {
      const image = ctx.release.images[s];
      const r = await exec(ctx, manifestInspect(image, ctx.cfg.registry.REGISTRY, 'local', { verbose: true }));
      if (r.exitCode !== 0) missing.push(`${image} (${r.stderr.trim().split('\n').pop() || `exit ${r.exitCode}`})`);
      else {
        const problem = platformProblem(image, offeredPlatforms(r.stdout), ctx.state.nodes);
        if (problem) wrongPlatform.push(problem);
      }
    }),
  );
  if (wrongPlatform.length) throw new PreflightError(wrongPlatform.sort().join('\n'));
  if (missing.length) {
    throw new PreflightError(
      `not in the registry: ${missing.sort().join(', ')} — push the images first (see the multi-arch recipe in the README) or deploy a tag that exists with --tag`,
    );
  }
}

