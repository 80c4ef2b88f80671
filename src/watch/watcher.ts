/**
 * The health URL asked at a steady rate while something changes, each request with its own short timeout; the
 * samples kept for the summary (watch/samples.ts). Requests do not wait for each other: a URL that hangs still gets
 * its requests, each failing after WATCH_TIMEOUT_MS. The timer never keeps the process alive.
 */
import { checkHealthOnce } from '../io/http.js';
import { WATCH_TIMEOUT_MS, type WatchSample } from './samples.js';

export class HealthWatcher {
  private readonly samples: WatchSample[] = [];
  private readonly inflight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  readonly startedAt = Date.now();

  constructor(
    private readonly url: string,
    readonly rate: number,
    private readonly timeoutMs = WATCH_TIMEOUT_MS,
  ) {
    this.ask();
    this.timer = setInterval(() => this.ask(), Math.max(1, Math.round(1000 / rate)));
    this.timer.unref();
  }

  private ask(): void {
    const sentAt = Date.now();
    const p = checkHealthOnce(this.url, undefined, this.timeoutMs).then((a) => {
      this.samples.push({ sentAt, ok: a.ok });
    });
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  /** No more requests; the answers of those under way are waited for (at most the timeout). */
  async stop(): Promise<{ samples: WatchSample[]; endAt: number }> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const endAt = Date.now();
    await Promise.all([...this.inflight]);
    return { samples: this.samples, endAt };
  }
}
