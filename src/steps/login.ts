import { byHand, local, type Where } from '../commands/command.js';
import { registryLogin, registryLogout } from '../commands/docker.js';
import { readUserDockerConfig, remoteDockerConfigDir, removeRemoteDockerConfig, setupRemoteDockerConfig } from '../commands/remote-files.js';
import { PreflightError, errorMessage } from '../errors.js';
import { createLocalDockerConfig, removeLocalDockerConfig, removeStaleLocalConfigs, withoutCredentials } from '../io/docker-config.js';
import { cmd, exec, execChecked, manager, note, upload, type Ctx, type StepPlan } from './context.js';

function login(ctx: Pick<Ctx, 'cfg'>, where: Where) {
  const r = ctx.cfg.registry;
  return registryLogin(where, r.REGISTRY, r.REGISTRY_USERNAME, r.REGISTRY_TOKEN);
}

export function plan(ctx: Pick<Ctx, 'cfg' | 'release'>): StepPlan {
  const r = ctx.release;
  return {
    title: 'Log in to the registry (laptop and manager)',
    entries: [
      note('laptop: a private docker config for this run (a 0700 temp folder, DOCKER_CONFIG) — your own docker login is never touched; plugins, contexts and settings are carried over, credentials are not'),
      cmd(login(ctx, 'local')),
      cmd(setupRemoteDockerConfig(r.remoteDir, r.deployId)),
      cmd(readUserDockerConfig()),
      upload({ kind: 'upload', remotePath: `${remoteDockerConfigDir(r.remoteDir, r.deployId)}/config.json`, mode: 0o600, data: '{}', label: 'the user\'s config.json without credentials' }),
      note('manager: every docker command of the run uses that folder (DOCKER_CONFIG); folders left by killed runs are removed first'),
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
}

/** The laptop's private docker config: created before the login, so the credential never reaches the user's. */
function useLocalDockerConfig(ctx: Ctx): void {
  for (const stale of removeStaleLocalConfigs()) ctx.reporter.info(`removed ${stale}: the private docker config of a run that was killed`);
  ctx.state.localDockerConfig = createLocalDockerConfig();
  ctx.local.env.DOCKER_CONFIG = ctx.state.localDockerConfig;
}

async function useRemoteDockerConfig(ctx: Ctx): Promise<void> {
  const { remoteDir, deployId } = ctx.release;
  const r = await execChecked(ctx, setupRemoteDockerConfig(remoteDir, deployId), 'creating the private docker config on the manager');
  const dir = r.stdout.trim().split('\n').pop()!;
  ctx.state.remoteDockerConfig = dir;
  const own = await exec(ctx, readUserDockerConfig());
  await manager(ctx).upload({ kind: 'upload', remotePath: `${dir}/config.json`, mode: 0o600, data: withoutCredentials(own.stdout), label: 'config.json without credentials' });
  manager(ctx).dockerConfig = dir;
}

/** A rollback pulls the previous images: only the manager needs to be logged in. */
export async function loginManager(ctx: Ctx): Promise<void> {
  await useRemoteDockerConfig(ctx);
  ctx.state.loggedInManager = true;
  await loginOn(ctx, 'manager');
}

export async function run(ctx: Ctx): Promise<void> {
  useLocalDockerConfig(ctx);
  // remember the login before trying: a half-succeeded login must still be cleaned up
  ctx.state.loggedInLocal = true;
  // the laptop's and the manager's logins are independent: side by side; the first failure is reported
  const [laptop, mgr] = await Promise.allSettled([loginOn(ctx, 'local'), loginManager(ctx)]);
  for (const r of [laptop, mgr]) if (r.status === 'rejected') throw r.reason;
}

export function logoutPlan(ctx: Pick<Ctx, 'cfg' | 'release'>): StepPlan {
  return {
    title: 'Log out of the registry and remove the private docker configs (always, also after a failure)',
    entries: [
      cmd(registryLogout('local', ctx.cfg.registry.REGISTRY)),
      note('laptop: remove the private docker config folder'),
      cmd(registryLogout('manager', ctx.cfg.registry.REGISTRY)),
      cmd(removeRemoteDockerConfig(remoteDockerConfigDir(ctx.release.remoteDir, ctx.release.deployId))),
    ],
  };
}

/** Never throws: reports what it could not do. Returns the problems. */
export async function logout(ctx: Ctx): Promise<string[]> {
  // the laptop's side and the manager's side are independent: side by side
  const [laptop, mgr] = await Promise.all([logoutLocal(ctx), logoutManager(ctx)]);
  return [...laptop, ...mgr];
}

async function logoutLocal(ctx: Ctx): Promise<string[]> {
  const localDir = ctx.state.localDockerConfig;
  if (!localDir) return [];
  if (ctx.state.loggedInLocal) await ctx.local.run(registryLogout('local', ctx.cfg.registry.REGISTRY)).catch(() => undefined);
  try {
    removeLocalDockerConfig(localDir);
    ctx.state.localDockerConfig = undefined;
    ctx.state.loggedInLocal = false;
    delete ctx.local.env.DOCKER_CONFIG;
    return [];
  } catch (e) {
    return [`laptop: the private docker config ${localDir} could not be removed (${errorMessage(e)}) — remove it: ${byHand(local(['rm', '-rf', '--', localDir]))}`];
  }
}

async function logoutManager(ctx: Ctx): Promise<string[]> {
  const dir = ctx.state.remoteDockerConfig;
  if (!dir) return [];
  const removal = byHand(removeRemoteDockerConfig(dir));
  if (!ctx.session?.alive) return [`manager: the private docker config holding the registry login was not removed (no connection) — run \`${removal}\` there`];
  if (ctx.state.loggedInManager) await ctx.session.run(registryLogout('manager', ctx.cfg.registry.REGISTRY)).catch(() => undefined);
  const r = await ctx.session.run(removeRemoteDockerConfig(dir)).catch((e: Error) => ({ exitCode: 1, stderr: e.message, stdout: '' }));
  if (r.exitCode !== 0) return [`manager: \`${removal}\` failed: ${r.stderr.trim()}`];
  ctx.state.remoteDockerConfig = undefined;
  ctx.state.loggedInManager = false;
  ctx.session.dockerConfig = undefined;
  return [];
}
