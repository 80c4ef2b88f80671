/**
 * What the users saw, on the loopback sandbox: the fixture's api is published in host mode and updated stop-first
 * (no routing mesh here), so every update leaves a gap the health URL sees — counted, reported and, with a budget,
 * a failed release. And the health URL asked once before anything changes: a redirect to the same host followed,
 * one to another host or a URL failing while a release serves refused with exit 2, the stack untouched.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanup, currentId, httpBody, loadSandbox, makeFixture, runCli, serviceImage, type Fixture } from './harness.js';

const { sandbox, reason } = loadSandbox();
const LINE = /^during the (update|rollback): (\d+) of (\d+) requests to the health URL failed \(longest gap (\d+\.\d) s\)$/m;

describe('what the users saw during an update', { skip: sandbox ? false : `e2e skipped: ${reason}` }, () => {
  let fx: Fixture;
  const apiPort = 18723;
  const lastLine = (out: string) => out.split('\n').filter((l) => l.startsWith('result:')).pop() ?? '';
  const cluster = () => path.join(fx.deployDir, 'cluster.env');
  /** the output's lines without the reporter's prefixes */
  const lines = (out: string) => out.split('\n').map((l) => l.replace(/^\s*(?:[-✔✖•ℹ!>]+\s+|info:\s+|warning:\s+)*/u, '').trim());
  const watchOf = (out: string, phase: string) => lines(out).map((l) => LINE.exec(l)).find((m) => m?.[1] === phase);
  let expect = '';
  function setUrl(url: string, expectLine = expect): void {
    fs.writeFileSync(cluster(), fs.readFileSync(cluster(), 'utf8').replace(/^DEPLOY_HEALTHCHECK_URL=.*$/m, `DEPLOY_HEALTHCHECK_URL=${url}`).replace(/^DEPLOY_HEALTHCHECK_EXPECT=.*$/m, expectLine), { mode: 0o600 });
  }

  before(async () => {
    fx = makeFixture(sandbox!, { stack: 'e2eusers', apiPort, convergeTimeout: 90 });
    expect = /^DEPLOY_HEALTHCHECK_EXPECT=.*$/m.exec(fs.readFileSync(cluster(), 'utf8'))?.[0] ?? 'DEPLOY_HEALTHCHECK_EXPECT=';
    // the first deploy: nothing serves yet, so the URL failing now is not a failure, and its misses cost no user
    // anything (a budget of 0 does not fail it)
    const r = await runCli(fx, ['--context', fx.context, '--tag', 'u1', '--max-failed-requests', '0']);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /no known-good release serves yet \(a first deploy\): not a failure/);
    assert.match(r.output, /its failed requests are not held against DEPLOY_MAX_FAILED_REQUESTS/);
  });
  after(async () => {
    if (fx) await cleanup(fx);
  });

  it('a stop-first update behind a host-mode port: the summary counts the failed requests and the gap; releases and --json keep them', async () => {
    const r = await runCli(fx, ['--context', fx.context, '--tag', 'u2']);
    assert.equal(r.code, 0, r.output);
    const m = watchOf(r.output, 'update');
    assert.ok(m, `no "during the update" line in:\n${r.output}`);
    // said once, in the summary before the result line
    assert.equal(lines(r.output).filter((l) => LINE.test(l)).length, 1, r.output);
    const [failed, total, gap] = [Number(m[2]), Number(m[3]), Number(m[4])];
    assert.ok(failed > 0, `a stop-first update of the only replica must cost requests: ${m[0]}`);
    assert.ok(total > failed, m[0]);
    assert.ok(gap > 0, m[0]);
    const id = currentId(fx.stack)!;
    const json = await runCli(fx, ['releases', '--json']);
    assert.equal(json.code, 0, json.output);
    const rows = JSON.parse(json.stdout) as Array<{ deployId: string; watch: Array<{ phase: string; failed: number; total: number; longestGapSeconds: number; rate: number }> | null }>;
    assert.deepEqual(rows.find((x) => x.deployId === id)?.watch, [{ phase: 'update', failed, total, longestGapSeconds: gap, rate: 4 }]);
    const table = await runCli(fx, ['releases']);
    assert.match(table.output, new RegExp(`${id} .* ${failed}/${total} failed, gap ${gap.toFixed(1)} s`));
  });

  it('with a budget of 0 failed requests the same update is a failed release: rolled back (exit 1), the rollback watched too', async () => {
    const before = currentId(fx.stack)!;
    const r = await runCli(fx, ['--context', fx.context, '--tag', 'u3', '--max-failed-requests', '0']);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /requests to the health URL failed \(longest gap \d+\.\d s\): more than the 0 the update may cost \(DEPLOY_MAX_FAILED_REQUESTS\)/);
    assert.ok(watchOf(r.output, 'rollback'), `no "during the rollback" line in:\n${r.output}`);
    assert.match(lastLine(r.output), new RegExp(`^result: deploy failed \\(exit 1\\): rolled back: the previous release ${before} \\(tag u2\\) is serving again$`));
    assert.equal((await httpBody(fx.healthUrl))?.body.trim(), 'ok u2');
  });

  it('a health URL that redirects to the same host is followed before the stack changes, and the deploy passes (no rollback)', async () => {
    // busybox httpd answers /api/health with a redirect to /api/health/ (whose body is "ok", no tag to expect)
    const redirecting = `http://127.0.0.1:${apiPort}/api/health`;
    setUrl(redirecting, 'DEPLOY_HEALTHCHECK_EXPECT=');
    try {
      const r = await runCli(fx, ['--tag', 'u2'], { SKIP_BUILD: '1' });
      assert.equal(r.code, 0, r.output);
      assert.match(r.output, new RegExp(`DEPLOY_HEALTHCHECK_URL: ${redirecting.replace(/[.]/g, '\\.')} redirects to ${redirecting.replace(/[.]/g, '\\.')}/ \\(the same host\\): this run checks`));
      assert.doesNotMatch(r.output, /Roll back/);
    } finally {
      setUrl(fx.healthUrl);
    }
  });

  it('a redirect to another host, and a URL that fails while a release serves, stop the run with exit 2 before the stack changes', async () => {
    // the second Location carries credentials of its own: they are never shown
    const redirector = http.createServer((req, res) => res.writeHead(302, { location: req.url === '/probe' ? `http://probe:Pr0beSecretPass@localhost:${apiPort}/cgi-bin/health` : `http://localhost:${apiPort}/cgi-bin/health` }).end());
    await new Promise<void>((r) => redirector.listen(18724, '127.0.0.1', r));
    const spec = serviceImage(fx.stack, 'api');
    try {
      setUrl('http://127.0.0.1:18724/health');
      const moved = await runCli(fx, ['--tag', 'u2'], { SKIP_BUILD: '1' });
      assert.equal(moved.code, 2, moved.output);
      assert.match(moved.output, new RegExp(`DEPLOY_HEALTHCHECK_URL: http://127\\.0\\.0\\.1:18724/health redirects to http://localhost:${apiPort}/cgi-bin/health, which the health check does not follow \\(another host\\) — set DEPLOY_HEALTHCHECK_URL=http://localhost:${apiPort}/cgi-bin/health`));
      assert.match(lastLine(moved.output), /^result: stopped before changing anything \(exit 2\)/);
      setUrl('http://127.0.0.1:18724/probe');
      const probe = await runCli(fx, ['--tag', 'u2'], { SKIP_BUILD: '1' });
      assert.equal(probe.code, 2, probe.output);
      assert.match(probe.output, new RegExp(`redirects to http://probe:\\[redacted\\]@localhost:${apiPort}/cgi-bin/health, which the health check does not follow`));
      assert.doesNotMatch(probe.output, /Pr0beSecretPass/);
      setUrl(`http://127.0.0.1:${apiPort}/no-such-page`);
      const failing = await runCli(fx, ['--tag', 'u2'], { SKIP_BUILD: '1' });
      assert.equal(failing.code, 2, failing.output);
      assert.match(failing.output, /DEPLOY_HEALTHCHECK_URL: http:\/\/127\.0\.0\.1:18723\/no-such-page answers HTTP 404 now, while the known-good release \S+ \(tag u2\) serves/);
      assert.equal(serviceImage(fx.stack, 'api'), spec, 'the stack was not touched');
    } finally {
      setUrl(fx.healthUrl);
      redirector.close();
    }
  });
});
