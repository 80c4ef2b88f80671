import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseSshConfig } from '../../../src/io/ssh-config.js';
import { parseHop, resolveTarget, planAuth } from '../../../src/io/ssh.js';
import { tempDir } from '../../helpers/tmp.js';

const CONFIG = `
Host prod-manager
  HostName 10.0.0.5
  Port 2222
  User deploy
  IdentityFile ~/.ssh/honeydue_ed25519

Host *.internal !bastion.internal
  User ops
  IdentityFile ~/.ssh/internal

Host *
  User fallback
  Port 2200
`;

describe('~/.ssh/config', () => {
  it('an alias resolves HostName, Port, User and IdentityFile; first value wins; IdentityFile accumulates', () => {
    const c = parseSshConfig(CONFIG, 'prod-manager');
    assert.equal(c.hostName, '10.0.0.5');
    assert.equal(c.port, 2222);
    assert.equal(c.user, 'deploy');
    assert.deepEqual(c.identityFiles, [path.join(os.homedir(), '.ssh/honeydue_ed25519')]);
  });
  it('wildcards and negation', () => {
    assert.equal(parseSshConfig(CONFIG, 'db.internal').user, 'ops');
    assert.equal(parseSshConfig(CONFIG, 'bastion.internal').user, 'fallback');
  });
  it('resolveTarget: the config applies to an alias; cluster.env wins where set', () => {
    const home = tempDir('hd-home-');
    fs.mkdirSync(path.join(home, '.ssh'));
    fs.writeFileSync(path.join(home, '.ssh', 'config'), CONFIG);
    const oldHome = process.env.HOME;
    process.env.HOME = home;
    try {
      const t = resolveTarget({ host: 'prod-manager', user: 'deploy2' }, {});
      assert.equal(t.host, '10.0.0.5');
      assert.equal(t.port, 2222);
      assert.equal(t.username, 'deploy2');
      assert.equal(t.knownHostsPath, path.join(home, '.ssh', 'known_hosts'));
      assert.equal(resolveTarget({ host: 'prod-manager', user: 'd', port: 22 }, {}).port, 22);
      assert.equal(resolveTarget({ host: 'x', user: 'd', knownHosts: '~/kh' }, {}).knownHostsPath, path.join(home, 'kh'));
    } finally {
      process.env.HOME = oldHome;
    }
  });
});

describe('authentication order', () => {
  it('the configured key, then the agent, then the IdentityFile keys; passphrase-protected keys are reported', async () => {
    const { utils } = ((await import('ssh2')) as any).default;
    const dir = tempDir('hd-keys-');
    const { execFileSync } = await import('node:child_process');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'plain')]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'pass phrase', '-f', path.join(dir, 'locked')]);
    const plan = planAuth(
      { alias: 'h', host: 'h', port: 22, username: 'u', knownHostsPath: '', identityFiles: [path.join(dir, 'locked'), path.join(dir, 'missing')], explicitKey: path.join(dir, 'plain'), agentSocket: '/tmp/agent.sock' },
      utils.parseKey,
    );
    assert.deepEqual(plan.methods.map((m: any) => m.type), ['publickey', 'agent']);
    assert.deepEqual(plan.encryptedKeys, [path.join(dir, 'locked')]);
    assert.deepEqual(plan.unreadable, []);
    const missing = planAuth({ alias: 'h', host: 'h', port: 22, username: 'u', knownHostsPath: '', identityFiles: [], explicitKey: path.join(dir, 'nope') }, utils.parseKey);
    assert.deepEqual(missing.unreadable, [path.join(dir, 'nope')]);
  });
});

describe('~/.ssh/config: Match, ProxyJump, ProxyCommand, Include', () => {
  it('Match host and Match all apply; Match blocks ruled out by host are skipped', () => {
    const text = 'Match host 10.0.0.*\n  User matched\nMatch originalhost other exec "false"\n  User never\nMatch all\n  Port 2201\n';
    const c = parseSshConfig(text, '10.0.0.7', 'cfg');
    assert.equal(c.user, 'matched');
    assert.equal(c.port, 2201);
    assert.deepEqual(c.problems, []);
  });
  it('a Match criterion it cannot evaluate is refused with the file and line, never ignored', () => {
    const c = parseSshConfig('Host x\n  User a\nMatch host prod-* exec "test -f /tmp/vpn"\n  User b\n', 'prod-1', 'cfg');
    assert.deepEqual(c.problems, [
      'cfg:3: Match host prod-* exec "test -f /tmp/vpn": honeydue-deploy cannot evaluate `exec` (it supports Match all, host, originalhost and localuser) — rewrite the block as a Host block for the manager, or set the values in cluster.env',
    ]);
  });
  it('ProxyCommand for the host is refused with the line; ProxyJump is read (first wins, none clears)', () => {
    assert.deepEqual(parseSshConfig('Host m\n  ProxyCommand ssh -W %h:%p bastion\n', 'm', 'cfg').problems, [
      'cfg:2: ProxyCommand: honeydue-deploy connects with its own SSH client and cannot run a proxy command — use ProxyJump (or DEPLOY_SSH_JUMP in cluster.env) for a bastion',
    ]);
    assert.deepEqual(parseSshConfig('Host other\n  ProxyCommand nc %h %p\n', 'm', 'cfg').problems, []);
    assert.equal(parseSshConfig('Host m\n  ProxyJump ops@bastion:2222,jump2\nHost *\n  ProxyJump nope\n', 'm').proxyJump, 'ops@bastion:2222,jump2');
    assert.equal(parseSshConfig('Host m\n  ProxyJump none\nHost *\n  ProxyJump nope\n', 'm').proxyJump, undefined);
  });
  it('parseHop reads [user@]host[:port] like ssh -J', () => {
    assert.deepEqual(parseHop('ops@bastion.example.com:2222'), { user: 'ops', host: 'bastion.example.com', port: 2222 });
    assert.deepEqual(parseHop('bastion'), { user: undefined, host: 'bastion', port: undefined });
    assert.deepEqual(parseHop('ssh://u@[fd00::1]:22'), { user: 'u', host: 'fd00::1', port: 22 });
    assert.equal(parseHop('a b'), undefined);
    assert.equal(parseHop('host:99999'), undefined);
  });
  it('resolveTarget: jump hosts from DEPLOY_SSH_JUMP (winning) or ProxyJump, each resolved through its own config; Include is read', () => {
    const home = tempDir('hd-home-');
    fs.mkdirSync(path.join(home, '.ssh', 'conf.d'), { recursive: true });
    fs.writeFileSync(path.join(home, '.ssh', 'config'), 'Include conf.d/*.conf\nHost prod\n  HostName 10.0.0.5\n  ProxyJump bastion\n');
    fs.writeFileSync(path.join(home, '.ssh', 'conf.d', 'bastion.conf'), 'Host bastion\n  HostName 203.0.113.9\n  User ops\n  Port 2222\n  IdentityFile ~/.ssh/bastion_key\n');
    const oldHome = process.env.HOME;
    process.env.HOME = home;
    try {
      const t = resolveTarget({ host: 'prod', user: 'deploy' }, {});
      assert.equal(t.jumps.length, 1);
      assert.deepEqual({ ...t.jumps[0]!, identityFiles: t.jumps[0]!.identityFiles.slice(0, 1) }, {
        alias: 'bastion', host: '203.0.113.9', port: 2222, username: 'ops', knownHostsPath: path.join(home, '.ssh', 'known_hosts'),
        identityFiles: [path.join(home, '.ssh', 'bastion_key')], explicitKey: undefined, agentSocket: undefined,
      });
      const j = resolveTarget({ host: 'prod', user: 'deploy', jump: 'a@j1:2200,j2' }, {}).jumps;
      assert.deepEqual(j.map((h) => `${h.username}@${h.host}:${h.port}`), ['a@j1:2200', `${os.userInfo().username}@j2:22`]);
      assert.deepEqual(resolveTarget({ host: 'prod', user: 'deploy', jump: 'none' }, {}).jumps, []);
      fs.appendFileSync(path.join(home, '.ssh', 'config'), 'Host prod\n  ProxyCommand nc %h %p\n');
      assert.throws(() => resolveTarget({ host: 'other', user: 'd', jump: 'bad host' }, {}), /DEPLOY_SSH_JUMP: "bad host" is not a jump host/);
    } finally {
      process.env.HOME = oldHome;
    }
  });
});
