/**
 * What the users saw during an update, from the health URL asked at a steady rate: how many answers were not
 * healthy, and the longest stretch without a healthy one. Pure: the samples in, the summary out.
 */

/** One request of the watch: when it was sent (ms) and whether it was answered 2xx. */
export interface WatchSample {
  sentAt: number;
  ok: boolean;
}

export interface WatchSummary {
  /** what was being watched: the deploy's update or a rollback */
  phase: 'update' | 'rollback';
  failed: number;
  total: number;
  /** the longest stretch, in seconds, from a failed request to the next healthy one (or the end of the watch) */
  longestGapSeconds: number;
  /** requests per second asked (DEPLOY_WATCH_RATE) */
  rate: number;
}

/** Requests of the watch wait this long for an answer (headers and body) before they count as failed. */
export const WATCH_TIMEOUT_MS = 2000;

export function summarizeSamples(samples: readonly WatchSample[], endAt: number, phase: WatchSummary['phase'], rate: number): WatchSummary {
  const ordered = [...samples].sort((a, b) => a.sentAt - b.sentAt);
  let longest = 0;
  let gapStart: number | undefined;
  for (const s of ordered) {
    if (!s.ok) gapStart ??= s.sentAt;
    else if (gapStart !== undefined) {
      longest = Math.max(longest, s.sentAt - gapStart);
      gapStart = undefined;
    }
  }
  if (gapStart !== undefined) longest = Math.max(longest, endAt - gapStart);
  return { phase, failed: ordered.filter((s) => !s.ok).length, total: ordered.length, longestGapSeconds: Math.round(longest / 100) / 10, rate };
}

/** `during the update: F of N requests to the health URL failed (longest gap S s)` */
export function watchLine(s: WatchSummary): string {
  return `during the ${s.phase}: ${s.failed} of ${s.total} requests to the health URL failed (longest gap ${s.longestGapSeconds.toFixed(1)} s)`;
}

/** The budget (DEPLOY_MAX_FAILED_REQUESTS) is set and the watch used more of it. */
export function overBudget(s: WatchSummary, budget: number | undefined): boolean {
  return budget !== undefined && s.failed > budget;
}
