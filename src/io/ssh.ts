import fs from 'node:fs';
import type { Duplex } from 'node:stream';
import type { AnyAuthMethod, AuthenticationType, Client as ClientType, ConnectConfig, SFTPWrapper } from 'ssh2';
import { remoteShellString, shellQuote, type Command, type Upload } from '../commands/command.js';
import { ConfigError, ConnectionLost, PreflightError } from '../errors.js';
import { fingerprint, keyType, knownHostsName, knownKeyAlgorithms, readKnownHosts, verifyHostKeyIn, type FileVerdict } from './known-hosts.js';
import type { RunResult, Runner } from './runner.js';
import { expandHome, sshResolver, SshConfigError, type Resolver, type SshHostConfig } from './ssh-config.js';

// ssh2 is loaded on first use: a dry run never needs it and should start fast
type Ssh2 = typeof import('ssh2');
let ssh2Module: Ssh2 | undefined;
async function loadSsh2(): Promise<Ssh2> {
  ssh2Module ??= ((await import('ssh2')) as unknown as { default: Ssh2 }).default;
  return ssh2Module;
}

/** One SSH server on the way: a jump host or the manager itself. */
export interface SshEndpoint {
  /** as configured (DEPLOY_MANAGER_HOST, a DEPLOY_SSH_JUMP hop), maybe an ~/.ssh/config alias */
  alias: string;
  host: string;
  port: number;
  username: string;
  /** where the host's key should be added (the first UserKnownHostsFile, or DEPLOY_KNOWN_HOSTS) */
  knownHostsPath: string;
  /** every known_hosts file the key is looked up in, as ssh does (user files, then the global ones) */
  knownHostsFiles?: string[];
  /** UserKnownHostsFile (or DEPLOY_KNOWN_HOSTS): the files a printed `ssh` command names */
  userKnownHostsFiles?: string[];
  /** HostKeyAlias: the name looked up in known_hosts instead of host/[host]:port */
  hostKeyAlias?: string;
  /** keys to try, in order, after the explicit key and the agent */
  identityFiles: string[];
  /** IdentitiesOnly: only the IdentityFile keys, also when they sit in the agent */
  identitiesOnly?: boolean;
  explicitKey?: string;
  agentSocket?: string;
  /** ServerAliveInterval (s) / ServerAliveCountMax when the ssh config sets them */
  serverAlive?: { intervalSeconds: number; countMax: number };
  /** where each setting came from, for the plan */
  sources?: Partial<Record<'host' | 'port' | 'username' | 'identityFiles' | 'identityAgent' | 'knownHosts' | 'hostKeyAlias' | 'jump', string>>;
}

/** The name ssh looks the host key up by: HostKeyAlias, else `host` or `[host]:port`. */
export function hostKeyName(e: Pick<SshEndpoint, 'host' | 'port' | 'hostKeyAlias'>): string {
  return e.hostKeyAlias ?? knownHostsName(e.host, e.port);
}

/** Every known_hosts text for an endpoint, with the file each came from. */
export function knownHostsTexts(e: SshEndpoint): Array<{ file: string; text: string }> {
  return (e.knownHostsFiles ?? [e.knownHostsPath]).map((file) => ({ file, text: readKnownHosts(file) }));
}

/** A manager whose sshd answers but whose docker daemon or swarm role is gone: the run goes on elsewhere. */
export const MANAGER_GONE = /Cannot connect to the Docker daemon|Is the docker daemon running\?|error during connect|swarm does not have a leader|node lost leader status|raft: failed to process the request|rpc error: code = (?:Unavailable|DeadlineExceeded)/;

/** Whether a connected manager can serve the run: undefined when it can, else why not. */
export type Accept = (session: ManagerSession) => Promise<string | undefined>;

export interface SshTarget extends SshEndpoint {
  /** jump hosts, in order (like `ssh -J`): each is reached through the one before it */
  jumps: SshEndpoint[];
}

export interface TargetInput {
  host: string;
  user: string;
  /** undefined when cluster.env leaves it at its default: ~/.ssh/config may then set it */
  port?: number;
  key?: string;
  knownHosts?: string;
  /** DEPLOY_SSH_JUMP: `[user@]host[:port]`, comma-separated; wins over ~/.ssh/config's ProxyJump */
  jump?: string;
  /** which setting gave the port (an entry's own port in DEPLOY_MANAGER_HOST, or DEPLOY_MANAGER_SSH_PORT) */
  portFrom?: string;
  /** DEPLOY_SSH_CONFIG: the ssh config file to read instead of ~/.ssh/config (as `ssh -F`) */
  sshConfig?: string;
}

/** `[user@]host[:port]` (also `ssh://…` and `[v6]:port`), as `ssh -J` takes it. */
export function parseHop(spec: string): { user?: string; host: string; port?: number } | undefined {
  const m = /^(?:ssh:\/\/)?(?:([^@\s:/]+)@)?(\[[0-9a-fA-F:.]+\]|[^@\s:/[\]]+)(?::(\d{1,5}))?\/?$/.exec(spec.trim());
  if (!m) return undefined;
  const port = m[3] === undefined ? undefined : Number(m[3]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return { user: m[1], host: m[2]!.replace(/^\[|\]$/g, ''), port };
}

interface Shared {
  key?: string;
  knownHosts?: string;
  env: NodeJS.ProcessEnv;
  resolver: Resolver;
  problems: string[];
}

/** The agent socket ssh would use: IdentityAgent (a path, `SSH_AUTH_SOCK`, `$VAR`, `none`), else SSH_AUTH_SOCK. */
function agentSocketOf(identityAgent: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (identityAgent === undefined || identityAgent === 'SSH_AUTH_SOCK') return env.SSH_AUTH_SOCK || undefined;
  if (identityAgent.toLowerCase() === 'none') return undefined;
  if (identityAgent.startsWith('$')) return env[identityAgent.slice(1).replace(/^\{|\}$/g, '')] || undefined;
  return identityAgent;
}

function endpoint(alias: string, cli: { user?: string; port?: number }, cliFrom: { user: string; port: string }, s: Shared): { e: SshEndpoint; conf: SshHostConfig } {
  let conf: SshHostConfig;
  try {
    conf = s.resolver.resolve(alias, cli);
  } catch (err) {
    if (err instanceof SshConfigError) throw new ConfigError([err.message]);
    throw err;
  }
  s.problems.push(...conf.problems);
  const src = conf.sources;
  const knownHostsFiles = s.knownHosts ? [expandHome(s.knownHosts)] : [...conf.userKnownHostsFiles, ...conf.globalKnownHostsFiles];
  return {
    conf,
    e: {
      alias,
      host: conf.hostName,
      port: conf.port,
      username: conf.user,
      knownHostsPath: knownHostsFiles[0]!,
      knownHostsFiles,
      userKnownHostsFiles: s.knownHosts ? knownHostsFiles : conf.userKnownHostsFiles,
      hostKeyAlias: conf.hostKeyAlias,
      identityFiles: conf.identityFiles,
      identitiesOnly: conf.identitiesOnly,
      explicitKey: s.key ? expandHome(s.key) : undefined,
      agentSocket: agentSocketOf(conf.identityAgent, s.env),
      serverAlive: conf.serverAliveInterval > 0 ? { intervalSeconds: conf.serverAliveInterval, countMax: conf.serverAliveCountMax } : undefined,
      sources: {
        host: src.hostName,
        port: cli.port !== undefined ? cliFrom.port : src.port,
        username: cli.user !== undefined ? cliFrom.user : src.user,
        identityFiles: s.key ? 'cluster.env DEPLOY_SSH_KEY' : src.identityFiles,
        identityAgent: src.identityAgent,
        knownHosts: s.knownHosts ? 'cluster.env DEPLOY_KNOWN_HOSTS' : src.userKnownHostsFiles,
        hostKeyAlias: src.hostKeyAlias,
      },
    },
  };
}

function hopKey(h: { user?: string; host: string; port?: number }): string {
  return `${h.user ?? ''}@${h.host}:${h.port ?? ''}`;
}

function showKey(k: string): string {
  return k.replace(/^@/, '').replace(/:$/, '');
}

/**
 * A jump list as ssh runs it: `ssh -J a,b HOST` reaches b through `-J a`, so b's own ProxyJump is overridden; a
 * single hop is reached through its own ProxyJump, if its config has one (a jump host with its own jump host).
 */
function jumpChain(spec: string, origin: string, s: Shared, seen: readonly string[]): SshEndpoint[] {
  const specs = spec.split(',').map((x) => x.trim());
  const hops = specs.map((x) => ({ x, hop: parseHop(x) }));
  const bad = hops.find((h) => !h.hop);
  if (bad) {
    s.problems.push(`${origin}: "${bad.x}" is not a jump host — write [user@]host[:port], several separated by commas (as for ssh -J)`);
    return [];
  }
  const last = hops.at(-1)!.hop!;
  // the same hop, as written, met again on the way: a loop ssh would follow until it fails
  const key = hopKey(last);
  if (seen.includes(key) || seen.length > 8) {
    s.problems.push(`${origin}: the jump hosts go round in a loop (${[...seen, key].map(showKey).join(' → ')}) — ssh would never connect; fix ProxyJump`);
    return [];
  }
  const { e, conf } = endpoint(last.host, { user: last.user, port: last.port }, { user: origin, port: origin }, s);
  e.sources = { ...e.sources, jump: origin };
  const before =
    hops.length > 1
      ? jumpChain(specs.slice(0, -1).join(','), origin, s, [...seen, key])
      : conf.proxyJump
        ? jumpChain(conf.proxyJump, `${conf.sources.proxyJump ?? 'ssh -G'}: ProxyJump of ${last.host}`, s, [...seen, key])
        : [];
  return [...before, e];
}

/**
 * Resolves where `ssh` would connect, as OpenSSH does (ssh-config.ts: `ssh -G`, or the reader): HostName, Port,
 * User, IdentityFile, IdentitiesOnly, IdentityAgent, UserKnownHostsFile, HostKeyAlias, ProxyJump (chains),
 * ServerAlive*; cluster.env wins where set. What ssh would do that this client cannot (ProxyCommand,
 * CertificateFile, …) is an error, never silently ignored.
 */
export function resolveTarget(input: TargetInput, env: NodeJS.ProcessEnv = process.env, resolver: Resolver = sshResolver(env, input.sshConfig)): SshTarget {
  const s: Shared = { key: input.key, knownHosts: input.knownHosts, env, resolver, problems: [] };
  const { e: manager, conf } = endpoint(input.host, { user: input.user || undefined, port: input.port }, { user: 'cluster.env DEPLOY_MANAGER_USER', port: input.portFrom ?? 'cluster.env DEPLOY_MANAGER_SSH_PORT' }, s);
  const fromCluster = input.jump !== undefined && input.jump.trim() !== '';
  const chain = fromCluster ? input.jump!.trim() : conf.proxyJump;
  const origin = fromCluster ? 'cluster.env: DEPLOY_SSH_JUMP' : `${conf.sources.proxyJump ?? 'ssh -G'}: ProxyJump`;
  const jumps = chain && chain.toLowerCase() !== 'none' ? jumpChain(chain, origin, s, [hopKey({ host: input.host, port: input.port })]) : [];
  if (fromCluster) manager.sources = { ...manager.sources, jump: 'cluster.env DEPLOY_SSH_JUMP' };
  else if (conf.proxyJump) manager.sources = { ...manager.sources, jump: conf.sources.proxyJump ?? 'ssh -G' };
  if (s.problems.length) throw new ConfigError([...new Set(s.problems)]);
  return { ...manager, jumps };
}

interface AuthPlan {
  methods: AnyAuthMethod[];
  encryptedKeys: string[];
  unreadable: string[];
}

/** The public key blob of an identity file (its .pub, else the private key's public part). */
function publicBlob(file: string, parseKey: Ssh2['utils']['parseKey']): Buffer | undefined {
  for (const f of [`${file}.pub`, file]) {
    let data: Buffer;
    try {
      data = fs.readFileSync(f);
    } catch {
      continue;
    }
    const k = parseKey(data);
    if (!(k instanceof Error)) return (Array.isArray(k) ? k[0] : k)?.getPublicSSH();
  }
  return undefined;
}

/**
 * Like ssh: the configured key, then the agent, then the IdentityFile keys (ssh's default keys when the config names
 * none). With IdentitiesOnly, the agent offers only the keys an IdentityFile names (its .pub is enough, as for a
 * key kept in 1Password's or Secretive's agent).
 */
export function planAuth(target: SshEndpoint, parseKey: Ssh2['utils']['parseKey'], ssh2?: Pick<Ssh2, 'OpenSSHAgent'>): AuthPlan {
  const plan: AuthPlan = { methods: [], encryptedKeys: [], unreadable: [] };
  const seen = new Set<string>();
  const tryKey = (file: string, mustExist: boolean) => {
    if (seen.has(file)) return;
    seen.add(file);
    let data: Buffer;
    try {
      data = fs.readFileSync(file);
    } catch {
      if (mustExist) plan.unreadable.push(file);
      return;
    }
    const parsed = parseKey(data);
    if (parsed instanceof Error) {
      if (/encrypted|passphrase/i.test(parsed.message)) plan.encryptedKeys.push(file);
      else if (mustExist) plan.unreadable.push(file);
      return;
    }
    // a public key (IdentityFile naming the .pub of a key an agent holds) cannot sign: the agent offers it
    if (!(Array.isArray(parsed) ? parsed[0] : parsed)?.isPrivateKey()) {
      if (mustExist) plan.unreadable.push(file);
      return;
    }
    plan.methods.push({ type: 'publickey', username: target.username, key: data });
  };
  if (target.explicitKey) tryKey(target.explicitKey, true);
  if (target.agentSocket) {
    if (target.identitiesOnly && ssh2) {
      const wanted = [target.explicitKey, ...target.identityFiles].filter((f): f is string => !!f).map((f) => publicBlob(f, parseKey)).filter((b): b is Buffer => !!b);
      if (wanted.length) plan.methods.push({ type: 'agent', username: target.username, agent: onlyKeys(ssh2, target.agentSocket, wanted) });
    } else plan.methods.push({ type: 'agent', username: target.username, agent: target.agentSocket });
  }
  for (const f of target.identityFiles) tryKey(f, false);
  return plan;
}

/** An agent that lists only the given public keys (IdentitiesOnly). */
function onlyKeys(ssh2: Pick<Ssh2, 'OpenSSHAgent'>, socket: string, blobs: Buffer[]): InstanceType<Ssh2['OpenSSHAgent']> {
  const Base = ssh2.OpenSSHAgent;
  class Filtered extends Base {
    override getIdentities(cb: Parameters<InstanceType<Ssh2['OpenSSHAgent']>['getIdentities']>[0]): void {
      super.getIdentities((err, keys) => {
        if (err || !keys) return cb(err, keys);
        cb(err, keys.filter((k) => blobs.some((b) => b.equals((k as { getPublicSSH(): Buffer }).getPublicSSH()))));
      });
    }
  }
  return new Filtered(socket);
}

/** The known_hosts files that exist (the first one, where a key would be added, when none does yet). */
export function shownFiles(t: SshEndpoint): string {
  const files = (t.knownHostsFiles ?? [t.knownHostsPath]).filter((f) => fs.existsSync(f));
  return files.length > 1 ? files.join(', ') : (files[0] ?? t.knownHostsPath);
}

/** The command that adds the host's key to its known_hosts file (named by HostKeyAlias when one is set). */
export function keyscanLine(t: SshEndpoint): string {
  const scan = `ssh-keyscan -p ${t.port} ${t.host}`;
  return t.hostKeyAlias ? `${scan} | sed 's/^[^ ]*/${t.hostKeyAlias}/' >> ${t.knownHostsPath}` : `${scan} >> ${t.knownHostsPath}`;
}

function describeVerdict(v: FileVerdict, t: SshEndpoint, blob: Buffer, role: string): string {
  const name = hostKeyName(t);
  const fp = `${keyType(blob)} ${fingerprint(blob)}`;
  if (v.kind === 'unknown') {
    return (
      `${name}: the ${role}'s host key is not in ${shownFiles(t)} (${fp}) — refusing to connect. ` +
      `Compare it with \`ssh-keygen -lf /etc/ssh/ssh_host_${keyType(blob).replace(/^ssh-|-.*$/g, '')}_key.pub\` run on the ${role}, then trust it with \`${keyscanLine(t)}\` (or set DEPLOY_KNOWN_HOSTS)`
    );
  }
  if (v.kind === 'revoked' || v.kind === 'trusted') return `${name}: the ${role}'s host key (${fp}) is marked @revoked in ${'file' in v ? `${v.file}:${v.line}` : t.knownHostsPath} — refusing to connect`;
  return (
    `${name}: WARNING: the ${role}'s host key has CHANGED (now ${fp}; ${v.file}:${v.line} holds another) — refusing to connect: someone may be intercepting the connection. ` +
    `If the ${role} was reinstalled, verify the new key on it, remove the old one with \`ssh-keygen -R '${name}' -f ${v.file}\` and trust the new one`
  );
}

/** A tunnel to host:port through an open connection (`ssh -J` / `direct-tcpip`). */
function forwardOut(via: ClientType, to: SshEndpoint, from: SshEndpoint): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    via.forwardOut('127.0.0.1', 0, to.host, to.port, (err, stream) => {
      if (err) return reject(new PreflightError(`the jump host ${from.username}@${from.host}:${from.port} cannot reach ${to.host}:${to.port}: ${err.message} — check the address, and that the jump host allows TCP forwarding (AllowTcpForwarding)`));
      resolve(stream as unknown as Duplex);
    });
  });
}

/**
 * The one SSH connection of a run. Every remote command is an exec channel on it, uploads use SFTP on it.
 * Commands are judged by exit code; a channel that closes without one means the connection died.
 */
export class ManagerSession implements Runner {
  private sftpChannel?: SFTPWrapper;
  private closed = false;
  private pending = new Set<(err: Error) => void>();
  /** the jump hosts' connections, in order; the manager's is `client` */
  private hops: ClientType[] = [];
  /** the run's private docker config on the manager (absolute), once it exists: every command uses it */
  dockerConfig?: string;
  private closeListeners: Array<() => void> = [];

  /** Called when the connection goes away (not when it is closed on purpose). */
  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }
  connectCount = 0;

  /** the handshake timeout of every connection this session opens (DEPLOY_SSH_TIMEOUT) */
  readyTimeoutMs = 20_000;
  /** which of the listed managers the run is connected to */
  index = 0;
  /** managers this run lost on the way (their private docker config may still be there) */
  readonly lost: SshTarget[] = [];

  private constructor(
    private client: ClientType,
    public target: SshTarget,
    readonly targets: readonly SshTarget[] = [target],
    private readonly accept?: Accept,
  ) {}

  /**
   * Connects to the first manager of the list that answers and that `accept` takes (a reachable manager of a swarm
   * with quorum): each tried in order, its host key checked as for one. Throws the reason of each when none does.
   */
  static async connect(targets: SshTarget | readonly SshTarget[], opts: { readyTimeoutMs?: number; accept?: Accept } = {}): Promise<ManagerSession> {
    const list = Array.isArray(targets) ? (targets as readonly SshTarget[]) : [targets as SshTarget];
    const { chain, index } = await ManagerSession.openFirst(list, 0, opts.readyTimeoutMs ?? 20_000, opts.accept);
    const session = new ManagerSession(chain.at(-1)!, list[index]!, list, opts.accept);
    session.readyTimeoutMs = opts.readyTimeoutMs ?? 20_000;
    session.hops = chain.slice(0, -1);
    session.connectCount = 1;
    session.index = index;
    await session.afterOpen();
    session.watch();
    return session;
  }

  /** Tries the targets from `start` on, wrapping around; the first that connects and is accepted wins. */
  private static async openFirst(list: readonly SshTarget[], start: number, readyTimeout: number, accept?: Accept): Promise<{ chain: ClientType[]; index: number }> {
    const reasons: string[] = [];
    let lastError: unknown;
    for (let k = 0; k < list.length; k++) {
      const index = (start + k) % list.length;
      const target = list[index]!;
      let chain: ClientType[];
      try {
        chain = await ManagerSession.open(target, readyTimeout);
      } catch (e) {
        lastError = e;
        reasons.push((e as Error).message);
        continue;
      }
      if (accept) {
        const probe = new ManagerSession(chain.at(-1)!, target, list);
        probe.hops = chain.slice(0, -1);
        probe.watch();
        const why = await accept(probe).catch((e: Error) => e.message);
        probe.detach();
        if (why) {
          reasons.push(`${target.username}@${target.host}:${target.port}: ${why}`);
          lastError = new PreflightError(why);
          for (const c of [...chain].reverse()) c.end();
          continue;
        }
      }
      return { chain, index };
    }
    if (list.length === 1) throw lastError;
    throw new PreflightError(`no listed manager can run the deploy:\n${reasons.map((r) => `  ${r}`).join('\n')}\n— bring one back (or fix DEPLOY_MANAGER_HOST in cluster.env)`);
  }

  /** Stops watching the clients without closing them (a probe handing its connection over). */
  private detach(): void {
    this.closed = true;
    for (const c of [...this.hops, this.client]) c.removeAllListeners();
    for (const c of [...this.hops, this.client]) c.on('error', () => undefined);
  }

  /** Extra set-up of a fresh connection (none yet). */
  private async afterOpen(): Promise<void> {}

  /** One TCP connection per hop: each jump host, then the manager through the last of them. */
  private static async open(target: SshTarget, readyTimeout: number): Promise<ClientType[]> {
    const clients: ClientType[] = [];
    const endpoints: SshEndpoint[] = [...target.jumps, target];
    try {
      for (let i = 0; i < endpoints.length; i++) {
        const sock = i === 0 ? undefined : await forwardOut(clients[i - 1]!, endpoints[i]!, endpoints[i - 1]!);
        clients.push(await ManagerSession.openOne(endpoints[i]!, readyTimeout, i === endpoints.length - 1 ? 'manager' : 'jump host', sock));
      }
      return clients;
    } catch (err) {
      for (const c of clients.reverse()) c.end();
      throw err;
    }
  }

  private static async openOne(target: SshEndpoint, readyTimeout: number, role: string, sock?: Duplex): Promise<ClientType> {
    const { Client, utils } = await loadSsh2();
    const ssh2 = await loadSsh2();
    const auth = planAuth(target, utils.parseKey, ssh2);
    if (auth.unreadable.length) {
      throw new PreflightError(`cluster.env: DEPLOY_SSH_KEY: ${auth.unreadable[0]} cannot be read as a private key — check the path and that it is an OpenSSH/PEM private key`);
    }
    if (auth.methods.length === 0) {
      const why = auth.encryptedKeys.length
        ? `${auth.encryptedKeys.join(', ')} ${auth.encryptedKeys.length === 1 ? 'is' : 'are'} passphrase-protected and no ssh-agent is running (SSH_AUTH_SOCK is unset) — start one and run \`ssh-add ${auth.encryptedKeys[0]}\`, then try again`
        : `no private key found (DEPLOY_SSH_KEY unset, no ssh-agent, no ~/.ssh/id_* key) — set DEPLOY_SSH_KEY in cluster.env`;
      throw new PreflightError(`${target.username}@${target.host}:${target.port}: cannot log in: ${why}`);
    }
    const knownHosts = knownHostsTexts(target);
    const algorithms = knownKeyAlgorithms(knownHosts.map((k) => k.text).join('\n'), hostKeyName(target));
    let refused: string | undefined;
    return new Promise<ClientType>((resolve, reject) => {
      const client = new Client();
      const queue = [...auth.methods];
      const config: ConnectConfig = {
        host: target.host,
        port: target.port,
        ...(sock ? { sock: sock as unknown as ConnectConfig['sock'] } : {}),
        username: target.username,
        readyTimeout,
        // ServerAliveInterval/CountMax from the ssh config; else every 5 s, 3 missed answers end the connection
        keepaliveInterval: (target.serverAlive?.intervalSeconds ?? 5) * 1000,
        keepaliveCountMax: target.serverAlive?.countMax ?? 3,
        // offer only the key types known_hosts holds for this host: a server that switched types is then CHANGED, not unknown
        ...(algorithms ? { algorithms: { serverHostKey: algorithms as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] } } : {}),
        hostVerifier: (blob: Buffer) => {
          const verdict = verifyHostKeyIn(knownHosts, hostKeyName(target), blob);
          if (verdict.kind === 'trusted') return true;
          refused = describeVerdict(verdict, target, blob, role);
          return false;
        },
        // ssh2 takes `false` for "no more methods" although its types do not say so
        authHandler: (_left, _partial, next) => next((queue.shift() ?? false) as unknown as AuthenticationType),
      };
      const onError = (err: Error & { level?: string }) => {
        client.removeListener('ready', onReady);
        client.removeListener('close', onClose);
        if (refused) return reject(new PreflightError(refused));
        if (err.level === 'client-authentication') {
          const extra = auth.encryptedKeys.length ? ` (${auth.encryptedKeys.join(', ')} skipped: passphrase-protected and not in the agent — run \`ssh-add\`)` : '';
          const who = role === 'manager' ? 'DEPLOY_MANAGER_USER' : 'the jump host\'s user (DEPLOY_SSH_JUMP user@host, or User in ~/.ssh/config)';
          return reject(new PreflightError(`${target.username}@${target.host}:${target.port}: the ${role} refused every key offered${extra} — check ${who} and that the key is in the user's authorized_keys`));
        }
        const check = role === 'manager' ? 'DEPLOY_MANAGER_HOST, DEPLOY_MANAGER_SSH_PORT' : 'DEPLOY_SSH_JUMP (or ProxyJump)';
        reject(new PreflightError(`cannot reach the ${role} at ${target.host}:${target.port}: ${err.message} — check ${check} and that sshd runs`));
      };
      const onReady = () => {
        client.removeListener('error', onError);
        client.removeListener('close', onClose);
        resolve(client);
      };
      // the server closed before the handshake finished (it sent a banner and hung up): never wait forever
      const onClose = () => {
        client.removeListener('ready', onReady);
        client.removeListener('error', onError);
        reject(new PreflightError(`cannot reach the ${role} at ${target.host}:${target.port}: the connection was closed before the SSH handshake finished — check that an SSH server runs there (${role === 'manager' ? 'DEPLOY_MANAGER_HOST, DEPLOY_MANAGER_SSH_PORT' : 'DEPLOY_SSH_JUMP (or ProxyJump)'})`));
      };
      client.once('ready', onReady);
      client.once('error', onError);
      client.once('close', onClose);
      // a later error (after a timeout, during teardown) must never be an unhandled 'error' event
      client.on('error', () => undefined);
      client.connect(config);
    });
  }

  /** Drops the connection to a manager that can no longer serve (its daemon died, it lost the swarm's quorum). */
  private lose(): void {
    if (this.closed) return;
    this.closed = true;
    this.sftpChannel = undefined;
    for (const fail of this.pending) fail(new ConnectionLost());
    this.pending.clear();
    this.endAll();
    for (const l of this.closeListeners) l();
  }

  private watch(): void {
    const lost = () => {
      if (this.closed) return;
      this.closed = true;
      this.sftpChannel = undefined;
      for (const fail of this.pending) fail(new ConnectionLost());
      this.pending.clear();
      for (const l of this.closeListeners) l();
    };
    for (const c of [...this.hops, this.client]) {
      c.on('close', lost);
      c.on('error', lost);
    }
  }

  get alive(): boolean {
    return !this.closed;
  }

  /**
   * After a drop: connects again, to the next listed manager that is up and accepted (the one that was lost last of
   * all, it may be back), for the rest of the run.
   */
  async reconnect(): Promise<void> {
    this.endAll();
    const before = this.target;
    const { chain, index } = await ManagerSession.openFirst(this.targets, this.targets.length > 1 ? this.index + 1 : this.index, this.readyTimeoutMs, this.accept);
    this.client = chain.at(-1)!;
    this.hops = chain.slice(0, -1);
    this.index = index;
    this.target = this.targets[index]!;
    if (this.target !== before) this.lost.push(before);
    this.dockerConfig = undefined;
    this.sftpChannel = undefined;
    this.closed = false;
    this.connectCount += 1;
    this.watch();
  }

  /** The manager in words: user@host:port (alias). */
  describe(t: SshTarget = this.target): string {
    return `${t.username}@${t.host}:${t.port}${t.alias !== t.host ? ` (${t.alias})` : ''}`;
  }

  /** No single remote command may hang a deploy: each gets a deadline (convergence has its own). */
  commandTimeoutMs = 300_000;

  run(cmd: Command): Promise<RunResult> {
    if (cmd.where !== 'manager') return Promise.reject(new Error(`ManagerSession cannot run a ${cmd.where} command`));
    if (this.closed) return Promise.reject(new ConnectionLost());
    return new Promise<RunResult>((resolve, reject) => {
      this.pending.add(reject);
      let timer: NodeJS.Timeout | undefined;
      const done = <A extends unknown[]>(fn: (...a: A) => void) => (...a: A) => {
        this.pending.delete(reject);
        clearTimeout(timer);
        fn(...a);
      };
      // everything the tool creates on the manager (releases, lock, audit log, docker config) is owner-only
      const dockerConfig = this.dockerConfig ? `DOCKER_CONFIG=${shellQuote(this.dockerConfig)}; export DOCKER_CONFIG; ` : '';
      this.client.exec(`umask 077; ${dockerConfig}${remoteShellString(cmd)}`, (err, stream) => {
        if (err) return done(reject)(this.closed ? new ConnectionLost() : err);
        timer = setTimeout(() => {
          stream.close();
          done(resolve)({ exitCode: 124, stdout: '', stderr: `timed out after ${this.commandTimeoutMs / 1000}s on the manager` });
        }, this.commandTimeoutMs);
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        stream.on('data', (d: Buffer) => out.push(d));
        stream.stderr.on('data', (d: Buffer) => errOut.push(d));
        stream.on('close', (code: number | null | undefined, signal?: string) => {
          if (code === null || code === undefined) {
            if (signal) return done(resolve)({ exitCode: 128, stdout: Buffer.concat(out).toString(), stderr: `${Buffer.concat(errOut).toString()}killed by ${signal}` });
            return done(reject)(new ConnectionLost());
          }
          const stderr = Buffer.concat(errOut).toString();
          if (code !== 0 && MANAGER_GONE.test(stderr)) {
            // sshd answers but the manager behind it does not: as good as a lost connection
            done(reject)(new ConnectionLost(`the manager ${this.describe()} stopped serving: ${stderr.trim().split('\n').pop()}`));
            return this.lose();
          }
          done(resolve)({ exitCode: code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(errOut).toString() });
        });
        stream.end(cmd.stdin ? cmd.stdin.data : undefined);
      });
    });
  }

  /**
   * Runs a command whose output is a stream (logs --follow): chunks go to the sinks as they come, with no
   * deadline; `stop` ends it (the channel is closed). Resolves with the exit code (0 when stopped).
   */
  stream(cmd: Command, sinks: { stdout: (b: Buffer) => void; stderr: (b: Buffer) => void }, stop: AbortSignal): Promise<number> {
    if (this.closed) return Promise.reject(new ConnectionLost());
    return new Promise<number>((resolve, reject) => {
      this.pending.add(reject);
      const dockerConfig = this.dockerConfig ? `DOCKER_CONFIG=${shellQuote(this.dockerConfig)}; export DOCKER_CONFIG; ` : '';
      this.client.exec(`umask 077; ${dockerConfig}${remoteShellString(cmd)}`, (err, channel) => {
        if (err) {
          this.pending.delete(reject);
          return reject(this.closed ? new ConnectionLost() : err);
        }
        const onStop = () => channel.close();
        stop.addEventListener('abort', onStop, { once: true });
        channel.on('data', sinks.stdout);
        channel.stderr.on('data', sinks.stderr);
        channel.on('close', (code: number | null | undefined) => {
          this.pending.delete(reject);
          stop.removeEventListener('abort', onStop);
          if (stop.aborted) return resolve(0);
          if (code === null || code === undefined) return reject(new ConnectionLost());
          resolve(code);
        });
        channel.end();
      });
    });
  }

  /** A TCP connection to host:port as seen from the manager (`ssh -L`), through this run's connection. */
  forward(host: string, port: number): Promise<Duplex> {
    if (this.closed) return Promise.reject(new ConnectionLost());
    return new Promise((resolve, reject) => {
      this.client.forwardOut('127.0.0.1', 0, host, port, (err, stream) => (err ? reject(err) : resolve(stream as unknown as Duplex)));
    });
  }

  private sftp(): Promise<SFTPWrapper> {
    if (this.sftpChannel) return Promise.resolve(this.sftpChannel);
    if (this.closed) return Promise.reject(new ConnectionLost());
    return new Promise((resolve, reject) => {
      this.client.sftp((err, sftp) => {
        if (err) return reject(this.closed ? new ConnectionLost() : err);
        this.sftpChannel = sftp;
        resolve(sftp);
      });
    });
  }

  async upload(u: Upload): Promise<void> {
    const sftp = await this.sftp();
    await new Promise<void>((resolve, reject) => {
      this.pending.add(reject);
      sftp.writeFile(u.remotePath, u.data, { mode: u.mode }, (err) => {
        if (err) {
          this.pending.delete(reject);
          return reject(err);
        }
        // writeFile's mode applies on create only; make sure of it either way
        sftp.chmod(u.remotePath, u.mode, (err2) => {
          this.pending.delete(reject);
          return err2 ? reject(err2) : resolve();
        });
      });
    });
  }

  private endAll(): void {
    for (const c of [this.client, ...this.hops.reverse()]) {
      c.removeAllListeners();
      c.on('error', () => undefined);
      c.end();
    }
    this.hops = [];
  }

  close(): void {
    this.closed = true;
    this.endAll();
  }
}
