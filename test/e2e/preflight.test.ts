import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lockOwner, acceptedLogins, cleanup, docker, loadSandbox, makeFixture, registryCredentialsLeft, runCli, secretNames, type Fixture } from './harness.js';

const { sandbox, reason } = loadSandbox();

function connectionsSeen(logFile: string): number {
  return fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('Connection from')).length;
}

/** Runs `fn` with cluster.env pointing DEPLOY_KNOWN_HOSTS at a file holding `content`, then restores it. */
async function withKnownHosts(fx: Fixture, content: string, fn: () => Promise<void>): Promise<void> {
  const file = path.join(fx.root, 'test_known_hosts');
  fs.writeFileSync(file, content);
  const cluster = path.join(fx.deployDir, 'cluster.env');
  const original = fs.readFileSync(cluster, 'utf8');
  fs.writeFileSync(cluster, original.replace(/^DEPLOY_KNOWN_HOSTS=.*$/m, `DEPLOY_KNOWN_HOSTS=${file}`), { mode: 0o600 });
  try {
    await fn();
  } finally {
    fs.writeFileSync(cluster, original, { mode: 0o600 });
  }
}

describe('preflight: the cluster is not touched', { skip: sandbox ? false : `e2e skipped: ${reason}` }, () => {
  let fx: Fixture;
  before(() => {
    fx = makeFixture(sandbox!, { stack: 'e2epreflight', apiPort: 18703 });
  });
  after(async () => {
    if (fx) await cleanup(fx);
  });

  it('a remote dir that is a symlink, or writable by others, is refused: exit 2, no lock, nothing deployed', async () => {
    const uid = Number(execFileSync('id', ['-u', sandbox!.user], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', sandbox!.user], { encoding: 'utf8' }));
    const target = `${fx.remoteDirAbs}-real`;
    if (!fs.existsSync(path.dirname(fx.remoteDirAbs))) {
      fs.mkdirSync(path.dirname(fx.remoteDirAbs), { recursive: true });
      fs.chownSync(path.dirname(fx.remoteDirAbs), uid, gid);
    }
    fs.mkdirSync(target, { recursive: true, mode: 0o700 });
    fs.symlinkSync(target, fx.remoteDirAbs);
    try {
      const r = await runCli(fx, ['--tag', 'sym1'], { SKIP_BUILD: '1' });
      assert.equal(r.code, 2, r.output);
      assert.ok(r.output.includes(`cluster.env: DEPLOY_REMOTE_DIR: ${fx.remoteDir} on the manager is a symbolic link — it holds the release folders`), r.output);
      assert.equal(lockOwner(fx.stack), undefined);
    } finally {
      fs.rmSync(fx.remoteDirAbs);
      fs.rmSync(target, { recursive: true, force: true });
    }
    fs.mkdirSync(fx.remoteDirAbs, { recursive: true });
    fs.chownSync(fx.remoteDirAbs, uid, gid);
    fs.chmodSync(fx.remoteDirAbs, 0o777);
    const open = await runCli(fx, ['--tag', 'sym2'], { SKIP_BUILD: '1' });
    assert.equal(open.code, 2, open.output);
    assert.ok(open.output.includes(`${fx.remoteDir} on the manager is writable by group or others (mode 777)`), open.output);
    fs.rmSync(fx.remoteDirAbs, { recursive: true, force: true });
    assert.equal(docker(['service', 'ls', '--filter', `label=com.docker.stack.namespace=${fx.stack}`, '-q']).trim(), '');
  });

  it('DRY_RUN against the sandbox config: exit 0, no SSH connection, nothing created', async () => {
    const conns = connectionsSeen(sandbox!.sshdLog);
    const secrets = docker(['secret', 'ls', '-q']);
    const services = docker(['service', 'ls', '-q']);
    const r = await runCli(fx, ['--context', fx.context, '--tag', 'dry1'], { DRY_RUN: '1' });
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /DRY RUN/);
    assert.equal(connectionsSeen(sandbox!.sshdLog), conns, 'a dry run must not connect');
    assert.equal(docker(['secret', 'ls', '-q']), secrets);
    assert.equal(docker(['service', 'ls', '-q']), services);
    assert.equal(fs.existsSync(path.join(fx.dockerConfig, 'config.json')), false, 'a dry run must not log in');
    for (const data of Object.values(fx.secrets)) assert.ok(!r.output.includes(data.toString('utf8').split('\n')[0]!.trim()));
  });

  it('an unknown host key is refused with its fingerprint and how to trust it; exit 2; no login', async () => {
    const logins = acceptedLogins(sandbox!);
    await withKnownHosts(fx, '', async () => {
      const r = await runCli(fx, ['--context', fx.context, '--tag', 'hk1']);
      assert.equal(r.code, 2, r.output);
      const pub = fs.readFileSync(`${sandbox!.hostKey}.pub`, 'utf8').split(' ')[1]!;
      const fp = `SHA256:${crypto.createHash('sha256').update(Buffer.from(pub, 'base64')).digest('base64').replace(/=+$/, '')}`;
      assert.ok(r.output.includes(fp), `the fingerprint ${fp} must be shown:\n${r.output}`);
      assert.match(r.output, /is not in .*test_known_hosts .* refusing to connect.*ssh-keyscan -p \d+ 127\.0\.0\.1 >> /s);
      assert.equal(acceptedLogins(sandbox!), logins);
      assert.deepEqual(secretNames(fx.stack), []);
    });
  });

  it('a changed host key is refused loudly; exit 2; nothing touched', async () => {
    const otherKey = crypto.generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
    const blob = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), otherKey]);
    const logins = acceptedLogins(sandbox!);
    await withKnownHosts(fx, `[127.0.0.1]:${sandbox!.sshPort} ssh-ed25519 ${blob.toString('base64')}\n`, async () => {
      const r = await runCli(fx, ['--context', fx.context, '--tag', 'hk2']);
      assert.equal(r.code, 2, r.output);
      assert.match(r.output, /host key has CHANGED/);
      assert.match(r.output, /ssh-keygen -R '\[127\.0\.0\.1\]:\d+'/);
      assert.equal(acceptedLogins(sandbox!), logins);
      assert.deepEqual(secretNames(fx.stack), []);
      assert.deepEqual(registryCredentialsLeft(fx), { laptop: false, manager: false });
    });
  });
  it('a host-mode port that a service of another stack holds: exit 2 naming that service, before anything is touched', async () => {
    // another stack's service, really holding the api's host port on the node
    const holder = 'e2eportholder_web';
    const img = `${sandbox!.registry}/e2e-portholder/holder:1`;
    const dir = fs.mkdtempSync(path.join(fx.root, 'holder-'));
    fs.copyFileSync('/bin/busybox', path.join(dir, 'busybox'));
    fs.writeFileSync(path.join(dir, 'Dockerfile'), 'FROM scratch\nCOPY busybox /bin/busybox\nCMD ["/bin/busybox", "sleep", "3600"]\n');
    docker(['build', '-q', '-t', img, dir]);
    docker(['service', 'create', '--detach', '--no-resolve-image', '--name', holder, '--label', 'com.docker.stack.namespace=e2eportholder', '--publish', `mode=host,published=${fx.apiPort},target=8000`, img]);
    try {
      for (let i = 0; i < 60 && !/Running/.test(docker(['service', 'ps', holder, '--format', '{{.CurrentState}}'])); i++) await new Promise((r) => setTimeout(r, 500));
      const r = await runCli(fx, ['--context', fx.context, '--tag', 'port1']);
      assert.equal(r.code, 2, r.output);
      assert.ok(r.output.includes(`ports: api: publishes ${fx.apiPort}/tcp in host mode, which the service ${holder} (stack e2eportholder) already holds on the nodes`), r.output);
      assert.equal(docker(['service', 'ls', '--filter', `label=com.docker.stack.namespace=${fx.stack}`, '-q']).trim(), '');
      assert.deepEqual(secretNames(fx.stack), []);
      assert.equal(lockOwner(fx.stack), undefined);
    } finally {
      docker(['service', 'rm', holder], { allowFail: true });
    }
  });
});
