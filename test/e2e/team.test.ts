/**
 * A team of laptops sharing one swarm, on the real loopback sandbox: laptops whose clocks are off both ways, a
 * laptop with the OS credential helpers installed, a hook that leaves a child running, a manager whose sshd allows
 * two sessions per connection, a migrate command hiding a secret behind escapes, prod.env URLs with passwords —
 * and what a release record holds for anyone with docker on a manager to read.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { cleanup, currentId, docker, httpBody, loadSandbox, makeFixture, runCli, serviceImage, sleep, storeObjects, type Fixture } from './harness.js';

const { sandbox, reason } = loadSandbox();
const SHIFT = fileURLToPath(new URL('../fixtures/clock/shift.mjs', import.meta.url));
const HELPERS = process.env.HD_CREDHELPERS_DIR ?? '/opt/honeydue-credential-helpers';
const YEAR = 365 * 24 * 3600 * 1000;

/** A laptop whose clock is `ms` off. */
const clock = (ms: number): NodeJS.ProcessEnv => ({ NODE_OPTIONS: `--import ${SHIFT}`, HD_CLOCK_SHIFT_MS: String(ms) });
const lastResult = (out: string) => out.split('\n').filter((l) => l.startsWith('result:')).pop() ?? '';

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('a team of laptops sharing one swarm', { skip: sandbox ? false : `e2e skipped: ${reason}` }, () => {
  let fx: Fixture;
  const image = (tag: string) => `${sandbox!.registry}/e2e-${fx.stack}/honeydue-api:${tag}`;
  const setProd = (key: string, value: string) => {
    const file = path.join(fx.deployDir, 'prod.env');
    const text = fs.readFileSync(file, 'utf8').replace(new RegExp(`^${key}=.*\\n`, 'm'), '');
    fs.writeFileSync(file, `${text}${key}=${value}\n`, { mode: 0o600 });
  };

  before(() => {
    fx = makeFixture(sandbox!, { stack: 'e2eteam', apiPort: 18720, convergeTimeout: 60 });
    setProd('STRIPE_API_KEY', 'sk-team-stripe-key-6612');
    setProd('CACHE_URL', 'redis://:OldCachePass123@cache:6379/0');
  });
  after(async () => {
    if (fx) await cleanup(fx);
  });

  it('history follows the cluster, not the laptops\' clocks: a year ahead, 10 minutes slow, then correct — status and the rollback name the last deploy', async () => {
    const ahead = await runCli(fx, ['--context', fx.context, '--tag', 'ahead1'], clock(YEAR));
    assert.equal(ahead.code, 0, ahead.output);
    const slow = await runCli(fx, ['--context', fx.context, '--tag', 'slow2'], clock(-10 * 60_000));
    assert.equal(slow.code, 0, slow.output);
    let status = await runCli(fx, ['status']);
    assert.equal(status.code, 0, status.output);
    assert.match(status.output, /^known-good release: slow2_\d{14} \(tag slow2/m);
    const right = await runCli(fx, ['--context', fx.context, '--tag', 'right3']);
    assert.equal(right.code, 0, right.output);
    status = await runCli(fx, ['status'], clock(10 * 60_000));
    assert.equal(status.code, 0, status.output);
    assert.match(status.output, /^known-good release: right3_\d{14} \(tag right3/m);
    assert.match(currentId(fx.stack)!, /^right3_/);
    // a failed release from a fast laptop goes back to the last known-good deploy, never to the one from the future
    const sick = await runCli(fx, ['--context', fx.context, '--tag', 'sick4', '--build-arg', 'HEALTH=fail'], clock(10 * 60_000));
    assert.equal(sick.code, 1, sick.output);
    assert.match(lastResult(sick.output), /^result: deploy failed \(exit 1\): rolled back: the previous release right3_\d{14} \(tag right3\) is serving again$/);
    assert.equal(serviceImage(fx.stack, 'api'), image('right3'));
    const releases = await runCli(fx, ['releases', '--json']);
    assert.equal(releases.code, 0, releases.output);
    assert.deepEqual((JSON.parse(releases.stdout) as Array<{ tag: string }>).map((r) => r.tag), ['sick4', 'right3', 'slow2', 'ahead1']);
    // `rollback` walks back in the order the deploys happened: right3 -> slow2 (not ahead1, whose id is the newest),
    // from a slow laptop; then a deploy from a correct one is current again
    const back = await runCli(fx, ['rollback'], clock(-YEAR));
    assert.equal(back.code, 0, back.output);
    assert.match(back.output, /from right3_\d{14} \(tag right3\) to slow2_\d{14} \(tag slow2\)/);
    assert.match(currentId(fx.stack)!, /^slow2_/);
    assert.equal(serviceImage(fx.stack, 'api'), image('slow2'));
    const again = await runCli(fx, ['--context', fx.context, '--skip-build', '--tag', 'right3']);
    assert.equal(again.code, 0, again.output);
    assert.match(currentId(fx.stack)!, /^right3_/);
  });

  it('a release record holds no secret value and no plain hash of one; prod.env\'s secret-looking values are withheld', () => {
    const records = storeObjects(fx.stack, 'release');
    assert.ok(records.length >= 3);
    const values = [...Object.values(fx.secrets), Buffer.from('sk-team-stripe-key-6612'), Buffer.from('OldCachePass123')];
    for (const r of records) {
      for (const v of values) {
        for (const form of [v.toString('utf8'), v.toString('utf8').trim(), crypto.createHash('sha256').update(v).digest('hex')]) {
          if (form.length >= 6) assert.ok(!r.data.includes(form), `${r.name} holds ${form.slice(0, 10)}…`);
        }
      }
      const rec = JSON.parse(r.data) as { withheld?: string[]; envFile: string; secretDigests?: { scheme: string } };
      assert.deepEqual(rec.withheld, ['CACHE_URL', 'STRIPE_API_KEY']);
      assert.match(rec.envFile, /^STRIPE_API_KEY=$/m);
      assert.equal(rec.secretDigests?.scheme, 'scrypt:N=16384,r=8,p=1,len=32');
    }
    // the services still got the values (from prod.env, never from the record)
    const env = docker(['service', 'inspect', `${fx.stack}_api`, '--format', '{{json .Spec.TaskTemplate.ContainerSpec.Env}}']);
    assert.match(env, /STRIPE_API_KEY=sk-team-stripe-key-6612/);
  });

  it('hand-edited or corrupt records are named and left out: status and releases keep their exit codes, nothing is deleted for them', async () => {
    const labels = (kind: string, id?: string) => ['--label', `com.honeydue.deploy.stack=${fx.stack}`, '--label', `com.honeydue.deploy.kind=${kind}`, ...(id ? ['--label', `com.honeydue.deploy.id=${id}`] : [])];
    const current = currentId(fx.stack)!;
    const planted = [`${fx.stack}_hd-mark_by-hand`, `${fx.stack}_hd-release_null_20261201000000`];
    docker(['config', 'create', ...labels('mark', current), planted[0]!, '-'], { input: JSON.stringify({ deployId: current, event: 'deploy' }) });
    docker(['config', 'create', ...labels('release', 'null_20261201000000'), planted[1]!, '-'], { input: 'null' });
    try {
      const status = await runCli(fx, ['status']);
      assert.equal(status.code, 0, status.output);
      assert.match(status.output, new RegExp(`^known-good release: ${current} `, 'm'));
      const releases = await runCli(fx, ['releases']);
      assert.equal(releases.code, 0, releases.output);
      assert.match(releases.output, new RegExp(`warning: the release config ${planted[1]} of ${fx.stack} holds null, not a release record — it is left out \\(that release cannot be rolled back to\\); look at it with \`docker config inspect ${planted[1]}\`, or remove it with \`docker config rm ${planted[1]}\``));
      assert.doesNotMatch(status.output + releases.output, /unexpected error|NEEDS ATTENTION/);
    } finally {
      docker(['config', 'rm', ...planted], { allowFail: true });
    }
  });

  it('diff never shows a password inside a prod.env URL (text and --json), and tells the change', async () => {
    setProd('CACHE_URL', 'redis://:NewCachePass456@cache:6379/0');
    for (const args of [['diff'], ['diff', '--json']]) {
      const r = await runCli(fx, args);
      assert.equal(r.code, 0, r.output);
      for (const secret of ['OldCachePass123', 'NewCachePass456']) assert.ok(!r.output.includes(secret), `${args.join(' ')} shows ${secret}`);
      assert.match(r.output, /CACHE_URL/);
    }
    setProd('CACHE_URL', 'redis://:OldCachePass123@cache:6379/0');
  });

  it('with the OS credential helpers installed (laptop and manager), the run\'s login stays in its own file: deploy ok, nothing else touched', async () => {
    assert.ok(fs.existsSync(path.join(HELPERS, 'docker-credential-secretservice')), `${HELPERS} is missing — run scripts/install-credential-helpers.sh`);
    const installed = ['docker-credential-secretservice', 'docker-credential-pass'].map((h) => path.join('/usr/local/bin', h));
    for (const h of installed) fs.copyFileSync(path.join(HELPERS, path.basename(h)), h);
    try {
      fs.chmodSync(installed[0]!, 0o755);
      fs.chmodSync(installed[1]!, 0o755);
      // the world as it is: a login into a config that names no store goes to the helper, and fails here
      const empty = fs.mkdtempSync(path.join(fx.root, 'plain-docker-'));
      const plain = spawnSync('docker', ['--config', empty, 'login', sandbox!.registry, '-u', sandbox!.registryUser, '--password-stdin'], { input: sandbox!.registryPassword, encoding: 'utf8' });
      assert.notEqual(plain.status, 0, 'docker itself would use the helper');
      assert.match(plain.stderr, /credentials|D-Bus/);
      const before = fs.readdirSync(fx.dockerConfig).sort();
      const r = await runCli(fx, ['--context', fx.context, '--tag', 'keychain5']);
      assert.equal(r.code, 0, r.output);
      assert.deepEqual(fs.readdirSync(fx.dockerConfig).sort(), before, 'the operator\'s docker config is untouched');
      assert.equal(fs.existsSync(path.join(fx.dockerConfig, 'config.json')), before.includes('config.json'));
    } finally {
      for (const h of installed) fs.rmSync(h, { force: true });
    }
  });

  it('a pre-deploy hook that exits 0 leaving `setsid sleep 25 &` behind: judged at once, the deploy goes on', async () => {
    fs.mkdirSync(path.join(fx.deployDir, 'hooks'), { recursive: true });
    const hook = path.join(fx.deployDir, 'hooks', 'pre-deploy');
    fs.writeFileSync(hook, '#!/bin/sh\necho "announcing $HONEYDUE_TAG"\nsetsid sleep 25 &\nexit 0\n', { mode: 0o755 });
    const cluster = path.join(fx.deployDir, 'cluster.env');
    const clusterBefore = fs.readFileSync(cluster, 'utf8');
    fs.writeFileSync(cluster, `${clusterBefore}DEPLOY_HOOK_TIMEOUT=3\n`, { mode: 0o600 });
    try {
      const t = Date.now();
      const r = await runCli(fx, ['--context', fx.context, '--skip-build', '--tag', 'right3']);
      assert.equal(r.code, 0, r.output);
      assert.match(r.output, /pre-deploy: announcing right3/);
      assert.doesNotMatch(r.output, /did not finish within/);
      assert.ok(Date.now() - t < 25_000, `the run waited for the hook's child (${Date.now() - t} ms)`);
    } finally {
      fs.writeFileSync(cluster, clusterBefore, { mode: 0o600 });
      fs.rmSync(path.join(fx.deployDir, 'hooks'), { recursive: true, force: true });
    }
  });

  it('a manager whose sshd allows 2 sessions per connection (MaxSessions 2): a whole deploy goes through, waiting for free channels', async () => {
    const dir = fs.mkdtempSync(path.join(fx.root, 'sshd2-'));
    fs.chmodSync(dir, 0o755);
    const port = await freePort();
    const config = fs.readFileSync(sandbox!.sshdConfig, 'utf8').replace(/^Port .*$/m, `Port ${port}`).replace(/^PidFile .*$/m, `PidFile ${path.join(dir, 'sshd.pid')}`);
    fs.writeFileSync(path.join(dir, 'sshd_config'), `${config}MaxSessions 2\n`);
    execFileSync('/usr/sbin/sshd', ['-f', path.join(dir, 'sshd_config'), '-E', path.join(dir, 'sshd.log')]);
    for (let i = 0; i < 50 && !fs.existsSync(path.join(dir, 'sshd.pid')); i++) await sleep(100);
    const pid = Number(fs.readFileSync(path.join(dir, 'sshd.pid'), 'utf8'));
    const knownHosts = path.join(dir, 'known_hosts');
    const hostKey = fs.readFileSync(sandbox!.knownHosts, 'utf8').split('\n').find((l) => l.startsWith(`[127.0.0.1]:${sandbox!.sshPort} `))!.split(' ').slice(1).join(' ');
    fs.writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostKey}\n`);
    const cluster = path.join(fx.deployDir, 'cluster.env');
    const clusterBefore = fs.readFileSync(cluster, 'utf8');
    fs.writeFileSync(cluster, clusterBefore.replace(/^DEPLOY_MANAGER_SSH_PORT=.*$/m, `DEPLOY_MANAGER_SSH_PORT=${port}`).replace(/^DEPLOY_KNOWN_HOSTS=.*$/m, `DEPLOY_KNOWN_HOSTS=${knownHosts}`), { mode: 0o600 });
    try {
      const r = await runCli(fx, ['--context', fx.context, '--tag', 'narrow7']);
      assert.equal(r.code, 0, r.output);
      assert.match(lastResult(r.output), /^result: ok \(exit 0\): the new release narrow7_\d{14} \(tag narrow7\) is serving and healthy$/);
      assert.equal((await httpBody(fx.healthUrl))?.body.trim(), 'ok narrow7');
    } finally {
      process.kill(pid);
      fs.writeFileSync(cluster, clusterBefore, { mode: 0o600 });
    }
  });

  it('a migrate command whose words hold a secret behind shell escapes is refused (exit 2), nothing on the cluster touched', async () => {
    const file = path.join(fx.deployDir, 'secrets', 'postgres_password.txt');
    const original = fs.readFileSync(file);
    fs.writeFileSync(file, 'Pa$$w0rd-2024!x\n', { mode: 0o600 });
    const cluster = path.join(fx.deployDir, 'cluster.env');
    const clusterBefore = fs.readFileSync(cluster, 'utf8');
    fs.writeFileSync(cluster, `${clusterBefore}DEPLOY_MIGRATE_COMMAND=/app/api migrate --db-password "Pa\\$\\$w0rd-2024!x"\n`, { mode: 0o600 });
    try {
      const imageBefore = serviceImage(fx.stack, 'api');
      const configsBefore = storeObjects(fx.stack).length;
      const r = await runCli(fx, ['--context', fx.context, '--tag', 'leak8']);
      assert.equal(r.code, 2, r.output);
      assert.match(r.output, /cluster\.env: DEPLOY_MIGRATE_COMMAND: holds the value of secrets\/postgres_password\.txt/);
      assert.ok(!r.output.includes('Pa$$w0rd-2024!x'));
      assert.equal(serviceImage(fx.stack, 'api'), imageBefore);
      assert.equal(storeObjects(fx.stack).length, configsBefore);
    } finally {
      fs.writeFileSync(file, original, { mode: 0o600 });
      fs.writeFileSync(cluster, clusterBefore, { mode: 0o600 });
    }
  });
});
