import { swarmQuorum } from '../commands/docker.js';
import { parseManagerList, showEntry } from '../config/managers.js';
import { PreflightError } from '../errors.js';
import fs from 'node:fs';
import { knownHostsName, knownKeyAlgorithms, readKnownHosts } from '../io/known-hosts.js';
import { ManagerSession, resolveTarget, type SshTarget } from '../io/ssh.js';
import { SwarmStore } from '../store/swarm.js';
import { cmd, note, type Ctx, type StepPlan } from './context.js';

/** Every listed manager, in order, resolved as ssh would (each may be an ~/.ssh/config alias). */
export function sshTargets(ctx: Pick<Ctx, 'cfg'>): SshTarget[] {
  const c = ctx.cfg.cluster;
  return parseManagerList(c.DEPLOY_MANAGER_HOST).entries.map((e) =>
    resolveTarget({
      host: e.host,
      user: c.DEPLOY_MANAGER_USER ?? '',
      port: e.port ?? c.DEPLOY_MANAGER_SSH_PORT,
      key: c.DEPLOY_SSH_KEY,
      knownHosts: c.DEPLOY_KNOWN_HOSTS,
      jump: c.DEPLOY_SSH_JUMP,
    }),
  );
}

/**
 * The laptop's side of SSH, read-only, before a real run needs it: each host's key in its known_hosts file, and a
 * key to log in with (a readable key file, or an agent's socket). One line each for what is missing.
 */
export function laptopSshProblems(targets: readonly SshTarget[]): string[] {
  const problems: string[] = [];
  const endpoints = [...new Map(targets.flatMap((t) => [...t.jumps, t]).map((e) => [`${e.host}:${e.port}:${e.knownHostsPath}`, e])).values()];
  for (const e of endpoints) {
    const name = knownHostsName(e.host, e.port);
    if (!knownKeyAlgorithms(readKnownHosts(e.knownHostsPath), name)) {
      problems.push(`${name}: no host key for it in ${e.knownHostsPath} — check its fingerprint on that host, then trust it: ssh-keyscan -p ${e.port} ${e.host} >> ${e.knownHostsPath}`);
    }
  }
  const t = targets[0];
  if (t) {
    const readable = (f: string) => {
      try {
        fs.accessSync(f, fs.constants.R_OK);
        return fs.statSync(f).isFile();
      } catch {
        return false;
      }
    };
    if (t.explicitKey && !readable(t.explicitKey)) problems.push(`cluster.env: DEPLOY_SSH_KEY: ${t.explicitKey} cannot be read — check the path`);
    const agent = t.agentSocket !== undefined && fs.existsSync(t.agentSocket);
    if (!t.explicitKey && !agent && !t.identityFiles.some(readable)) {
      problems.push(`${t.username}@${t.host}:${t.port}: no key to log in with: DEPLOY_SSH_KEY is not set, no ssh-agent (SSH_AUTH_SOCK) is running, and none of ${t.identityFiles.slice(0, 3).join(', ')}… exists — set DEPLOY_SSH_KEY in cluster.env, or start an agent and ssh-add your key`);
    }
  }
  return problems;
}

/** The first listed manager (what a person is told to ssh to when nothing is connected). */
export function sshTarget(ctx: Pick<Ctx, 'cfg'>): SshTarget {
  return sshTargets(ctx)[0]!;
}

export function plan(ctx: Pick<Ctx, 'cfg'>): StepPlan {
  const targets = sshTargets(ctx);
  const several = targets.length > 1;
  const entries = parseManagerList(ctx.cfg.cluster.DEPLOY_MANAGER_HOST).entries;
  return {
    title: 'Connect to a manager',
    entries: [
      ...(several ? [note(`managers, tried in this order: ${entries.map(showEntry).join(', ')}; the first that answers and is a manager of a swarm with quorum serves the run; if it is lost mid-run, the run goes on through the next one that is up`)] : []),
      ...targets.flatMap((t, k) => [
        ...t.jumps.map((j, i) =>
          note(`${several ? `manager ${k + 1}: ` : ''}jump host ${i + 1} of ${t.jumps.length}: ${j.username}@${j.host}:${j.port}${j.alias !== j.host ? ` (alias ${j.alias})` : ''}; host key checked against ${j.knownHostsPath} (${knownHostsName(j.host, j.port)})`),
        ),
        note(`${several ? `manager ${k + 1}: ` : ''}one SSH connection ${t.username}@${t.host}:${t.port}${t.alias !== t.host ? ` (alias ${t.alias})` : ''}${t.jumps.length ? ` (through the jump host${t.jumps.length > 1 ? 's' : ''} above, one connection each)` : ''} for the whole run; host key checked against ${t.knownHostsPath} (${knownHostsName(t.host, t.port)})`),
      ]),
      cmd(swarmQuorum()),
      note('the node must be an active swarm manager of a swarm with quorum; every remote command runs under umask 077 (what the tool creates there is owner-only)'),
      note(`the tool's memory (lock, release records, known-good marks, audit) is kept in swarm configs: every manager sees the same`),
    ],
  };
}

interface SwarmJson {
  LocalNodeState?: string;
  ControlAvailable?: boolean;
  Managers?: number;
}

/** Why this manager cannot serve the run, or undefined when it can (an active manager of a swarm with quorum). */
export async function refuseManager(session: ManagerSession): Promise<string | undefined> {
  const info = await session.run(swarmQuorum());
  if (info.exitCode !== 0) return `cannot run docker as ${session.target.username}: ${info.stderr.trim().split('\n').pop()} — install docker and add the user to the docker group`;
  const [json, quorum] = info.stdout.trim().split('\n');
  let swarm: SwarmJson;
  try {
    swarm = JSON.parse(json ?? '') as SwarmJson;
  } catch {
    return `unexpected answer from \`docker info\`: ${info.stdout.slice(0, 200)}`;
  }
  if (swarm.LocalNodeState !== 'active') return `is not part of a swarm (state: ${swarm.LocalNodeState ?? 'unknown'}) — run \`docker swarm init\` there first (see shit_deploy_cant_do.md)`;
  if (!swarm.ControlAvailable) return 'is a swarm worker, not a manager — point DEPLOY_MANAGER_HOST at manager nodes';
  if (quorum !== 'quorum') {
    return `is a manager, but the swarm has no quorum (fewer than half of its ${swarm.Managers ?? '?'} managers are reachable): nothing can be deployed — bring managers back, or as a last resort run \`docker swarm init --force-new-cluster\` on a surviving manager (see shit_deploy_cant_do.md)`;
  }
  return undefined;
}

/** Opens the run's one connection (to the first listed manager that can serve it) and its store. */
export async function run(ctx: Ctx): Promise<void> {
  const targets = sshTargets(ctx);
  try {
    ctx.session = await ManagerSession.connect(targets, { accept: refuseManager, readyTimeoutMs: ctx.settings.sshTimeoutSeconds * 1000 });
  } catch (e) {
    if (e instanceof PreflightError && targets.length === 1 && !/cannot reach|refused|host key|cannot log in|closed before/.test(e.message)) {
      throw new PreflightError(`${ctx.cfg.cluster.DEPLOY_MANAGER_HOST} ${e.message}`);
    }
    throw e;
  }
  ctx.store = new SwarmStore(ctx.session, ctx.release.stackName);
  if (targets.length > 1) ctx.reporter.info(`connected to ${ctx.session.describe()} (manager ${ctx.session.index + 1} of ${targets.length})`);
}
