import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { overBudget, summarizeSamples, watchLine } from '../../../src/watch/samples.js';
import { HealthWatcher } from '../../../src/watch/watcher.js';

const at = (sentAt: number, ok: boolean) => ({ sentAt, ok });

describe('what the users saw', () => {
  it('counts the failed requests and the longest stretch from a failure to the next healthy answer', () => {
    const s = summarizeSamples([at(0, true), at(250, false), at(500, false), at(750, true), at(1000, false), at(1250, true)], 1500, 'update', 4);
    assert.deepEqual(s, { phase: 'update', failed: 3, total: 6, longestGapSeconds: 0.5, rate: 4 });
    assert.equal(watchLine(s), 'during the update: 3 of 6 requests to the health URL failed (longest gap 0.5 s)');
  });
  it('answers arriving out of order are put in the order they were sent; a gap still open runs to the end of the watch', () => {
    const s = summarizeSamples([at(750, false), at(0, true), at(500, false)], 2000, 'rollback', 4);
    assert.equal(s.longestGapSeconds, 1.5);
    assert.equal(watchLine(s), 'during the rollback: 2 of 3 requests to the health URL failed (longest gap 1.5 s)');
  });
  it('no failure: F = 0 and no gap', () => {
    assert.equal(watchLine(summarizeSamples([at(0, true), at(250, true)], 500, 'update', 4)), 'during the update: 0 of 2 requests to the health URL failed (longest gap 0.0 s)');
  });
  it('the budget: unset only reports; set, more failures than it allows fail the release (0 allows none)', () => {
    const s = summarizeSamples([at(0, false), at(250, true)], 500, 'update', 4);
    assert.equal(overBudget(s, undefined), false);
    assert.equal(overBudget(s, 1), false);
    assert.equal(overBudget(s, 0), true);
  });
});

describe('the watcher', () => {
  it('asks a real server at the rate, counts its 5xx and refusals, and stops asking when stopped', async () => {
    let n = 0;
    const server = http.createServer((_req, res) => {
      n += 1;
      res.statusCode = n % 3 === 0 ? 503 : 200;
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
    const w = new HealthWatcher(url, 20, 1000);
    await new Promise((r) => setTimeout(r, 600));
    const { samples, endAt } = await w.stop();
    const asked = n;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(n, asked, 'no request after stop');
    server.close();
    const s = summarizeSamples(samples, endAt, 'update', 20);
    assert.ok(s.total >= 8 && s.total <= 16, `${s.total} requests in 0.6 s at 20/s`);
    assert.equal(s.failed, samples.filter((x) => !x.ok).length);
    assert.ok(s.failed >= 2, `${s.failed} of ${s.total} failed (every third is a 503)`);
    // nothing listening: every request fails
    const closed = new HealthWatcher(url, 10, 500);
    await new Promise((r) => setTimeout(r, 350));
    const gone = await closed.stop();
    assert.ok(gone.samples.length >= 2 && gone.samples.every((x) => !x.ok));
  });
});
