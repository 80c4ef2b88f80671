/**
 * An SSH server of a few lines (ssh2's own) that completes the handshake and authentication and then never answers
 * a channel request: neither `session` (commands, SFTP) nor `direct-tcpip` (a jump host's forward). Against the real
 * CLI on loopback, every command ends within the SSH timeout with one result line and its exit code.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { makeConfig, runCli } from '../../helpers/config.js';
import { tempDir } from '../../helpers/tmp.js';
import { testSshServer, type TestSshServer } from '../../helpers/ssh-keys.js';

let port = 0;
let key = '';
let knownHosts = '';
let server: TestSshServer['server'] | undefined;
const sockets = new Set<net.Socket>();
let ignored: string[] = [];

before(async () => {
  const own = await testSshServer(tempDir('hd-ssh-mute-'), (client) => {
    client.on('ready', () => {
      // asked for a channel: never answered
      client.on('session', () => ignored.push('session'));
      client.on('tcpip', () => ignored.push('direct-tcpip'));
    });
  });
  own.server.on('connection', () => undefined);
  ({ server, port, key, knownHosts } = own);
});
after(() => {
  for (const s of sockets) s.destroy();
  server?.close();
});

function results(out: string): string[] {
  return out.split('\n').filter((l) => l.startsWith('result:'));
}

describe('a server that authenticates and then never answers a channel', () => {
  for (const command of [['status'], ['releases'], ['unlock', '--force'], ['rollback'], ['--tag', 't1', '--skip-build']]) {
    it(`${command.join(' ')} --ssh-timeout 3: ends within the timeout, exit 2, one result line`, { timeout: 60_000 }, async () => {
      ignored = [];
      const c = makeConfig({ 'cluster.env': { DEPLOY_MANAGER_SSH_PORT: String(port), DEPLOY_SSH_KEY: key, DEPLOY_KNOWN_HOSTS: knownHosts } });
      const t = Date.now();
      const r = await runCli([...command, '--deploy-dir', 'deploy', '--ssh-timeout', '3'], { cwd: c.root });
      const took = Date.now() - t;
      const out = r.stdout + r.stderr;
      assert.equal(r.code, 2, out);
      assert.equal(results(out).length, 1, out);
      assert.match(out, /the manager deploy@127\.0\.0\.1:\d+ was asked to run a command: no answer within 3s \(DEPLOY_SSH_TIMEOUT\)/);
      assert.ok(ignored.includes('session'), 'the server was asked for a session channel');
      assert.ok(took < 15_000, `took ${took} ms`);
      fs.rmSync(c.root, { recursive: true, force: true });
    });
  }

  it('a jump host that ignores direct-tcpip: the manager is unreachable within the timeout, exit 2', { timeout: 60_000 }, async () => {
    ignored = [];
    const c = makeConfig({ 'cluster.env': { DEPLOY_MANAGER_SSH_PORT: '1', DEPLOY_SSH_JUMP: `hddeploy@127.0.0.1:${port}`, DEPLOY_SSH_KEY: key, DEPLOY_KNOWN_HOSTS: knownHosts } });
    const t = Date.now();
    const r = await runCli(['status', '--deploy-dir', 'deploy', '--ssh-timeout', '3'], { cwd: c.root });
    const out = r.stdout + r.stderr;
    assert.equal(r.code, 2, out);
    assert.equal(results(out).length, 1, out);
    assert.match(out, /cannot reach the manager at 127\.0\.0\.1:1 through the jump host hddeploy@127\.0\.0\.1:\d+: the jump host hddeploy@127\.0\.0\.1:\d+ was asked to reach 127\.0\.0\.1:1: no answer within 3s \(DEPLOY_SSH_TIMEOUT\)/);
    assert.deepEqual(ignored, ['direct-tcpip']);
    assert.ok(Date.now() - t < 15_000);
    fs.rmSync(c.root, { recursive: true, force: true });
  });
});

describe('a manager whose sshd answers but whose docker is gone', () => {
  it('status names docker\'s own words, not a bare "lost connection"', { timeout: 60_000 }, async () => {
    const dir = tempDir('hd-ssh-gone-');
    const { server: gone, port: goPort, knownHosts: kh } = await testSshServer(dir, (client) => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('exec', (acceptExec) => {
          const stream = acceptExec();
          stream.stderr.write('Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n');
          stream.exit(1);
          stream.end();
        });
      });
    });
    try {
      const c = makeConfig({ 'cluster.env': { DEPLOY_MANAGER_SSH_PORT: String(goPort), DEPLOY_SSH_KEY: key, DEPLOY_KNOWN_HOSTS: kh } });
      const r = await runCli(['status', '--deploy-dir', 'deploy', '--ssh-timeout', '5'], { cwd: c.root });
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stdout + r.stderr, /Cannot connect to the Docker daemon/);
      assert.doesNotMatch(r.stdout + r.stderr, /the SSH connection to the manager was lost/);
    } finally {
      gone.close();
    }
  });
});
