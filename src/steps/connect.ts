import { swarmQuorum } from '../commands/docker.js';
import { parseManagerList, showEntry } from '../config/managers.js';
import { PreflightError } from '../errors.js';
import fs from 'node:fs';
import { fileWith } from '../io/file-access.js';
import { spawnSync } from 'node:child_process';
import { sshResolver } from '../io/ssh-config.js';
import { knownKeyAlgorithms } from '../io/known-hosts.js';
import { hostKeyName, keyscanLine, shownFiles, knownHostsTexts, ManagerSession, resolveTarget, type SshEndpoint, type SshTarget } from '../io/ssh.js';
import { SwarmStore } from '../store/swarm.js';
import { cmd, note, type Ctx, type StepPlan } from './context.js';

/** How every command connects: refusing a manager that cannot serve, DEPLOY_SSH_TIMEOUT, DEPLOY_SSH_MAX_CHANNELS. */
export function sessionOptions(cfg: Pick<Ctx['cfg'], 'cluster'>, settings: Pick<Ctx['settings'], 'sshTimeoutSeconds'>): { accept: typeof refuseManager; readyTimeoutMs: number; maxChannels: number; leaderWaitMs: number } {
  // a manager whose swarm is electing a leader is waited for (DEPLOY_SETTLE_TIMEOUT) before it counts as lost
  return { accept: refuseManager, readyTimeoutMs: settings.sshTimeoutSeconds * 1000, maxChannels: cfg.cluster.DEPLOY_SSH_MAX_CHANNELS ?? 4, leaderWaitMs: (cfg.cluster.DEPLOY_SETTLE_TIMEOUT ?? 60) * 1000 };
}

/** Every listed manager, in order, resolved as ssh would (each may be an ~/.ssh/config alias). */
export function sshTargets(ctx: Pick<Ctx, 'cfg'>): SshTarget[] {
  const c = ctx.cfg.cluster;
  return parseManagerList(c.DEPLOY_MANAGER_HOST).entries.map((e) =>
    resolveTarget({
      host: e.host,
      user: c.DEPLOY_MANAGER_USER ?? '',
      port: e.port ?? c.DEPLOY_MANAGER_SSH_PORT,
      portFrom: e.port !== undefined ? `cluster.env DEPLOY_MANAGER_HOST (${showEntry(e)})` : 'cluster.env DEPLOY_MANAGER_SSH_PORT',
      key: c.DEPLOY_SSH_KEY,
      knownHosts: c.DEPLOY_KNOWN_HOSTS,
      jump: c.DEPLOY_SSH_JUMP,
      sshConfig: c.DEPLOY_SSH_CONFIG,
    }),
  );
}

/** What the agent at `socket` holds: its public key blobs, or why it cannot be asked. */
export function agentKeys(socket: string): { keys: Buffer[] } | { why: string } {
  if (!fs.existsSync(socket)) return { why: `no agent listens at ${socket}` };
  const r = spawnSync('ssh-add', ['-L'], { env: { ...process.env, SSH_AUTH_SOCK: socket }, encoding: 'utf8', timeout: 5_000, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) return { keys: [] }; // no ssh-add to ask: the socket is there, the run will find out
  if (r.status === 1) return { why: `the agent at ${socket} holds no keys` };
  if (r.status !== 0) return { why: `the agent at ${socket} does not answer (${(r.stderr || '').trim() || `ssh-add exit ${r.status}`})` };
  return { keys: r.stdout.split('\n').map((l) => l.trim().split(/\s+/)[1]).filter((b): b is string => !!b).map((b) => Buffer.from(b, 'base64')) };
}

function readable(f: string): boolean {
  return fileWith(f, fs.constants.R_OK);
}

/** A file that holds a private key (a `.pub` an IdentityFile names is only a pointer into the agent). */
function privateKeyFile(f: string): boolean {
  if (!readable(f)) return false;
  try {
    const fd = fs.openSync(f, 'r');
    const head = Buffer.alloc(32);
    fs.readSync(fd, head, 0, 32, 0);
    fs.closeSync(fd);
    return /^(-----BEGIN |PuTTY-User-Key-File)/.test(head.toString('latin1'));
  } catch {
    return false;
  }
}

/** The public key an identity file names (its .pub, or the file itself when it is a public key), as a blob. */
function pubBlob(file: string): Buffer | undefined {
  for (const f of [`${file}.pub`, file]) {
    try {
      const [type, b64] = fs.readFileSync(f, 'utf8').trim().split(/\s+/);
      if (type && b64 && /^(ssh-|ecdsa-|sk-)/.test(type)) return Buffer.from(b64, 'base64');
    } catch {
      // not there: the next
    }
  }
  return undefined;
}

/**
 * The laptop's side of SSH, read-only, before a real run needs it: each host's key in its known_hosts files (by its
 * HostKeyAlias when one is set), and a way to log in to each hop: a readable key file, or an agent (IdentityAgent or
 * SSH_AUTH_SOCK) that holds a key — with IdentitiesOnly, one of the IdentityFile keys. One line each for what is missing.
 */
export function laptopSshProblems(targets: readonly SshTarget[]): string[] {
  const problems: string[] = [];
  const endpoints = [...new Map(targets.flatMap((t) => [...t.jumps, t]).map((e) => [`${e.host}:${e.port}:${hostKeyName(e)}:${e.knownHostsPath}`, e])).values()];
  for (const e of endpoints) {
    const name = hostKeyName(e);
    if (!knownKeyAlgorithms(knownHostsTexts(e).map((k) => k.text).join('\n'), name)) {
      problems.push(`${name}: no host key for it in ${shownFiles(e)} — check its fingerprint on that host, then trust it: ${keyscanLine(e)}`);
    }
  }
  const t = targets[0];
  if (!t) return problems;
  if (t.explicitKey && !readable(t.explicitKey)) problems.push(`cluster.env: DEPLOY_SSH_KEY: ${t.explicitKey} cannot be read — check the path`);
  const agents = new Map<string, ReturnType<typeof agentKeys>>();
  for (const e of [...t.jumps, t]) {
    if (t.explicitKey) break;
    const files = e.identityFiles.filter(privateKeyFile);
    let agentWhy: string | undefined;
    if (e.agentSocket) {
      if (!agents.has(e.agentSocket)) agents.set(e.agentSocket, agentKeys(e.agentSocket));
      const a = agents.get(e.agentSocket)!;
      if ('keys' in a) {
        const wanted = e.identityFiles.map(pubBlob).filter((b): b is Buffer => !!b);
        if (!e.identitiesOnly || a.keys.length === 0 || a.keys.some((k) => wanted.some((w) => w.equals(k)))) continue;
        agentWhy = `the agent at ${e.agentSocket} holds none of the IdentityFile keys (IdentitiesOnly yes)`;
      } else agentWhy = a.why;
    }
    // a key file that can be read (a passphrase-protected one without an agent is reported when the run connects)
    if (files.length) continue;
    const agentSource = e.sources?.identityAgent ? `IdentityAgent, ${e.sources.identityAgent}` : 'SSH_AUTH_SOCK';
    const agentPart = e.agentSocket ? `${agentWhy} (${agentSource})` : `no ssh-agent is named (SSH_AUTH_SOCK is unset${e.sources?.identityAgent ? `; IdentityAgent none, ${e.sources.identityAgent}` : ''})`;
    problems.push(
      `${e.username}@${e.host}:${e.port}: no key to log in with: DEPLOY_SSH_KEY is not set, ${agentPart}, and none of ${e.identityFiles.slice(0, 3).join(', ')}${e.identityFiles.length > 3 ? '…' : ''} can be read — set DEPLOY_SSH_KEY in cluster.env, or start an agent and ssh-add your key`,
    );
  }
  return problems;
}

/** The first listed manager (what a person is told to ssh to when nothing is connected). */
export function sshTarget(ctx: Pick<Ctx, 'cfg'>): SshTarget {
  return sshTargets(ctx)[0]!;
}

/** Where an endpoint's settings came from, for the plan: `user from …; port from …`. */
export function sourcesLine(e: SshEndpoint): string {
  const src = e.sources ?? {};
  const parts = [
    src.host && `HostName from ${src.host}`,
    src.username && `user from ${src.username}`,
    src.port && `port from ${src.port}`,
    src.identityFiles && `keys from ${src.identityFiles}`,
    e.identitiesOnly && 'IdentitiesOnly',
    e.agentSocket ? `agent ${e.agentSocket}${src.identityAgent ? ` (IdentityAgent, ${src.identityAgent})` : ' (SSH_AUTH_SOCK)'}` : 'no agent',
    src.knownHosts && `known_hosts from ${src.knownHosts}`,
    src.hostKeyAlias && `HostKeyAlias ${e.hostKeyAlias} from ${src.hostKeyAlias}`,
    src.jump && `jump hosts from ${src.jump}`,
    e.serverAlive && `ServerAliveInterval ${e.serverAlive.intervalSeconds}s × ${e.serverAlive.countMax}`,
  ].filter(Boolean);
  return parts.join("; ");
}

export function plan(ctx: Pick<Ctx, 'cfg'>): StepPlan {
  const targets = sshTargets(ctx);
  const several = targets.length > 1;
  const entries = parseManagerList(ctx.cfg.cluster.DEPLOY_MANAGER_HOST).entries;
  const reader = sshResolver(process.env, ctx.cfg.cluster.DEPLOY_SSH_CONFIG).readerReason;
  const configFile = ctx.cfg.cluster.DEPLOY_SSH_CONFIG;
  return {
    title: 'Connect to a manager',
    entries: [
      note(
        reader
          ? `SSH settings: read by honeydue-deploy's own reader of ${configFile ?? '$HOME/.ssh/config and /etc/ssh/ssh_config'} (as OpenSSH reads them) because ${reader}; values set in cluster.env win`
          : `SSH settings: as \`ssh -G${configFile ? ` -F ${configFile}` : ''}\` resolves them (your own OpenSSH: ${configFile ?? '~/.ssh/config, its Include files and /etc/ssh/ssh_config'}); values set in cluster.env win`,
      ),
      ...(several ? [note(`managers, tried in this order: ${entries.map(showEntry).join(', ')}; the first that answers and is a manager of a swarm with quorum serves the run; if it is lost mid-run, the run goes on through the next one that is up`)] : []),
      ...targets.flatMap((t, k) => [
        ...t.jumps.map((j, i) =>
          note(`${several ? `manager ${k + 1}: ` : ''}jump host ${i + 1} of ${t.jumps.length}: ${j.username}@${j.host}:${j.port}${j.alias !== j.host ? ` (alias ${j.alias})` : ''}; host key checked against ${j.knownHostsPath} (${hostKeyName(j)}) — ${sourcesLine(j)}`),
        ),
        note(`${several ? `manager ${k + 1}: ` : ''}one SSH connection ${t.username}@${t.host}:${t.port}${t.alias !== t.host ? ` (alias ${t.alias})` : ''}${t.jumps.length ? ` (through the jump host${t.jumps.length > 1 ? 's' : ''} above, one connection each)` : ''} for the whole run; host key checked against ${t.knownHostsPath} (${hostKeyName(t)}) — ${sourcesLine(t)}`),
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
    ctx.session = await ManagerSession.connect(targets, sessionOptions(ctx.cfg, ctx.settings));
  } catch (e) {
    if (e instanceof PreflightError && targets.length === 1 && !/cannot reach|refused|host key|cannot log in|closed before/.test(e.message)) {
      throw new PreflightError(`${ctx.cfg.cluster.DEPLOY_MANAGER_HOST} ${e.message}`);
    }
    throw e;
  }
  ctx.store = new SwarmStore(ctx.session, ctx.release.stackName, (w) => ctx.reporter.warn(w));
  if (targets.length > 1) ctx.reporter.info(`connected to ${ctx.session.describe()} (manager ${ctx.session.index + 1} of ${targets.length})`);
}
