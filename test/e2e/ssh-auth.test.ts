/**
 * Logging in like `ssh` does, against the real sshd: a ~/.ssh/config alias (HostName, Port, IdentityFile),
 * a passphrase-protected key served by ssh-agent, and the clear error for such a key without an agent.
 * `releases` connects and reads without changing anything.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanup, loadSandbox, makeFixture, runCli, type Fixture } from './harness.js';

const { sandbox, reason } = loadSandbox();

describe('SSH login like ssh does', { skip: sandbox ? false : `e2e skipped: ${reason}` }, () => {
  let fx: Fixture;
  let authorizedKeys = '';
  let agentPid = 0;
  let agentSock = '';
  const lockedKey = () => path.join(fx.root, 'locked_ed25519');

  function setCluster(edit: (text: string) => string): void {
    const file = path.join(fx.deployDir, 'cluster.env');
    fs.writeFileSync(file, edit(fs.readFileSync(file, 'utf8')), { mode: 0o600 });
  }

  before(() => {
    fx = makeFixture(sandbox!, { stack: 'e2essh', apiPort: 18708 });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'correct horse', '-C', 'e2essh-locked', '-f', lockedKey()]);
    authorizedKeys = path.join(sandbox!.userHome, '.ssh', 'authorized_keys');
    fs.appendFileSync(authorizedKeys, fs.readFileSync(`${lockedKey()}.pub`));
    const askpass = path.join(fx.root, 'askpass.sh');
    fs.writeFileSync(askpass, '#!/bin/sh\necho "correct horse"\n', { mode: 0o700 });
    agentSock = path.join(fx.root, 'agent.sock');
    const out = execFileSync('ssh-agent', ['-a', agentSock], { encoding: 'utf8' });
    agentPid = Number(/SSH_AGENT_PID=(\d+)/.exec(out)![1]);
    const add = spawnSync('ssh-add', [lockedKey()], { env: { ...process.env, SSH_AUTH_SOCK: agentSock, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.equal(add.status, 0, add.stderr);
  });
  after(async () => {
    if (agentPid) process.kill(agentPid);
    if (authorizedKeys) {
      const keep = fs.readFileSync(authorizedKeys, 'utf8').split('\n').filter((l) => !l.includes('e2essh-locked')).join('\n');
      fs.writeFileSync(authorizedKeys, keep);
    }
    if (fx) await cleanup(fx);
  });

  it('a ~/.ssh/config alias supplies HostName, Port, User and IdentityFile', async () => {
    fs.mkdirSync(path.join(fx.home, '.ssh'), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(fx.home, '.ssh', 'config'), `Host hd-manager\n  HostName 127.0.0.1\n  Port ${sandbox!.sshPort}\n  User ${sandbox!.user}\n  IdentityFile ${sandbox!.key}\n`);
    const original = fs.readFileSync(path.join(fx.deployDir, 'cluster.env'), 'utf8');
    setCluster((t) => t.replace(/^DEPLOY_MANAGER_HOST=.*$/m, 'DEPLOY_MANAGER_HOST=hd-manager').replace(/^DEPLOY_MANAGER_(SSH_PORT|USER)=.*\n/gm, '').replace(/^DEPLOY_SSH_KEY=.*\n/m, ''));
    const r = await runCli(fx, ['releases']);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /^releases of e2essh, kept in the swarm, through \S+@127\.0\.0\.1:\d+ \(hd-manager\) /m);
    const plan = await runCli(fx, ['plan', '--context', fx.context, '--tag', 'p1']);
    assert.match(plan.output, new RegExp(`to ${sandbox!.user}@127\\.0\\.0\\.1:${sandbox!.sshPort} \\(alias hd-manager\\)`));
    fs.rmSync(path.join(fx.home, '.ssh', 'config'));
    fs.writeFileSync(path.join(fx.deployDir, 'cluster.env'), original, { mode: 0o600 });
  });

  it('as a 1Password/Secretive user has it: the key only in an agent named by IdentityAgent, the host key only in a UserKnownHostsFile under a HostKeyAlias — resolved by ssh -G', async () => {
    const original = fs.readFileSync(path.join(fx.deployDir, 'cluster.env'), 'utf8');
    // the agent's socket is nowhere in the environment: only the ssh config names it
    const vault = path.join(fx.root, 'vault');
    fs.mkdirSync(vault, { mode: 0o700 });
    const sock = path.join(vault, 'agent.sock');
    const out = execFileSync('ssh-agent', ['-a', sock], { encoding: 'utf8' });
    const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(out)![1]);
    try {
      // the private key lives in the agent only; the disk holds its .pub (what IdentityFile names, as 1Password advises)
      const key = path.join(vault, 'op_key');
      fs.copyFileSync(sandbox!.key, key);
      fs.chmodSync(key, 0o600);
      execFileSync('ssh-add', ['-q', key], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
      fs.writeFileSync(`${key}.pub`, execFileSync('ssh-keygen', ['-y', '-f', key]));
      fs.rmSync(key);
      // the manager's host key under an alias, in a file only the config names
      const team = path.join(vault, 'team_known_hosts');
      const line = fs.readFileSync(sandbox!.knownHosts, 'utf8').split('\n').find((l) => l.startsWith(`[127.0.0.1]:${sandbox!.sshPort} `))!;
      fs.writeFileSync(team, `hd-prod-manager ${line.split(' ').slice(1).join(' ')}\n`);
      const sshConfig = path.join(vault, 'ssh_config');
      fs.writeFileSync(
        sshConfig,
        `Host hd-op\n  HostName 127.0.0.1\n  Port ${sandbox!.sshPort}\n  User ${sandbox!.user}\n  IdentityAgent ${sock}\n  IdentityFile ${key}.pub\n  IdentitiesOnly yes\n  UserKnownHostsFile ${team}\n  HostKeyAlias hd-prod-manager\n  ServerAliveInterval 7\n`,
      );
      setCluster((t) =>
        t
          .replace(/^DEPLOY_MANAGER_HOST=.*$/m, `DEPLOY_MANAGER_HOST=hd-op\nDEPLOY_SSH_CONFIG=${sshConfig}`)
          .replace(/^DEPLOY_MANAGER_(SSH_PORT|USER)=.*\n/gm, '')
          .replace(/^DEPLOY_(SSH_KEY|KNOWN_HOSTS)=.*\n/gm, ''),
      );
      const plan = await runCli(fx, ['plan', '--context', fx.context, '--tag', 'op1']);
      assert.equal(plan.code, 0, plan.output);
      assert.ok(plan.output.includes(`SSH settings: as \`ssh -G -F ${sshConfig}\` resolves them`), plan.output);
      assert.ok(
        plan.output.includes(
          `one SSH connection ${sandbox!.user}@127.0.0.1:${sandbox!.sshPort} (alias hd-op) for the whole run; host key checked against ${team} (hd-prod-manager) — HostName from ${sshConfig}:2; user from ${sshConfig}:4; port from ${sshConfig}:3; keys from ${sshConfig}:6; IdentitiesOnly; agent ${sock} (IdentityAgent, ${sshConfig}:5); known_hosts from ${sshConfig}:8; HostKeyAlias hd-prod-manager from ${sshConfig}:9; ServerAliveInterval 7s × 3`,
        ),
        plan.output,
      );
      assert.doesNotMatch(plan.output, /no key to log in with|no host key for it/);
      const r = await runCli(fx, ['releases']);
      assert.equal(r.code, 0, r.output);
      assert.match(r.output, /^releases of e2essh, kept in the swarm, through \S+@127\.0\.0\.1:\d+ \(hd-op\) /m);
      // an agent that holds no key: the plan says so before a real run needs it, and the run stops with exit 2
      execFileSync('ssh-add', ['-D'], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
      const empty = await runCli(fx, ['plan', '--context', fx.context, '--tag', 'op1']);
      assert.ok(empty.output.includes(`no key to log in with: DEPLOY_SSH_KEY is not set, the agent at ${sock} holds no keys (IdentityAgent, ${sshConfig}:5)`), empty.output);
      const refused = await runCli(fx, ['releases']);
      assert.equal(refused.code, 2, refused.output);
    } finally {
      process.kill(pid);
      fs.writeFileSync(path.join(fx.deployDir, 'cluster.env'), original, { mode: 0o600 });
    }
  });

  it('a passphrase-protected key in ssh-agent is used when no key is configured', async () => {
    // no alias, no key file: only the agent holds a key the manager accepts
    setCluster((t) => t.replace(/^DEPLOY_SSH_KEY=.*\n/m, ''));
    const ok = await runCli(fx, ['releases'], { SSH_AUTH_SOCK: agentSock });
    assert.equal(ok.code, 0, ok.output);
    assert.match(ok.output, /result: ok \(exit 0\): 0 release\(s\) recorded; none is current$/m);
  });

  it('a passphrase-protected key without an agent is a clear error, exit 2', async () => {
    setCluster((t) => `${t}DEPLOY_SSH_KEY=${lockedKey()}\n`);
    const r = await runCli(fx, ['releases']);
    assert.equal(r.code, 2, r.output);
    assert.ok(r.output.includes(`${lockedKey()} is passphrase-protected and no ssh-agent is running (SSH_AUTH_SOCK is unset) — start one and run \`ssh-add ${lockedKey()}\`, then try again`), r.output);
  });
});
