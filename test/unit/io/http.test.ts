import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { checkHealthOnce, resolveHealthUrl, waitHealthy } from '../../../src/io/http.js';

let server: http.Server;
let base = '';
let flakyCalls = 0;

before(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/ok') return res.end('ok v2');
    if (req.url === '/fail') return res.writeHead(500).end('boom');
    if (req.url === '/slow') return setTimeout(() => res.end('late'), 3000);
    if (req.url === '/api/health') return res.writeHead(301, { location: '/api/health/' }).end();
    if (req.url === '/api/health/') return res.end('ok');
    if (req.url === '/elsewhere') return res.writeHead(302, { location: 'https://health.example.com/api/health/' }).end();
    if (req.url === '/elsewhere-with-credentials') return res.writeHead(302, { location: 'https://probe:S3cretProbePass@health.example.com/api/health/' }).end();
    if (req.url === '/loop') return res.writeHead(302, { location: '/loop' }).end();
    if (req.url === '/flaky') return ++flakyCalls < 3 ? res.writeHead(503).end() : res.end('ok v2');
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

describe('health checks (real HTTP on loopback)', () => {
  it('2xx is healthy; the expected text must be in the body', async () => {
    assert.deepEqual(await checkHealthOnce(`${base}/ok`, undefined, 1000), { ok: true, status: 200, detail: 'HTTP 200' });
    assert.equal((await checkHealthOnce(`${base}/ok`, 'v2', 1000)).ok, true);
    const other = await checkHealthOnce(`${base}/ok`, 'v3', 1000);
    assert.equal(other.ok, false);
    assert.match(other.detail, /does not contain "v3"/);
  });
  it('a 500, a timeout and a refused connection are unhealthy', async () => {
    assert.deepEqual(await checkHealthOnce(`${base}/fail`, undefined, 1000), { ok: false, status: 500, detail: 'HTTP 500' });
    assert.equal((await checkHealthOnce(`${base}/slow`, undefined, 300)).ok, false);
    const refused = await checkHealthOnce('http://127.0.0.1:1/', undefined, 500);
    assert.equal(refused.ok, false);
    assert.equal(refused.detail, 'ECONNREFUSED');
  });
  it('retries with backoff until healthy', async () => {
    const sleeps: number[] = [];
    const r = await waitHealthy({ url: `${base}/flaky`, timeoutSeconds: 30, sleep: async (ms) => void sleeps.push(ms) });
    assert.equal(r.ok, true);
    assert.equal(r.attempts, 3);
    assert.deepEqual(sleeps, [1000, 2000]);
  });
  it('gives up at the deadline, and early when told to stop', async () => {
    const r = await waitHealthy({ url: `${base}/fail`, timeoutSeconds: 2, sleep: async () => {} , shouldStop: () => true });
    assert.equal(r.ok, false);
    assert.equal(r.attempts, 1);
  });
});

describe('the health URL asked once before anything changes', () => {
  it('a redirect to the same host is followed, and says where it leads', async () => {
    const r = await resolveHealthUrl(`${base}/api/health`, 2000);
    assert.deepEqual(r, { url: `${base}/api/health/`, attempt: { ok: true, status: 200, detail: 'HTTP 200' }, hops: [`${base}/api/health/`] });
  });
  it('a redirect to another host is not followed: its Location is named', async () => {
    const r = await resolveHealthUrl(`${base}/elsewhere`, 2000);
    assert.equal(r.otherHost, 'https://health.example.com/api/health/');
    assert.equal(r.attempt.ok, false);
  });
  it('a Location with credentials of its own: kept to use, never in the words shown', async () => {
    const r = await resolveHealthUrl(`${base}/elsewhere-with-credentials`, 2000);
    assert.equal(r.otherHost, 'https://probe:S3cretProbePass@health.example.com/api/health/');
    assert.equal(r.attempt.detail, 'HTTP 302 to https://probe:[redacted]@health.example.com/api/health/');
  });
  it('a URL that answers 500, or redirects without end, is not healthy', async () => {
    assert.deepEqual((await resolveHealthUrl(`${base}/fail`, 2000)).attempt, { ok: false, status: 500, detail: 'HTTP 500' });
    const loop = await resolveHealthUrl(`${base}/loop`, 2000);
    assert.equal(loop.attempt.detail, 'more than 5 redirects');
    assert.equal(loop.hops.length, 5);
  });
});
