/**
 * A manager behind a bastion, the way hardened setups are reached: a second, real sshd on loopback with its
 * own host key serves as the jump host (DEPLOY_SSH_JUMP), and the manager is reached through its tunnel.
 * One TCP connection per hop; every hop's host key is checked like the manager's.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { acceptedLogins, cleanup, httpBody, loadSandbox, makeFixture, runCli, sleep, type Fixture } from './harness.js';

const { sandbox, reason } = loadSandbox();
/** HD_SANDBOX_JUMP_PORT, else a port that is free now (never one a stale process still holds). */
async function jumpPort(): Promise<number> {
  if (process.env.HD_SANDBOX_JUMP_PORT) return Number(process.env.HD_SANDBOX_JUMP_PORT);
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as import('node:net').AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
let JUMP_PORT = 0;

describe('deploying through a jump host', { skip: sandbox ? false : `e2e skipped: ${reason}` }, () => {
  let fx: Fixture;
  let dir = '';
  let pid = 0;
  let knownHosts = '';
  let jumpLine = '';
  const jumpLog = () => path.join(dir, 'sshd.log');
  const jumpLogins = () => (fs.existsSync(jumpLog()) ? fs.readFileSync(jumpLog(), 'utf8').split('\n').filter((l) => l.includes(`Accepted publickey for ${sandbox!.user}`)).length : 0);

  before(async () => {
    JUMP_PORT = await jumpPort();
    fx = makeFixture(sandbox!, { stack: 'e2ejump', apiPort: 18710 });
    dir = fs.mkdtempSync(path.join(fx.root, 'bastion-'));
    fs.chmodSync(dir, 0o755);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'host_key')]);
    const config = fs.readFileSync(sandbox!.sshdConfig, 'utf8')
      .replace(/^Port .*$/m, `Port ${JUMP_PORT}`)
      .replace(/^HostKey .*$/m, `HostKey ${path.join(dir, 'host_key')}`)
      .replace(/^PidFile .*$/m, `PidFile ${path.join(dir, 'sshd.pid')}`);
    fs.writeFileSync(path.join(dir, 'sshd_config'), `${config}AllowTcpForwarding yes\n`);
    execFileSync('/usr/sbin/sshd', ['-f', path.join(dir, 'sshd_config'), '-E', jumpLog()]);
    for (let i = 0; i < 50 && !fs.existsSync(path.join(dir, 'sshd.pid')); i++) await sleep(100);
    pid = Number(fs.readFileSync(path.join(dir, 'sshd.pid'), 'utf8'));
    // the fixture's own known_hosts: the manager's key, and (for the first test) the bastion's
    knownHosts = path.join(fx.root, 'known_hosts');
    jumpLine = `[127.0.0.1]:${JUMP_PORT} ${fs.readFileSync(path.join(dir, 'host_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ')}\n`;
    fs.writeFileSync(knownHosts, fs.readFileSync(sandbox!.knownHosts, 'utf8') + jumpLine);
    const cluster = path.join(fx.deployDir, 'cluster.env');
    fs.writeFileSync(cluster, fs.readFileSync(cluster, 'utf8').replace(/^DEPLOY_KNOWN_HOSTS=.*$/m, `DEPLOY_KNOWN_HOSTS=${knownHosts}`) + `DEPLOY_SSH_JUMP=${sandbox!.user}@127.0.0.1:${JUMP_PORT}\n`, { mode: 0o600 });
  });
  after(async () => {
    if (pid) process.kill(pid);
    if (fx) await cleanup(fx);
  });

  it('the plan names the hop; a real deploy goes through it with one connection per hop', async () => {
    const plan = await runCli(fx, ['plan', '--context', fx.context, '--tag', 'j1']);
    assert.equal(plan.code, 0, plan.output);
    assert.match(plan.output, new RegExp(`to ${sandbox!.user}@127\\.0\\.0\\.1:${sandbox!.sshPort} via ${sandbox!.user}@127\\.0\\.0\\.1:${JUMP_PORT}\\.`));
    assert.match(plan.output, new RegExp(`# jump host 1 of 1: ${sandbox!.user}@127\\.0\\.0\\.1:${JUMP_PORT}; host key checked against ${knownHosts.replace(/[.]/g, '\\.')}`));

    const managerBefore = acceptedLogins(sandbox!);
    const jumpBefore = jumpLogins();
    const r = await runCli(fx, ['--context', fx.context, '--tag', 'j1']);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output.trim().split('\n').pop()!, /^result: ok \(exit 0\): the new release j1_\d{14} \(tag j1\) is serving and healthy$/);
    assert.equal(jumpLogins() - jumpBefore, 1, 'one connection to the jump host');
    assert.equal(acceptedLogins(sandbox!) - managerBefore, 1, 'one connection to the manager, through the tunnel');
    assert.equal((await httpBody(fx.healthUrl))?.body.trim(), 'ok j1');
  });

  it('an unknown jump-host key is refused with its fingerprint, exit 2, and no login anywhere', async () => {
    fs.writeFileSync(knownHosts, fs.readFileSync(sandbox!.knownHosts, 'utf8'));
    const blob = Buffer.from(fs.readFileSync(path.join(dir, 'host_key.pub'), 'utf8').split(' ')[1]!, 'base64');
    const fp = `SHA256:${crypto.createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
    const managerBefore = acceptedLogins(sandbox!);
    const jumpBefore = jumpLogins();
    const r = await runCli(fx, ['--context', fx.context, '--tag', 'j2']);
    assert.equal(r.code, 2, r.output);
    assert.ok(r.output.includes(`[127.0.0.1]:${JUMP_PORT}: the jump host's host key is not in ${knownHosts} (ssh-ed25519 ${fp}) — refusing to connect`), r.output);
    assert.match(r.output.split('\n').filter((l) => l.startsWith('result:')).pop() ?? '', /^result: stopped before changing anything \(exit 2\)/);
    assert.equal(jumpLogins(), jumpBefore);
    assert.equal(acceptedLogins(sandbox!), managerBefore);
    fs.writeFileSync(knownHosts, fs.readFileSync(sandbox!.knownHosts, 'utf8') + jumpLine);
  });
});
