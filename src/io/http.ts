import { maskUrlCredentials } from '../ui/redact.js';

export interface HealthAttempt {
  ok: boolean;
  status?: number;
  detail: string;
}

/** One GET with its own timeouts. 2xx (and the expected text, if any) is healthy. */
export async function checkHealthOnce(url: string, expect: string | undefined, timeoutMs: number): Promise<HealthAttempt> {
  try {
    // loaded on first use: a dry run never needs it
    const { request } = await import('undici');
    const res = await request(url, { method: 'GET', headersTimeout: timeoutMs, bodyTimeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs) });
    const body = await res.body.text();
    if (res.statusCode < 200 || res.statusCode > 299) return { ok: false, status: res.statusCode, detail: `HTTP ${res.statusCode}` };
    if (expect !== undefined && !body.includes(expect)) {
      return { ok: false, status: res.statusCode, detail: `HTTP ${res.statusCode} but the body does not contain "${expect}" (another release answered?)` };
    }
    return { ok: true, status: res.statusCode, detail: `HTTP ${res.statusCode}` };
  } catch (err) {
    const e = err as Error & { code?: string; cause?: { code?: string } };
    return { ok: false, detail: e.code ?? e.cause?.code ?? e.name ?? 'request failed' };
  }
}

export interface WaitHealthyOptions {
  url: string;
  expect?: string;
  timeoutSeconds: number;
  onAttempt?: (a: HealthAttempt, n: number) => void;
  /** checked between attempts: stop early (interrupt) */
  shouldStop?: () => boolean;
  sleep?: (ms: number) => Promise<void>;
}

/** Retries with backoff (1 s doubling to 8 s) until healthy or the deadline. */
export async function waitHealthy(o: WaitHealthyOptions): Promise<{ ok: boolean; last: HealthAttempt; attempts: number }> {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = Date.now() + o.timeoutSeconds * 1000;
  let delay = 1000;
  let attempts = 0;
  let last: HealthAttempt = { ok: false, detail: 'not tried' };
  for (;;) {
    const left = deadline - Date.now();
    last = await checkHealthOnce(o.url, o.expect, Math.max(1000, Math.min(10_000, left)));
    attempts += 1;
    o.onAttempt?.(last, attempts);
    if (last.ok) return { ok: true, last, attempts };
    if (Date.now() + delay > deadline || o.shouldStop?.()) return { ok: false, last, attempts };
    await sleep(delay);
    delay = Math.min(delay * 2, 8000);
  }
}

/** A health URL asked once, its redirects to the same host followed (at most `maxHops`). */
export interface ResolvedHealthUrl {
  /** where the answer came from: the URL itself, or where it redirects */
  url: string;
  attempt: HealthAttempt;
  /** a redirect to another host (or one that cannot be read), not followed: its Location, as sent (credentials too) */
  otherHost?: string;
  /** the redirects followed, in order */
  hops: string[];
}

export async function resolveHealthUrl(url: string, timeoutMs: number, maxHops = 5): Promise<ResolvedHealthUrl> {
  const { request } = await import('undici');
  const hops: string[] = [];
  let current = url;
  for (;;) {
    try {
      const res = await request(current, { method: 'GET', headersTimeout: timeoutMs, bodyTimeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs) });
      await res.body.dump();
      const location = res.headers.location;
      if (res.statusCode >= 300 && res.statusCode < 400 && typeof location === 'string') {
        let next: URL;
        try {
          next = new URL(location, current);
        } catch {
          return { url: current, attempt: { ok: false, status: res.statusCode, detail: `HTTP ${res.statusCode} to ${maskUrlCredentials(location)}` }, otherHost: location, hops };
        }
        if (next.hostname.toLowerCase() !== new URL(url).hostname.toLowerCase() || !/^https?:$/.test(next.protocol)) {
          return { url: current, attempt: { ok: false, status: res.statusCode, detail: `HTTP ${res.statusCode} to ${maskUrlCredentials(next.href)}` }, otherHost: next.href, hops };
        }
        if (hops.length >= maxHops) return { url: current, attempt: { ok: false, status: res.statusCode, detail: `more than ${maxHops} redirects` }, hops };
        hops.push(next.href);
        current = next.href;
        continue;
      }
      const ok = res.statusCode >= 200 && res.statusCode <= 299;
      return { url: current, attempt: { ok, status: res.statusCode, detail: `HTTP ${res.statusCode}` }, hops };
    } catch (err) {
      const e = err as Error & { code?: string; cause?: { code?: string } };
      return { url: current, attempt: { ok: false, detail: e.code ?? e.cause?.code ?? e.name ?? 'request failed' }, hops };
    }
  }
}
