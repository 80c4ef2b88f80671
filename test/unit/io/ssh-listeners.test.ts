/**
 * Listeners that are not well-behaved SSH servers, on loopback, against the real CLI: every command ends in exactly
 * one result line and its exit code, in bounded time, and never crashes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { makeConfig as baseConfig, runCli } from '../../helpers/config.js';
import { tempDir } from '../../helpers/tmp.js';

const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();

async function listen(onConnection: (s: net.Socket) => void): Promise<number> {
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
    onConnection(s);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

let key = '';
/** A valid deploy dir whose manager is one of the listeners, with a key to offer (the handshake never gets that far). */
function makeConfig(port: number) {
  return baseConfig({ 'cluster.env': { DEPLOY_MANAGER_SSH_PORT: String(port), DEPLOY_SSH_KEY: key } });
}

let bannerThenClose = 0;
let silent = 0;
let closesAtOnce = 0;

before(async () => {
  key = path.join(tempDir('hd-ssh-key-'), 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  // sends a banner, reads what the client says, then hangs up: ssh2 then emits only `close`
  bannerThenClose = await listen((s) => {
    s.write('SSH-2.0-probe\r\n');
    s.once('data', () => s.end());
  });
  // accepts and never speaks
  silent = await listen(() => undefined);
  closesAtOnce = await listen((s) => s.destroy());
});
after(() => {
  for (const s of sockets) s.destroy();
  for (const s of servers) s.close();
});

function results(out: string): string[] {
  return out.split('\n').filter((l) => l.startsWith('result:'));
}

describe('SSH listeners that misbehave: one result line, the documented exit code, bounded time', () => {
  for (const command of [['status'], ['releases'], ['rollback'], ['unlock', '--force'], ['--tag', 't1', '--skip-build']]) {
    it(`${command.join(' ')}: a server that sends a banner, reads, and closes`, async () => {
      const c = makeConfig(bannerThenClose);
      const t = Date.now();
      const r = await runCli([...command, '--deploy-dir', 'deploy'], { cwd: c.root, env: { DEPLOY_SSH_TIMEOUT: '5' } });
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.equal(results(r.stdout + r.stderr).length, 1, r.stdout + r.stderr);
      assert.match(r.stdout + r.stderr, /cannot reach the manager at 127\.0\.0\.1:\d+: the connection was closed before the SSH handshake finished/);
      assert.ok(Date.now() - t < 15_000);
      fs.rmSync(c.root, { recursive: true, force: true });
    });
  }

  for (const command of [['status'], ['rollback'], ['--tag', 't1', '--skip-build']]) {
    it(`${command.join(' ')}: a port that accepts and never speaks, with DEPLOY_SSH_TIMEOUT=2`, async () => {
      const c = makeConfig(silent);
      const t = Date.now();
      const r = await runCli([...command, '--deploy-dir', 'deploy'], { cwd: c.root, env: { DEPLOY_SSH_TIMEOUT: '2' } });
      const took = Date.now() - t;
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.equal(results(r.stdout + r.stderr).length, 1, r.stdout + r.stderr);
      assert.doesNotMatch(r.stdout + r.stderr, /Unhandled|at .*node_modules/);
      assert.match(r.stdout + r.stderr, /cannot reach the manager at 127\.0\.0\.1:\d+: Timed out while waiting for handshake/);
      assert.ok(took >= 2_000 && took < 12_000, `took ${took} ms`);
      fs.rmSync(c.root, { recursive: true, force: true });
    });
  }

  it('the timeout is a setting with its flag: --ssh-timeout wins over DEPLOY_SSH_TIMEOUT; a bad value is exit 2 naming it', async () => {
    const c = makeConfig(silent);
    const t = Date.now();
    const r = await runCli(['status', '--ssh-timeout', '1', '--deploy-dir', 'deploy'], { cwd: c.root, env: { DEPLOY_SSH_TIMEOUT: '60' } });
    assert.equal(r.code, 2);
    assert.ok(Date.now() - t < 10_000);
    const bad = await runCli(['status', '--deploy-dir', 'deploy'], { cwd: c.root, env: { DEPLOY_SSH_TIMEOUT: 'soon' } });
    assert.equal(bad.code, 2);
    assert.ok(bad.stderr.includes('environment: DEPLOY_SSH_TIMEOUT: "soon" is not a number of seconds — use a whole number, 1 or more'), bad.stderr);
    fs.rmSync(c.root, { recursive: true, force: true });
  });

  it('a port that closes at once: exit 2 with the reason', async () => {
    const c = makeConfig(closesAtOnce);
    const r = await runCli(['status', '--deploy-dir', 'deploy'], { cwd: c.root, env: { DEPLOY_SSH_TIMEOUT: '5' } });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.equal(results(r.stdout + r.stderr).length, 1);
    fs.rmSync(c.root, { recursive: true, force: true });
  });
});
