import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseSshConfig } from '../../../src/io/ssh-config.js';
import { resolveTarget, planAuth } from '../../../src/io/ssh.js';
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
