/** The hooks as steps of a run: pre- hooks can stop it (exit 2), post- hooks only warn. See hooks.ts. */
import { HOOK_WHEN, hookCommand, hookEnvironment, hookVariables, runHook, type Hook, type HookName, type HookRun } from '../hooks.js';
import { PreflightError } from '../errors.js';
import type { Summary } from '../lifecycle.js';
import { cmd, note, type Ctx, type PlanCtx, type StepPlan } from './context.js';

export function hookOf(ctx: Pick<PlanCtx, 'cfg'>, name: HookName): Hook | undefined {
  return ctx.cfg.hooks.find((h) => h.name === name);
}

export function plan(ctx: Pick<PlanCtx, 'cfg'>, name: HookName): StepPlan {
  const hook = hookOf(ctx, name);
  return {
    title: `Run the ${name} hook`,
    entries: hook
      ? [cmd(hookCommand(hook, ctx.cfg.deployDir)), note(`on this machine, ${HOOK_WHEN[name]}; stopped after ${ctx.cfg.cluster.DEPLOY_HOOK_TIMEOUT}s (DEPLOY_HOOK_TIMEOUT); your environment without any variable holding a secret of the deploy, plus HONEYDUE_* (README: "Hooks")`)]
      : [],
  };
}

function describeRun(ctx: Ctx, command: HookRun['command'], target: { deployId: string; tag: string }): HookRun {
  return {
    command,
    stack: ctx.release.stackName,
    deployId: target.deployId,
    tag: target.tag,
    manager: ctx.cfg.cluster.DEPLOY_MANAGER_HOST,
    deployDir: ctx.cfg.deployDir,
    previousId: ctx.state.previous?.deployId,
  };
}

async function runOne(ctx: Ctx, hook: Hook, run: HookRun) {
  return runHook(hook, {
    local: ctx.local,
    deployDir: ctx.cfg.deployDir,
    env: hookEnvironment(process.env, ctx.reporter.redactor, hookVariables(hook.name, run)),
    timeoutSeconds: ctx.cfg.cluster.DEPLOY_HOOK_TIMEOUT,
    print: (l) => ctx.reporter.info(`    ${l}`),
  });
}

/** A pre- hook: its failure stops the run before the cluster is touched. */
export async function runPre(ctx: Ctx, name: 'pre-deploy' | 'pre-rollback', target: { deployId: string; tag: string }): Promise<void> {
  const hook = hookOf(ctx, name);
  if (!hook) return;
  const r = await runOne(ctx, hook, describeRun(ctx, name === 'pre-deploy' ? 'deploy' : 'rollback', target));
  if (!r.ok) {
    ctx.state.hookRefused = true;
    throw new PreflightError(`${r.why} — the ${name === 'pre-deploy' ? 'deploy' : 'rollback'} was stopped before anything on the cluster was touched`);
  }
}

/** A post- hook: told how the run ended; its failure is a warning, the outcome and exit code stay. */
export async function runPost(ctx: Ctx, name: 'post-deploy' | 'post-rollback', command: HookRun['command'], target: { deployId: string; tag: string }, summary: Summary, servingId: string | undefined): Promise<void> {
  const hook = hookOf(ctx, name);
  if (!hook) return;
  ctx.reporter.info(`running the ${name} hook`);
  // whatever happens to a post- hook, the run's outcome stands: nothing here may throw past the run
  const r = await runOne(ctx, hook, { ...describeRun(ctx, command, target), outcome: summary.outcome, exitCode: summary.exitCode, serving: summary.serving, servingId }).catch((e: Error) => ({
    ok: false,
    why: `the ${name} hook (${hook.path}) could not be run: ${e.message}`,
  }));
  if (!r.ok) ctx.reporter.warn(`${r.why} — the outcome stands (exit ${summary.exitCode})`);
}
