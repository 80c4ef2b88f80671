import { swarmInfo } from '../commands/docker.js';
import { PreflightError } from '../errors.js';
import { knownHostsName } from '../io/known-hosts.js';
import { ManagerSession, resolveTarget, type SshTarget } from '../io/ssh.js';
import { cmd, exec, note, type Ctx, type StepPlan } from './context.js';

export function sshTarget(ctx: Pick<Ctx, 'cfg'>): SshTarget {
  const c = ctx.cfg.cluster;
  return resolveTarget({
    host: c.DEPLOY_MANAGER_HOST,
    user: c.DEPLOY_MANAGER_USER ?? '',
    port: c.DEPLOY_MANAGER_SSH_PORT,
    key: c.DEPLOY_SSH_KEY,
    knownHosts: c.DEPLOY_KNOWN_HOSTS,
    jump: c.DEPLOY_SSH_JUMP,
  });
}

export function plan(ctx: Pick<Ctx, 'cfg'>): StepPlan {
  const t = sshTarget(ctx);
  return {
    title: 'Connect to the manager',
    entries: [
      ...t.jumps.map((j, i) =>
        note(`jump host ${i + 1} of ${t.jumps.length}: ${j.username}@${j.host}:${j.port}${j.alias !== j.host ? ` (alias ${j.alias})` : ''}; host key checked against ${j.knownHostsPath} (${knownHostsName(j.host, j.port)})`),
      ),
      note(`one SSH connection ${t.username}@${t.host}:${t.port}${t.jumps.length ? ` (through the jump host${t.jumps.length > 1 ? 's' : ''} above, one connection each)` : ''} for the whole run; host key checked against ${t.knownHostsPath} (${knownHostsName(t.host, t.port)})`),
      cmd(swarmInfo()),
      note('the node must be an active swarm manager; every remote command runs under umask 077 (what the tool creates there is owner-only)'),
    ],
  };
}

/** Opens the run's one connection and checks that the manager can run the deploy. */
export async function run(ctx: Ctx): Promise<void> {
  ctx.session = await ManagerSession.connect(sshTarget(ctx));
  const info = await exec(ctx, swarmInfo());
  if (info.exitCode !== 0) {
    throw new PreflightError(`the manager cannot run docker as ${ctx.session.target.username}: ${info.stderr.trim().split('\n').pop()} — install docker and add the user to the docker group`);
  }
  let swarm: { LocalNodeState?: string; ControlAvailable?: boolean };
  try {
    swarm = JSON.parse(info.stdout) as typeof swarm;
  } catch {
    throw new PreflightError(`unexpected answer from \`docker info\` on the manager: ${info.stdout.slice(0, 200)}`);
  }
  if (swarm.LocalNodeState !== 'active') {
    throw new PreflightError(`${ctx.cfg.cluster.DEPLOY_MANAGER_HOST} is not part of a swarm (state: ${swarm.LocalNodeState ?? 'unknown'}) — run \`docker swarm init\` there first (see shit_deploy_cant_do.md)`);
  }
  if (!swarm.ControlAvailable) {
    throw new PreflightError(`${ctx.cfg.cluster.DEPLOY_MANAGER_HOST} is a swarm worker, not a manager — point DEPLOY_MANAGER_HOST at a manager node`);
  }
}
