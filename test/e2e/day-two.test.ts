/**
 * Day-two operations, each against the sandbox in healthy and broken states: status (exit 0 only when every
 * service runs the known-good release), releases, rollback to a chosen release (refused when its secrets were
 * pruned or an image deleted from the registry), logs with a secret shown redacted, the Dozzle tunnel, doctor.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { lockOwner, currentId, cleanup, docker, loadSandbox, makeFixture, runCli, serviceImage, startCli, type Fixture } from './harness.js';

const { sandbox, reason } = loadSandbox();

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

describe('day-two operations', { skip: sandbox ? false : `e2e skipped: ${reason}` }, () => {
  let fx: Fixture;
  const ids: Record<string, string> = {};
  const image = (svc: string, tag: string) => `${sandbox!.registry}/e2e-${fx.stack}/honeydue-${svc}:${tag}`;
  const lastLine = (out: string) => out.split('\n').filter((l) => l.startsWith('result:')).pop() ?? '';

  before(() => {
    fx = makeFixture(sandbox!, { stack: 'e2edaytwo', apiPort: 18716 });
  });
  after(async () => {
    if (fx) await cleanup(fx);
  });

  it('three deploys: releases lists them newest first with the current one; status exits 0 and shows where each task runs', async () => {
    for (const tag of ['t1', 't2', 't3']) {
      // a distinct image per release (deleting one manifest by digest must not delete the others)
      const r = await runCli(fx, ['--context', fx.context, '--tag', tag, '--keep-secrets', '2', '--build-arg', `HEALTH=ok-${tag}`]);
      assert.equal(r.code, 0, r.output);
      ids[tag] = currentId(fx.stack)!;
    }
    const rel = await runCli(fx, ['releases']);
    assert.equal(rel.code, 0, rel.output);
    const lines = rel.stdout.split('\n').filter((l) => /^[* ] +\S+_\d{14} /.test(l));
    assert.deepEqual(lines.map((l) => /(t\d)_\d{14}/.exec(l)![1]), ['t3', 't2', 't1']);
    assert.match(lines[0]!, /^\* +t3_\d{14} +t3 +\S+@\S+ +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC +healthy \(current\) +\d+\/\d+ failed, gap \d+\.\d s$/);
    const json = JSON.parse((await runCli(fx, ['releases', '--json'])).stdout) as Array<{ deployId: string; current: boolean; outcome: string }>;
    assert.deepEqual(json.map((r) => [r.deployId, r.current, r.outcome]), [[ids.t3, true, 'healthy'], [ids.t2, false, 'healthy'], [ids.t1, false, 'healthy']]);

    const st = await runCli(fx, ['status']);
    assert.equal(st.code, 0, st.output);
    assert.match(st.stdout, new RegExp(`^known-good release: ${ids.t3} \\(tag t3, by \\S+, at `, 'm'));
    assert.match(st.stdout, /^ {2}api +t3 +1\/1 +(completed|-)$/m);
    const nodeId = docker(['node', 'ls', '--format', '{{.ID}}']).trim().slice(0, 12);
    assert.match(st.stdout, new RegExp(`^ {2}worker +${nodeId} \\(\\S+\\) +Running`, 'm'));
    assert.match(lastLine(st.output), /^result: ok \(exit 0\): every service runs the known-good release t3_\d{14}$/);
  });

  it('status exits 1 when a service does not run the known-good release; a failed deploy leaves it at 0', async () => {
    const bad = await runCli(fx, ['--context', fx.context, '--tag', 'bad', '--build-arg', 'HEALTH=fail']);
    assert.equal(bad.code, 1, bad.output);
    assert.equal((await runCli(fx, ['status'])).code, 0, 'after the rollback the known-good release runs');
    docker(['service', 'update', '--detach', '--image', image('worker', 't1'), `${fx.stack}_worker`]);
    const st = await runCli(fx, ['status']);
    assert.equal(st.code, 1, st.output);
    assert.match(st.stdout, /not on the known-good release: e2edaytwo_worker: spec still on .*honeydue-worker:t1/);
    assert.match(lastLine(st.output), /^result: not converged \(exit 1\): the stack is not converged on the known-good release t3_\d{14}$/);
  });

  it('rollback to a release whose secrets were pruned, or whose image was deleted, is refused naming what is missing (exit 2, nothing changed)', async () => {
    const pruned = await runCli(fx, ['rollback', ids.t1!]);
    assert.equal(pruned.code, 2, pruned.output);
    assert.match(pruned.output, new RegExp(`${ids.t1} cannot be restored, nothing was changed: secret e2edaytwo_postgres_password_${ids.t1} \\(pruned\\)`));
    // delete t2's api image from the registry (its manifest, through the registry's API)
    const authorization = `Basic ${Buffer.from(`${sandbox!.registryUser}:${sandbox!.registryPassword}`).toString('base64')}`;
    const manifests = `http://${sandbox!.registry}/v2/e2e-${fx.stack}/honeydue-api/manifests`;
    const head = await fetch(`${manifests}/t2`, { method: 'HEAD', headers: { authorization, accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
    const digest = head.headers.get('docker-content-digest')!;
    assert.equal((await fetch(`${manifests}/${digest}`, { method: 'DELETE', headers: { authorization } })).status, 202);
    const gone = await runCli(fx, ['rollback', ids.t2!]);
    assert.equal(gone.code, 2, gone.output);
    assert.match(gone.output, new RegExp(`image ${image('api', 't2').replace(/[.]/g, '\\.')} \\(not in the registry`));
    assert.equal(serviceImage(fx.stack, 'api'), image('api', 't3'), 'nothing changed');
    assert.equal(lockOwner(fx.stack), undefined);
  });

  it('rollback to a chosen older release: verified, made current', async () => {
    const t4 = await runCli(fx, ['--context', fx.context, '--tag', 't4']);
    assert.equal(t4.code, 0, t4.output);
    const r = await runCli(fx, ['rollback', ids.t3!]);
    assert.equal(r.code, 0, r.output);
    assert.match(lastLine(r.output), new RegExp(`^result: ok \\(exit 0\\): rolled back: ${ids.t3} \\(tag t3\\) is serving and healthy$`));
    for (const svc of ['api', 'worker', 'admin']) assert.equal(serviceImage(fx.stack, svc), image(svc, 't3'));
    assert.equal(currentId(fx.stack)!, ids.t3);
  });

  it('logs: a secret a service prints is shown redacted', async () => {
    // the worker logs its secret_key on start when PRINT_KEY_ON_START=1: deploy once with it
    const prod = `${fx.deployDir}/prod.env`;
    execFileSync('sh', ['-c', `echo PRINT_KEY_ON_START=1 >> '${prod}'`]);
    const r = await runCli(fx, ['--context', fx.context, '--tag', 't5']);
    assert.equal(r.code, 0, r.output);
    const secret = fx.secrets['secret_key.txt']!.toString('utf8');
    const raw = docker(['service', 'logs', `${fx.stack}_worker`]);
    assert.ok(raw.includes(secret), 'the service really printed the secret');
    const logs = await runCli(fx, ['logs', 'worker', '--tail', '50']);
    assert.equal(logs.code, 0, logs.output);
    assert.match(logs.stdout, /worker: debug: secret_key is \[redacted\]/);
    assert.ok(!logs.output.includes(secret), 'the secret reached the terminal');
    const unknown = await runCli(fx, ['logs', 'nosuch']);
    assert.equal(unknown.code, 2, unknown.output);
    assert.match(unknown.output, /command line: SERVICE: nosuch is not a service of the stack e2edaytwo — use one of (admin|api|worker)/);
  });

  it('dozzle: a local port forwarded to a loopback-only service on the manager; a busy port is a clear error', async () => {
    const page = net.createServer((s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 13\r\nConnection: close\r\n\r\ndozzle-behind')).listen(19999, '127.0.0.1');
    try {
      const port = await freePort();
      const run = startCli(fx, ['dozzle', '--port', String(port)]);
      await run.waitFor(new RegExp(`Dozzle: http://127\\.0\\.0\\.1:${port}/ \\(tunnelled to 127\\.0\\.0\\.1:19999 on the manager`));
      const body = await (await fetch(`http://127.0.0.1:${port}/`)).text();
      assert.equal(body, 'dozzle-behind');
      run.child.kill('SIGINT');
      const r = await run.done;
      assert.equal(r.code, 0, r.output);
      const busy = net.createServer().listen(port, '127.0.0.1');
      try {
        const b = await runCli(fx, ['dozzle', '--port', String(port)]);
        assert.equal(b.code, 2, b.output);
        assert.match(b.output, new RegExp(`command line: --port: 127\\.0\\.0\\.1:${port} is already in use on this machine`));
      } finally {
        busy.close();
      }
    } finally {
      page.close();
    }
  });

  it('doctor: passes on a healthy stack; flags the Dozzle port published on all interfaces and a missing secret of the current release', async () => {
    const ok = await runCli(fx, ['doctor']);
    assert.match(ok.stdout, /^pass +ssh +connected to /m);
    assert.match(ok.stdout, /^pass +swarm +an active swarm manager$/m);
    assert.match(ok.stdout, /^pass +release secrets +every secret of t5_\d{14} exists$/m);
    assert.match(ok.stdout, /^pass +registry +the manager logs in to /m);
    docker(['service', 'update', '--detach', '--publish-add', 'mode=host,published=19999,target=3000', `${fx.stack}_admin`]);
    const open = await runCli(fx, ['doctor']);
    assert.equal(open.code, 1, open.output);
    assert.match(open.stdout, /^fail +published ports +admin publishes 19999 \(host mode\) on all interfaces: Dozzle shows every log line/m);
    // someone removed the stack and a secret of the current release by hand (the admin update above may still hold
    // the stack's network for a moment: docker then removes the services and reports the network; the stack is gone)
    docker(['stack', 'rm', fx.stack], { allowFail: true });
    for (let i = 0; i < 60 && docker(['stack', 'services', '-q', fx.stack], { allowFail: true }).trim() !== ''; i++) await new Promise((res) => setTimeout(res, 500));
    const current = currentId(fx.stack)!;
    for (let i = 0; i < 60 && docker(['secret', 'rm', `${fx.stack}_secret_key_${current}`], { allowFail: true }) === ''; i++) await new Promise((res) => setTimeout(res, 500));
    const missing = await runCli(fx, ['doctor', '--json']);
    assert.equal(missing.code, 1, missing.output);
    const checks = JSON.parse(missing.stdout) as Array<{ level: string; name: string; text: string }>;
    const secretCheck = checks.find((c) => c.name === 'release secrets')!;
    assert.equal(secretCheck.level, 'fail');
    assert.match(secretCheck.text, new RegExp(`uses e2edaytwo_secret_key_${current}, which no longer exist`));
  });
});
