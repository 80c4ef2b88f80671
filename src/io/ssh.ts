import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import type { AnyAuthMethod, AuthenticationType, Client as ClientType, ConnectConfig, SFTPWrapper } from 'ssh2';
import { remoteShellString, shellQuote, type Command, type Upload } from '../commands/command.js';
import { ConfigError, ConnectionLost, PreflightError } from '../errors.js';
import { fingerprint, keyType, knownHostsName, knownKeyAlgorithms, readKnownHosts, verifyHostKey, type HostKeyVerdict } from './known-hosts.js';
import type { RunResult, Runner } from './runner.js';
import { DEFAULT_IDENTITY_FILES, expandHome, readSshConfig, sshConfigPath } from './ssh-config.js';

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
  knownHostsPath: string;
  /** keys to try, in order, after the explicit key and the agent */
  identityFiles: string[];
  explicitKey?: string;
  agentSocket?: string;
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
}

/** `[user@]host[:port]` (also `ssh://…` and `[v6]:port`), as `ssh -J` takes it. */
export function parseHop(spec: string): { user?: string; host: string; port?: number } | undefined {
  const m = /^(?:ssh:\/\/)?(?:([^@\s:/]+)@)?(\[[0-9a-fA-F:.]+\]|[^@\s:/[\]]+)(?::(\d{1,5}))?\/?$/.exec(spec.trim());
  if (!m) return undefined;
  const port = m[3] === undefined ? undefined : Number(m[3]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return { user: m[1], host: m[2]!.replace(/^\[|\]$/g, ''), port };
}

function endpoint(alias: string, o: { user?: string; port?: number }, shared: { key?: string; knownHosts?: string }, env: NodeJS.ProcessEnv, problems: string[]): SshEndpoint {
  const conf = readSshConfig(alias);
  problems.push(...conf.problems);
  return {
    alias,
    host: conf.hostName ?? alias,
    port: o.port ?? conf.port ?? 22,
    username: o.user || conf.user || os.userInfo().username,
    knownHostsPath: expandHome(shared.knownHosts ?? path.join(os.homedir(), '.ssh', 'known_hosts')),
    identityFiles: [...conf.identityFiles, ...DEFAULT_IDENTITY_FILES],
    explicitKey: shared.key ? expandHome(shared.key) : undefined,
    agentSocket: env.SSH_AUTH_SOCK || undefined,
  };
}

/**
 * Resolves where `ssh` would connect: ~/.ssh/config HostName/Port/User/IdentityFile/ProxyJump apply to an
 * alias (and to each jump host), cluster.env wins. What ssh would do that this client cannot (ProxyCommand,
 * Match criteria it cannot evaluate) is an error, never silently ignored.
 */
export function resolveTarget(input: TargetInput, env: NodeJS.ProcessEnv = process.env): SshTarget {
  const problems: string[] = [];
  const manager = endpoint(input.host, { user: input.user, port: input.port }, input, env, problems);
  const managerConf = readSshConfig(input.host);
  const fromCluster = input.jump !== undefined && input.jump.trim() !== '';
  const chain = fromCluster ? input.jump!.trim() : managerConf.proxyJump;
  const jumps: SshEndpoint[] = [];
  if (chain && chain.toLowerCase() !== 'none') {
    for (const spec of chain.split(',')) {
      const hop = parseHop(spec);
      if (!hop) {
        problems.push(`${fromCluster ? 'cluster.env: DEPLOY_SSH_JUMP' : `${sshConfigPath()}: ProxyJump`}: "${spec.trim()}" is not a jump host — write [user@]host[:port], several separated by commas (as for ssh -J)`);
        continue;
      }
      jumps.push(endpoint(hop.host, hop, input, env, problems));
    }
  }
  if (problems.length) throw new ConfigError([...new Set(problems)]);
  return { ...manager, jumps };
}

interface AuthPlan {
  methods: AnyAuthMethod[];
  encryptedKeys: string[];
  unreadable: string[];
}

/** Like ssh: the configured key, then the agent, then ~/.ssh/config IdentityFile, then the default keys. */
export function planAuth(target: SshEndpoint, parseKey: Ssh2['utils']['parseKey']): AuthPlan {
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
    plan.methods.push({ type: 'publickey', username: target.username, key: data });
  };
  if (target.explicitKey) tryKey(target.explicitKey, true);
  if (target.agentSocket) plan.methods.push({ type: 'agent', username: target.username, agent: target.agentSocket });
  for (const f of target.identityFiles) tryKey(f, false);
  return plan;
}

function describeVerdict(v: HostKeyVerdict, t: SshEndpoint, blob: Buffer, role: string): string {
  const name = knownHostsName(t.host, t.port);
  const fp = `${keyType(blob)} ${fingerprint(blob)}`;
  const scan = `ssh-keyscan -p ${t.port} ${t.host} >> ${t.knownHostsPath}`;
  if (v.kind === 'unknown') {
    return (
      `${name}: the ${role}'s host key is not in ${t.knownHostsPath} (${fp}) — refusing to connect. ` +
      `Compare it with \`ssh-keygen -lf /etc/ssh/ssh_host_${keyType(blob).replace(/^ssh-|-.*$/g, '')}_key.pub\` run on the ${role}, then trust it with \`${scan}\` (or set DEPLOY_KNOWN_HOSTS)`
    );
  }
  if (v.kind === 'revoked' || v.kind === 'trusted') return `${name}: the ${role}'s host key (${fp}) is marked @revoked in ${t.knownHostsPath}${'line' in v ? `:${v.line}` : ''} — refusing to connect`;
  return (
    `${name}: WARNING: the ${role}'s host key has CHANGED (now ${fp}; ${t.knownHostsPath}:${v.line} holds another) — refusing to connect: someone may be intercepting the connection. ` +
    `If the ${role} was reinstalled, verify the new key on it, remove the old one with \`ssh-keygen -R '${name}' -f ${t.knownHostsPath}\` and trust the new one`
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
    const auth = planAuth(target, utils.parseKey);
    if (auth.unreadable.length) {
      throw new PreflightError(`cluster.env: DEPLOY_SSH_KEY: ${auth.unreadable[0]} cannot be read as a private key — check the path and that it is an OpenSSH/PEM private key`);
    }
    if (auth.methods.length === 0) {
      const why = auth.encryptedKeys.length
        ? `${auth.encryptedKeys.join(', ')} ${auth.encryptedKeys.length === 1 ? 'is' : 'are'} passphrase-protected and no ssh-agent is running (SSH_AUTH_SOCK is unset) — start one and run \`ssh-add ${auth.encryptedKeys[0]}\`, then try again`
        : `no private key found (DEPLOY_SSH_KEY unset, no ssh-agent, no ~/.ssh/id_* key) — set DEPLOY_SSH_KEY in cluster.env`;
      throw new PreflightError(`${target.username}@${target.host}:${target.port}: cannot log in: ${why}`);
    }
    const knownHosts = readKnownHosts(target.knownHostsPath);
    const algorithms = knownKeyAlgorithms(knownHosts, knownHostsName(target.host, target.port));
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
        keepaliveInterval: 5_000,
        keepaliveCountMax: 3,
        // offer only the key types known_hosts holds for this host: a server that switched types is then CHANGED, not unknown
        ...(algorithms ? { algorithms: { serverHostKey: algorithms as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] } } : {}),
        hostVerifier: (blob: Buffer) => {
          const verdict = verifyHostKey(knownHosts, knownHostsName(target.host, target.port), blob);
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
