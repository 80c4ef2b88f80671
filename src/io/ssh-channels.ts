/**
 * The two rules every channel of the run's one SSH connection follows, whatever it is for (a command, SFTP, a
 * forward, a jump hop):
 *
 * 1. A deadline. Asking the server for a channel (and the request on it) gets an answer within DEPLOY_SSH_TIMEOUT,
 *    or the connection is treated as lost: a server that authenticates and then never answers, a jump host that
 *    ignores `direct-tcpip`, a bastion waiting for a firewalled manager's SYN — each ends in the run's failover and
 *    outcome rules, never in a wait without end. A channel that opens after its deadline is closed at once.
 * 2. A limit. OpenSSH refuses session channels beyond MaxSessions (10 by default, fewer on hardened servers): at
 *    most `limit` session channels are open at once (DEPLOY_SSH_MAX_CHANNELS), the rest wait for a free one; a
 *    refusal ("open failed") lowers the limit to what the server allowed and the channel waits its turn again.
 */
import { ConnectionLost } from '../errors.js';

/** The server refused a channel for now (MaxSessions): wait for one to close, then ask again. */
export const OPEN_REFUSED = /Channel open failure: open failed/i;

/** No answer within the deadline: the connection is as good as lost. */
export class NoAnswer extends ConnectionLost {
  constructor(what: string, seconds: number) {
    super(`${what}: no answer within ${seconds}s (DEPLOY_SSH_TIMEOUT)`);
  }
}

/**
 * Runs `start`, which calls back once with an error or a value, bounded by `ms`. After the deadline a late value is
 * handed to `late` (to close it) and the promise rejects with NoAnswer.
 */
export function withDeadline<T>(ms: number, what: string, start: (cb: (err: Error | undefined, value?: T) => void) => void, late: (value: T) => void = () => undefined): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      reject(new NoAnswer(what, Math.round(ms / 1000)));
    }, ms);
    try {
      start((err, value) => {
        if (settled) {
          if (!err && value !== undefined) late(value);
          return;
        }
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(value as T);
      });
    } catch (e) {
      settled = true;
      clearTimeout(timer);
      reject(e as Error);
    }
  });
}

/** How many session channels may be open at once on one connection; callers wait for a free one in order. */
export class ChannelGate {
  private open = 0;
  private waiting: Array<() => void> = [];
  /** a new connection starts a new count: places taken on the old one are not given back to it */
  private epoch = 0;
  /** the most channels the server has shown it takes (lowered on a refusal, never below 1) */
  limit: number;
  /** how often the server refused a channel (for tests and the log) */
  refusals = 0;

  constructor(limit: number) {
    this.limit = Math.max(1, limit);
  }

  get inUse(): number {
    return this.open;
  }

  /** Waits for a free channel; the function returned gives it back (once). */
  async acquire(): Promise<() => void> {
    while (this.open >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.open += 1;
    const epoch = this.epoch;
    let given = false;
    return () => {
      if (given || epoch !== this.epoch) return;
      given = true;
      this.open -= 1;
      this.waiting.shift()?.();
    };
  }

  /** The server refused one more channel than `open` (the refused one already given back). */
  refused(): void {
    this.refusals += 1;
    this.limit = Math.max(1, this.open);
  }

  /** Wakes every waiter (the connection was replaced: each asks again). */
  reset(): void {
    this.epoch += 1;
    this.open = 0;
    for (const w of this.waiting.splice(0)) w();
  }
}

/**
 * Opens a session channel under the gate and the deadline; a refusal ("open failed") is retried once another
 * channel closes (or after a short pause when none is open), for as long as `retryForMs` allows.
 * Resolves with the channel and the function that frees its place.
 */
export async function openSession<T>(
  gate: ChannelGate,
  o: { deadlineMs: number; what: string; retryForMs?: number; start: (cb: (err: Error | undefined, value?: T) => void) => void; close: (value: T) => void; sleep?: (ms: number) => Promise<void> },
): Promise<{ channel: T; free: () => void }> {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const giveUpAt = Date.now() + (o.retryForMs ?? 120_000);
  for (let pause = 100; ; pause = Math.min(pause * 2, 2_000)) {
    const free = await gate.acquire();
    try {
      const channel = await withDeadline(o.deadlineMs, o.what, o.start, o.close);
      return { channel, free };
    } catch (e) {
      free();
      if (!OPEN_REFUSED.test((e as Error).message) || Date.now() >= giveUpAt) throw e;
      gate.refused();
      // another channel of the run closing frees the place; with none open, the server's own sessions must end
      await sleep(pause);
    }
  }
}
