/**
 * The run's one SSH connection to a manager, and the failover to the next listed manager when it is lost. The other
 * jobs live beside it, each with the one deadline rule of ssh-channels.ts: where to connect (ssh-target.ts), which
 * keys (ssh-auth.ts), the connection itself (ssh-connect.ts), commands (ssh-exec.ts), uploads (ssh-sftp.ts) and
 * tunnels (ssh-forward.ts).
 */
import type { Duplex } from 'node:stream';
import type { Client as ClientType } from 'ssh2';
import type { Command, Upload } from '../commands/command.js';
import { ConnectionLost, PreflightError } from '../errors.js';
import type { RunResult, Runner } from './runner.js';
import { ChannelGate, NoAnswer } from './ssh-channels.js';
import { openChain } from './ssh-connect.js';
import { execOn, MANAGER_GONE, NO_LEADER_NOW, streamOn } from './ssh-exec.js';
import { forwardOn } from './ssh-forward.js';
import { uploadOn } from './ssh-sftp.js';
import type { SshTarget } from './ssh-target.js';

export { MANAGER_GONE } from './ssh-exec.js';
export { planAuth } from './ssh-auth.js';
export { hostKeyName, keyscanLine, knownHostsTexts, parseHop, resolveTarget, shownFiles, type SshEndpoint, type SshTarget, type TargetInput } from './ssh-target.js';

/** A manager whose sshd answers but whose docker or swarm role is gone: the connection is dropped, with this reason. */
class StoppedServing extends ConnectionLost {}

/** Session channels open at once on one connection: under OpenSSH's default MaxSessions (10), with room to spare. */
export const DEFAULT_MAX_CHANNELS = 4;

/** Whether a connected manager can serve the run: undefined when it can, else why not. */
export type Accept = (session: ManagerSession) => Promise<string | undefined>;

/**
 * The one SSH connection of a run. Every remote command is an exec channel on it, uploads use SFTP on it.
 * Commands are judged by exit code; a channel that closes without one means the connection died.
 */
export class ManagerSession implements Runner {
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
  /**
   * how long a manager answering "no leader" is given to get one (an election: DEPLOY_SETTLE_TIMEOUT) before it counts
   * as stopped serving; 0: at once
   */
  leaderWaitMs = 0;
  /** which of the listed managers the run is connected to */
  index = 0;
  /** managers this run lost on the way (their private docker config may still be there) */
  readonly lost: SshTarget[] = [];

  private constructor(
    private client: ClientType,
    public target: SshTarget,
    readonly targets: readonly SshTarget[] = [target],
    private readonly accept?: Accept,
    /** at most this many session channels at once (DEPLOY_SSH_MAX_CHANNELS); shared by the probe and the session */
    private readonly gate: ChannelGate = new ChannelGate(DEFAULT_MAX_CHANNELS),
  ) {}

  /**
   * Connects to the first manager of the list that answers and that `accept` takes (a reachable manager of a swarm
   * with quorum): each tried in order, its host key checked as for one. Throws the reason of each when none does.
   */
  static async connect(targets: SshTarget | readonly SshTarget[], opts: { readyTimeoutMs?: number; accept?: Accept; maxChannels?: number; leaderWaitMs?: number } = {}): Promise<ManagerSession> {
    const list = Array.isArray(targets) ? (targets as readonly SshTarget[]) : [targets as SshTarget];
    const gate = new ChannelGate(opts.maxChannels ?? DEFAULT_MAX_CHANNELS);
    const { chain, index } = await ManagerSession.openFirst(list, 0, opts.readyTimeoutMs ?? 20_000, opts.accept, gate);
    const session = new ManagerSession(chain.at(-1)!, list[index]!, list, opts.accept, gate);
    session.readyTimeoutMs = opts.readyTimeoutMs ?? 20_000;
    session.leaderWaitMs = opts.leaderWaitMs ?? 0;
    session.hops = chain.slice(0, -1);
    session.connectCount = 1;
    session.index = index;
    session.watch();
    return session;
  }

  /** Tries the targets from `start` on, wrapping around; the first that connects and is accepted wins. */
  private static async openFirst(list: readonly SshTarget[], start: number, readyTimeout: number, accept: Accept | undefined, gate: ChannelGate): Promise<{ chain: ClientType[]; index: number }> {
    const reasons: string[] = [];
    let lastError: unknown;
    for (let k = 0; k < list.length; k++) {
      const index = (start + k) % list.length;
      const target = list[index]!;
      let chain: ClientType[];
      try {
        chain = await openChain(target, readyTimeout);
      } catch (e) {
        lastError = e;
        reasons.push((e as Error).message);
        continue;
      }
      if (accept) {
        const probe = new ManagerSession(chain.at(-1)!, target, list, undefined, gate);
        probe.hops = chain.slice(0, -1);
        probe.readyTimeoutMs = readyTimeout;
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


  /** Drops the connection to a manager that can no longer serve (its daemon died, it lost the swarm's quorum). */
  private lose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fail of this.pending) fail(new ConnectionLost());
    this.pending.clear();
    this.endAll();
    for (const l of this.closeListeners) l();
  }

  private watch(): void {
    const lost = () => {
      if (this.closed) return;
      this.closed = true;
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
    const { chain, index } = await ManagerSession.openFirst(this.targets, this.targets.length > 1 ? this.index + 1 : this.index, this.readyTimeoutMs, this.accept, this.gate);
    this.client = chain.at(-1)!;
    this.hops = chain.slice(0, -1);
    this.index = index;
    this.target = this.targets[index]!;
    if (this.target !== before) this.lost.push(before);
    this.dockerConfig = undefined;
    this.gate.reset();
    this.closed = false;
    this.connectCount += 1;
    this.watch();
  }

  /** The manager in words: user@host:port (alias). */
  describe(t: SshTarget = this.target): string {
    return `${t.username}@${t.host}:${t.port}${t.alias !== t.host ? ` (${t.alias})` : ''}`;
  }

  /** No single remote command may hang a deploy: each gets a deadline once it runs (convergence has its own). */
  commandTimeoutMs = 300_000;

  /** Session channels the server refused so far (MaxSessions), each waited for and asked again. */
  get channelRefusals(): number {
    return this.gate.refusals;
  }

  private limits(): { gate: ChannelGate; openMs: number; runMs: number; where: string } {
    return { gate: this.gate, openMs: this.readyTimeoutMs, runMs: this.commandTimeoutMs, where: this.describe() };
  }

  /**
   * Every channel operation: rejected at once with ConnectionLost when the connection dies meanwhile; a server that
   * stops answering (NoAnswer, after DEPLOY_SSH_TIMEOUT) is a lost connection too, and the run's failover applies.
   */
  private guarded<T>(op: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new ConnectionLost());
    return new Promise<T>((resolve, reject) => {
      this.pending.add(reject);
      op().then(
        (v) => {
          this.pending.delete(reject);
          resolve(v);
        },
        (e: unknown) => {
          this.pending.delete(reject);
          if (e instanceof NoAnswer || e instanceof StoppedServing) {
            reject(e);
            return this.lose();
          }
          // a lost connection says why when it can (the manager stopped serving); anything else after a drop is the drop
          reject(e instanceof ConnectionLost || !this.closed ? e : new ConnectionLost());
        },
      );
    });
  }

  run(cmd: Command): Promise<RunResult> {
    if (cmd.where !== 'manager') return Promise.reject(new Error(`ManagerSession cannot run a ${cmd.where} command`));
    return this.guarded(async () => {
      let r = await execOn(this.client, cmd, this.dockerConfig, this.limits());
      // no leader for now (an election after a manager was lost): the manager answers; once its swarm has a leader
      // again, the command is asked once more — a request refused for want of a leader changed nothing
      if (r.exitCode !== 0 && NO_LEADER_NOW.test(r.stderr) && (await this.leaderBack())) r = await execOn(this.client, cmd, this.dockerConfig, this.limits());
      if (r.exitCode !== 0 && MANAGER_GONE.test(r.stderr)) {
        // sshd answers but the manager behind it does not: as good as a lost connection (dropped by guarded, after
        // this run's own promise has its reason)
        throw new StoppedServing(`the manager ${this.describe()} stopped serving: ${r.stderr.trim().split('\n').pop()}`);
      }
      return r;
    });
  }

  /** Waits (at most leaderWaitMs) until the manager's swarm has a leader again: its node list answers. */
  private async leaderBack(): Promise<boolean> {
    const deadline = Date.now() + this.leaderWaitMs;
    const probe: Command = { where: 'manager', argv: ['docker', 'node', 'ls', '--quiet'] };
    while (Date.now() < deadline && !this.closed) {
      await new Promise((r) => setTimeout(r, 1000));
      const r = await execOn(this.client, probe, this.dockerConfig, this.limits()).catch(() => undefined);
      if (r?.exitCode === 0) return true;
      if (r && !NO_LEADER_NOW.test(r.stderr)) return false;
    }
    return false;
  }

  /** A command whose output is a stream (logs --follow): see streamOn. */
  stream(cmd: Command, sinks: { stdout: (b: Buffer) => void; stderr: (b: Buffer) => void }, stop: AbortSignal): Promise<number> {
    return this.guarded(() => streamOn(this.client, cmd, this.dockerConfig, this.limits(), sinks, stop));
  }

  /** A TCP connection to host:port as seen from the manager (`ssh -L`), through this run's connection. */
  forward(host: string, port: number): Promise<Duplex> {
    return this.guarded(() => forwardOn(this.client, host, port, this.limits()));
  }

  async upload(u: Upload): Promise<void> {
    return this.guarded(() => uploadOn(this.client, u, this.limits()));
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
