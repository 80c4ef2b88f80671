import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { acceptedLogins, cleanup, docker, loadSandbox, makeFixture, registryCredentialsLeft, runCli, secretNames, type Fixture } from './harness.js';

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
});
