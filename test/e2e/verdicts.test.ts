/**
 * Verdicts against the real sandbox: an image set for another CPU architecture is refused before the stack is
 * touched, a replica swarm will never place is a failed release judged in seconds (not after the whole convergence
 * timeout), and a serving release whose api container was killed three
 * times over its life (swarm restarted it each time) is still converged for `status`.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI, acceptedLogins, cleanup, docker, loadSandbox, secretNames, makeFixture, runCli, runningContainer, serviceImage, sleep, startCli, type Fixture } from './harness.js';

const { sandbox, reason } = loadSandbox();

describe('verdicts: what serves, judged right and in time', { skip: sandbox ? false : `e2e skipped: ${reason}` }, () => {
  let fx: Fixture;
  const image = (svc: string, tag: string) => `${sandbox!.registry}/e2e-${fx.stack}/honeydue-${svc}:${tag}`;
  const lastLine = (out: string) => out.split('\n').filter((l) => l.startsWith('result:')).pop() ?? '';

  before(async () => {
    fx = makeFixture(sandbox!, { stack: 'e2everdicts', apiPort: 18941, convergeTimeout: 90 });
    const r = await runCli(fx, ['--context', fx.context, '--tag', 'v1']);
    assert.equal(r.code, 0, r.output);
  });
  after(async () => {
    if (fx) await cleanup(fx);
  });

  it('an image set for linux/arm64 on amd64 nodes (SKIP_BUILD): refused in seconds before the stack is touched, naming what it offers and what the nodes need (exit 2)', async () => {
    // FROM scratch + COPY builds for any platform without emulation; pushed by hand, as with SKIP_BUILD
    const dir = fs.mkdtempSync(path.join(fx.root, 'arm64-'));
    fs.copyFileSync('/bin/busybox', path.join(dir, 'busybox'));
    fs.writeFileSync(path.join(dir, 'Dockerfile'), ['api', 'worker', 'admin'].map((t) => `FROM scratch AS ${t}\nCOPY busybox /bin/busybox\nCMD ["/bin/busybox", "sleep", "3600"]\n`).join('\n'));
    execFileSync('docker', ['--config', fx.dockerConfig, 'login', sandbox!.registry, '--username', sandbox!.registryUser, '--password-stdin'], { input: sandbox!.registryPassword, stdio: ['pipe', 'ignore', 'ignore'] });
    try {
      for (const t of ['api', 'worker', 'admin']) {
        execFileSync('docker', ['--config', fx.dockerConfig, 'buildx', 'build', '-q', '--provenance=false', '--platform', 'linux/arm64', '--target', t, '-t', image(t, 'arm1'), '--push', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
      }
    } finally {
      execFileSync('docker', ['--config', fx.dockerConfig, 'logout', sandbox!.registry], { stdio: 'ignore' });
    }
    const spec = docker(['service', 'inspect', `${fx.stack}_api`, '--format', '{{json .Spec}}']);
    const secrets = secretNames(fx.stack);
    const started = Date.now();
    const r = await runCli(fx, ['--tag', 'arm1'], { SKIP_BUILD: '1' });
    assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms`);
    assert.equal(r.code, 2, r.output);
    assert.match(r.output, new RegExp(`${image('api', 'arm1').replace(/[.]/g, '\\.')} offers linux/arm64, but nodes need linux/amd64 \\(\\w{12} \\([^)]+\\)\\) — swarm would never place it there`));
    assert.match(lastLine(r.output), /^result: stopped before changing anything \(exit 2\): nothing on the cluster was changed: the previous release v1_\d{14} \(tag v1\) is still serving$/);
    assert.equal(docker(['service', 'inspect', `${fx.stack}_api`, '--format', '{{json .Spec}}']), spec);
    assert.deepEqual(secretNames(fx.stack), secrets);
  });

  it('a replica swarm will never place with every node up (a reservation no node has): judged within 15 s, rolled back, the previous release serving (exit 1)', async () => {
    const stackFile = path.join(fx.deployDir, 'swarm-stack.yml');
    const original = fs.readFileSync(stackFile, 'utf8');
    const greedy = original.replace('      resources:\n        limits:\n          cpus: "0.25"\n          memory: 64M\n', '      resources:\n        limits:\n          cpus: "0.25"\n          memory: 64M\n        reservations:\n          cpus: "1000"\n');
    assert.notEqual(greedy, original);
    fs.writeFileSync(stackFile, greedy, { mode: 0o600 });
    try {
      const run = startCli(fx, ['--tag', 'v1'], { SKIP_BUILD: '1' });
      await run.waitFor(/==> Wait for convergence/);
      const started = Date.now();
      await run.waitFor(/==> Wait for convergence[\s\S]*FAILED/, 60_000);
      const judged = (Date.now() - started) / 1000;
      const r = await run.done;
      assert.ok(judged < 15, `judged after ${judged}s:\n${r.output}`);
      assert.equal(r.code, 1, r.output);
      assert.match(r.output, /cannot be placed with every node up \("?no suitable node \(insufficient resources on 1 node\)"?\): 1 node\(s\) lack the 1000 CPU each task reserves free — lower deploy\.resources\.reservations or add capacity/);
      assert.match(lastLine(r.output), /^result: deploy failed \(exit 1\): rolled back: the previous release v1_\d{14} \(tag v1\) is serving again$/);
      for (const svc of ['api', 'worker', 'admin']) assert.equal(serviceImage(fx.stack, svc), image(svc, 'v1'));
      assert.doesNotMatch(docker(['service', 'inspect', `${fx.stack}_api`, '--format', '{{json .Spec.TaskTemplate.Resources}}']), /1000000000000/, 'the greedy reservation is gone');
    } finally {
      fs.writeFileSync(stackFile, original, { mode: 0o600 });
    }
  });

  it('a serving api whose container was killed three times over its life (exit 137, restarted by swarm): status exits 0', async () => {
    for (let k = 0; k < 3; k++) {
      const id = runningContainer(fx.stack, 'api');
      docker(['kill', id]);
      // swarm starts a new task; wait until one runs again
      for (let i = 0; i < 60; i++) {
        await sleep(500);
        const now = runningContainer(fx.stack, 'api');
        if (now && now !== id) break;
      }
    }
    const failed = docker(['service', 'ps', `${fx.stack}_api`, '--format', '{{.CurrentState}} {{.Error}}']).split('\n').filter((l) => /^(Failed|Shutdown|Complete)/.test(l));
    assert.ok(failed.length >= 3, `expected three ended api tasks, got:\n${failed.join('\n')}`);
    let r = await runCli(fx, ['status']);
    // the last restart may still be settling: its health check passes within seconds
    for (let i = 0; i < 10 && r.code !== 0; i++, await sleep(1000)) r = await runCli(fx, ['status']);
    assert.equal(r.code, 0, r.output);
    assert.match(lastLine(r.output), /^result: ok \(exit 0\): every service runs the known-good release v1_\d{14}$/);
  });

  it('DRY_RUN=1 rollback and unlock --force print their plan and log in nowhere (the sshd log shows no login)', async () => {
    const logins = acceptedLogins(sandbox!);
    for (const args of [['rollback'], ['unlock', '--force']]) {
      const r = await runCli(fx, args, { DRY_RUN: '1' });
      assert.equal(r.code, 0, r.output);
      assert.match(r.output, /^DRY RUN — the plan for /m);
    }
    await sleep(500);
    assert.equal(acceptedLogins(sandbox!), logins);
    assert.equal(serviceImage(fx.stack, 'api'), image('api', 'v1'));
  });

  it('a real deploy under a pseudo-terminal of zero columns: plain lines, and SIGTERM is honoured within seconds (exit 130)', async () => {
    const pidFile = path.join(fx.root, 'cli.pid');
    const env = Object.entries({ ...fx.env, TERM: 'xterm-256color' }).filter(([k]) => k !== 'CI').map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ');
    const inner = `stty cols 0 rows 0; env -i ${env} ${process.execPath} ${CLI} --context ${fx.context} --tag pty1 --deploy-dir ${fx.deployDir} & echo $! > ${pidFile}; wait $!`;
    const child = spawn('script', ['-qfec', inner, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    for (let i = 0; i < 240 && !/Wait for convergence/.test(out); i++) await sleep(500);
    assert.match(out, /==> Wait for convergence/, out.slice(0, 4000));
    const sent = Date.now();
    process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGTERM');
    const code = await done;
    assert.ok(Date.now() - sent < 60_000, 'SIGTERM was not honoured in time');
    assert.equal(code, 130, out.slice(-3000));
    assert.ok(out.length < 200_000, `the output loops: ${out.length} bytes`);
    assert.match(out, /result: interrupted \(exit 130\): /);
    for (let i = 0; i < 60 && serviceImage(fx.stack, 'api') !== image('api', 'v1'); i++) await sleep(500);
    assert.equal(serviceImage(fx.stack, 'api'), image('api', 'v1'));
  });
});
