import { registryLogin, registryLogout } from '../commands/docker.js';
import type { Where } from '../commands/command.js';
import { PreflightError } from '../errors.js';
import { cmd, exec, note, type Ctx, type StepPlan } from './context.js';

function login(ctx: Pick<Ctx, 'cfg'>, where: Where) {
  const r = ctx.cfg.registry;
  return registryLogin(where, r.REGISTRY, r.REGISTRY_USERNAME, r.REGISTRY_TOKEN);
}

export function plan(ctx: Pick<Ctx, 'cfg'>): StepPlan {
  return {
    title: 'Log in to the registry (laptop and manager)',
    entries: [
      cmd(login(ctx, 'local')),
      cmd(login(ctx, 'manager')),
      note('the manager must be logged in: --with-registry-auth hands its credential to swarm so nodes can pull'),
    ],
  };
}

async function loginOn(ctx: Ctx, where: Where): Promise<void> {
  const result = await exec(ctx, login(ctx, where));
  if (result.exitCode !== 0) {
    const why = ctx.reporter.redactor.redact(result.stderr.trim().split('\n').pop() ?? '');
    throw new PreflightError(
      `registry login on the ${where === 'local' ? 'laptop' : 'manager'} failed: ${why} — check REGISTRY, REGISTRY_USERNAME and REGISTRY_TOKEN in registry.env and that ${ctx.cfg.registry.REGISTRY} is reachable from there`,
    );
  }
  if (where === 'local') ctx.state.loggedInLocal = true;
  else ctx.state.loggedInManager = true;
}

/** A rollback pulls the previous images: only the manager needs to be logged in. */
export async function loginManager(ctx: Ctx): Promise<void> {
  ctx.state.loggedInManager = true;
  await loginOn(ctx, 'manager');
}

export async function run(ctx: Ctx): Promise<void> {
  // remember the login before trying: a half-succeeded login must still be logged out
  ctx.state.loggedInLocal = true;
  await loginOn(ctx, 'local');
  ctx.state.loggedInManager = true;
  await loginOn(ctx, 'manager');
}

export function logoutPlan(ctx: Pick<Ctx, 'cfg'>): StepPlan {
  return {
    title: 'Log out of the registry (always, also after a failure)',
    entries: [cmd(registryLogout('local', ctx.cfg.registry.REGISTRY)), cmd(registryLogout('manager', ctx.cfg.registry.REGISTRY))],
  };
}

/** Never throws: reports what it could not do. Returns the problems. */
export async function logout(ctx: Ctx): Promise<string[]> {
  const problems: string[] = [];
  if (ctx.state.loggedInLocal) {
    const r = await ctx.local.run(registryLogout('local', ctx.cfg.registry.REGISTRY)).catch((e: Error) => ({ exitCode: 1, stderr: e.message, stdout: '' }));
    if (r.exitCode === 0) ctx.state.loggedInLocal = false;
    else problems.push(`laptop: \`docker logout ${ctx.cfg.registry.REGISTRY}\` failed: ${r.stderr.trim()}`);
  }
  if (ctx.state.loggedInManager) {
    if (!ctx.session?.alive) {
      problems.push(`manager: not logged out (no connection) — run \`docker logout ${ctx.cfg.registry.REGISTRY}\` there`);
    } else {
      const r = await ctx.session.run(registryLogout('manager', ctx.cfg.registry.REGISTRY)).catch((e: Error) => ({ exitCode: 1, stderr: e.message, stdout: '' }));
      if (r.exitCode === 0) ctx.state.loggedInManager = false;
      else problems.push(`manager: \`docker logout ${ctx.cfg.registry.REGISTRY}\` failed: ${r.stderr.trim()}`);
    }
  }
  return problems;
}
