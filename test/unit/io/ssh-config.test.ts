/**
 * SSH settings as OpenSSH resolves them. The corpus below is resolved three ways: by OpenSSH itself (`ssh -G -F`),
 * by the tool through `ssh -G` (sshResolver), and by the tool's own reader (used when ssh cannot describe the
 * operator's situation); all three must agree on every setting the tool uses.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseSshG, readSshConfig, splitWords, sshResolver, type SshHostConfig } from '../../../src/io/ssh-config.js';
import { parseHop, planAuth, resolveTarget } from '../../../src/io/ssh.js';
import { tempDir } from '../../helpers/tmp.js';

const HAVE_SSH = spawnSync('ssh', ['-V']).status === 0;
const ACCOUNT_HOME = os.userInfo().homedir;
const dir = tempDir('hd-sshcfg-');

/** Writes files under the corpus folder (`{D}` in a text stands for that folder) and returns the config's path. */
function files(name: string, texts: Record<string, string>): string {
  const base = path.join(dir, name);
  for (const [f, text] of Object.entries(texts)) {
    fs.mkdirSync(path.dirname(path.join(base, f)), { recursive: true });
    fs.writeFileSync(path.join(base, f), text.replaceAll('{D}', base));
  }
  return path.join(base, 'config');
}

/** The settings the tool uses, in a form to compare. */
function settings(c: SshHostConfig) {
  return {
    hostName: c.hostName,
    port: c.port,
    user: c.user,
    identityFiles: c.identityFiles,
    identitiesOnly: c.identitiesOnly,
    identityAgent: c.identityAgent,
    userKnownHostsFiles: c.userKnownHostsFiles,
    hostKeyAlias: c.hostKeyAlias,
    proxyJump: c.proxyJump,
    serverAliveInterval: c.serverAliveInterval,
    serverAliveCountMax: c.serverAliveCountMax,
  };
}

interface Case {
  name: string;
  texts: Record<string, string>;
  host: string;
  cli?: { user?: string; port?: number };
  /** what OpenSSH resolves (checked against ssh -G too) */
  expect: Partial<ReturnType<typeof settings>>;
}

const CORPUS: Case[] = [
  {
    name: 'include-in-inactive-block',
    texts: { config: 'Host other\n  Include {D}/evil.conf\nHost prod\n  HostName 10.0.0.5\n', 'evil.conf': 'HostName evil.example.com\nUser mallory\n' },
    host: 'prod',
    expect: { hostName: '10.0.0.5', user: os.userInfo().username },
  },
  {
    name: 'include-then-user',
    texts: { config: 'Host prod\n  Include {D}/x.conf\n  User deploy\n', 'x.conf': 'HostName 10.0.0.5\n' },
    host: 'prod',
    expect: { hostName: '10.0.0.5', user: 'deploy' },
  },
  {
    name: 'include-glob-in-a-folder-part',
    texts: { config: 'Include {D}/conf.d/*/prod.conf\n', 'conf.d/a/prod.conf': 'Host prod\n  HostName 10.0.0.77\n', 'conf.d/b/other.conf': 'Host prod\n  HostName 10.0.0.99\n' },
    host: 'prod',
    expect: { hostName: '10.0.0.77' },
  },
  {
    name: 'trailing-comment',
    texts: { config: 'Host prod\n  HostName 10.0.0.5 # the manager\n  Port 2222 # moved off 22\n' },
    host: 'prod',
    expect: { hostName: '10.0.0.5', port: 2222 },
  },
  {
    name: 'tokens',
    texts: { config: 'Host prod\n  HostName 10.0.0.5\n  User deploy\n  Port 2201\n  IdentityFile ~/.ssh/k_%r_%p_%%_%h_%n\n  IdentityFile %d/.ssh/second_%u\n  UserKnownHostsFile ~/.ssh/kh_%h %d/kh2\n  IdentityAgent ~/agent_%r.sock\n' },
    host: 'prod',
    expect: {
      identityFiles: [`${ACCOUNT_HOME}/.ssh/k_deploy_2201_%_10.0.0.5_prod`, `${ACCOUNT_HOME}/.ssh/second_${os.userInfo().username}`],
      userKnownHostsFiles: [`${ACCOUNT_HOME}/.ssh/kh_10.0.0.5`, `${ACCOUNT_HOME}/kh2`],
      identityAgent: `${ACCOUNT_HOME}/agent_deploy.sock`,
    },
  },
  {
    name: 'first-value-wins-identityfile-accumulates',
    texts: { config: 'Host prod\n  User first\n  IdentityFile ~/.ssh/a\nHost p*\n  User second\n  Port 2200\n  IdentityFile ~/.ssh/b\nHost *\n  Port 22\n' },
    host: 'prod',
    expect: { user: 'first', port: 2200, identityFiles: [`${ACCOUNT_HOME}/.ssh/a`, `${ACCOUNT_HOME}/.ssh/b`] },
  },
  {
    name: 'patterns-and-negation-and-case',
    texts: { config: 'Host *.internal !bastion.internal\n  User ops\nHost BASTION.internal\n  User upper\nHost bastion.*\n  User jump\n  HostName BASTION.example.com\nMatch host bastion.EXAMPLE.com\n  Port 2022\n' },
    host: 'bastion.internal',
    expect: { user: 'jump', hostName: 'bastion.example.com', port: 2022 },
  },
  {
    name: 'equals-and-quotes-and-case',
    texts: { config: 'HOST prod\n  hostname=10.0.0.5\n  Port = 2022\n  IdentityFile "~/my keys/id one"\n' },
    host: 'prod',
    expect: { hostName: '10.0.0.5', port: 2022, identityFiles: [`${ACCOUNT_HOME}/my keys/id one`] },
  },
  {
    name: 'match-host-originalhost-user-all',
    texts: { config: 'Host prod\n  HostName 10.0.0.5\nMatch host 10.0.0.* user deploy\n  Port 2201\nMatch originalhost prod !user root\n  IdentitiesOnly yes\nMatch all\n  ServerAliveInterval 15\n  ServerAliveCountMax 4\n' },
    host: 'prod',
    cli: { user: 'deploy' },
    expect: { port: 2201, identitiesOnly: true, serverAliveInterval: 15, serverAliveCountMax: 4, user: 'deploy' },
  },
  {
    name: 'command-line-wins',
    texts: { config: 'Host prod\n  User fromconfig\n  Port 2201\n' },
    host: 'prod',
    cli: { user: 'cli', port: 2999 },
    expect: { user: 'cli', port: 2999 },
  },
  {
    name: 'proxyjump-none-first',
    texts: { config: 'Host prod\n  ProxyJump none\nHost *\n  ProxyJump bastion\n' },
    host: 'prod',
    expect: { proxyJump: undefined },
  },
  {
    name: 'proxyjump-chain-and-alias',
    texts: { config: 'Host prod\n  HostKeyAlias prod-key\n  ProxyJump ops@bastion2:2222,bastion3\n  IdentityAgent SSH_AUTH_SOCK\n' },
    host: 'prod',
    expect: { proxyJump: 'ops@bastion2:2222,bastion3', hostKeyAlias: 'prod-key', identityAgent: 'SSH_AUTH_SOCK' },
  },
  {
    name: 'agent-none',
    texts: { config: 'Host *\n  IdentityAgent none\n' },
    host: 'prod',
    expect: { identityAgent: 'none' },
  },
  {
    name: 'include-opens-blocks-of-its-own',
    texts: { config: 'Include {D}/inc.conf\nHost prod\n  User after\n', 'inc.conf': 'Host nothere\n  User wrong\nHost prod\n  Port 2300\n' },
    host: 'prod',
    expect: { port: 2300, user: 'after' },
  },
  {
    name: 'defaults',
    texts: { config: '# nothing for this host\nHost other\n  User x\n' },
    host: 'prod',
    expect: {
      hostName: 'prod',
      port: 22,
      identityFiles: ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk', 'id_xmss', 'id_dsa'].map((k) => `${ACCOUNT_HOME}/.ssh/${k}`),
      userKnownHostsFiles: [`${ACCOUNT_HOME}/.ssh/known_hosts`, `${ACCOUNT_HOME}/.ssh/known_hosts2`],
      identitiesOnly: false,
      serverAliveInterval: 0,
      serverAliveCountMax: 3,
    },
  },
];

describe('ssh config: the corpus against OpenSSH (ssh -G)', { skip: HAVE_SSH ? false : 'no ssh client here' }, () => {
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const c of CORPUS) {
    it(c.name, () => {
      const file = files(c.name, c.texts);
      const cli = c.cli ?? {};
      const args = ['-G', '-F', file, ...(cli.user ? ['-l', cli.user] : []), ...(cli.port ? ['-p', String(cli.port)] : []), c.host];
      const g = parseSshG(execFileSync('ssh', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
      const viaSsh = sshResolver(process.env, file).resolve(c.host, cli);
      assert.equal(viaSsh.via, 'ssh -G');
      const reader = readSshConfig(c.host, { home: ACCOUNT_HOME, configFile: file, ...cli });
      // OpenSSH's own words for the values that are plain text in its output
      for (const [k, key] of [['hostName', 'hostname'], ['user', 'user'], ['hostKeyAlias', 'hostkeyalias'], ['proxyJump', 'proxyjump']] as const) {
        const raw = g.get(key)?.[0];
        assert.equal(viaSsh[k], raw === 'none' ? undefined : raw, `${k} as ssh -G prints it`);
      }
      assert.equal(viaSsh.port, Number(g.get('port')![0]));
      assert.deepEqual(settings(reader), settings(viaSsh), 'the reader agrees with ssh -G');
      for (const [k, v] of Object.entries(c.expect)) assert.deepEqual((viaSsh as unknown as Record<string, unknown>)[k], v, k);
      assert.deepEqual(reader.problems, []);
    });
  }

  it('a relative Include is read from ~/.ssh (conf.d/*/prod.conf), as OpenSSH reads it', () => {
    const sub = `hd-corpus-${process.pid}`;
    const base = path.join(ACCOUNT_HOME, '.ssh', sub);
    try {
      fs.mkdirSync(path.join(base, 'conf.d', 'team'), { recursive: true });
      fs.writeFileSync(path.join(base, 'conf.d', 'team', 'prod.conf'), 'Host prod\n  HostName 10.0.0.77\n');
      const file = files('relative-include', { config: `Include ${sub}/conf.d/*/prod.conf\n` });
      const g = parseSshG(execFileSync('ssh', ['-G', '-F', file, 'prod'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
      assert.equal(g.get('hostname')![0], '10.0.0.77');
      assert.equal(sshResolver(process.env, file).resolve('prod').hostName, '10.0.0.77');
      assert.equal(readSshConfig('prod', { home: ACCOUNT_HOME, configFile: file }).hostName, '10.0.0.77');
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  });

  it('the system-wide file is read after the user\'s, as ssh does without -F (this machine\'s own files)', () => {
    const viaSsh = sshResolver({ ...process.env }).resolve('hd-corpus-no-such-alias');
    if (path.resolve(os.homedir()) !== path.resolve(ACCOUNT_HOME)) return; // HOME moved: the reader is used, checked above
    const reader = readSshConfig('hd-corpus-no-such-alias', { home: ACCOUNT_HOME });
    assert.deepEqual(settings(reader), settings(viaSsh));
    const sys = path.join(dir, 'system');
    fs.mkdirSync(sys, { recursive: true });
    fs.writeFileSync(path.join(sys, 'ssh_config'), 'Include ssh_config.d/*.conf\nHost *\n  Port 2022\n');
    const own = readSshConfig('hd-x', { home: path.join(dir, 'nohome'), systemFile: path.join(sys, 'ssh_config') });
    assert.equal(own.port, 2022);
  });

  it('names the file and line each value came from; ssh -G where only OpenSSH knows', () => {
    const file = files('sources', { config: 'Host prod\n  HostName 10.0.0.5\n  Include {D}/more.conf\n', 'more.conf': 'User deploy\nIdentityAgent /tmp/hd-agent.sock\n' });
    const c = sshResolver(process.env, file).resolve('prod');
    assert.equal(c.sources.hostName, `${file}:2`);
    assert.equal(c.sources.user, `${path.join(dir, 'sources', 'more.conf')}:1`);
    assert.equal(c.sources.identityAgent, `${path.join(dir, 'sources', 'more.conf')}:2`);
    assert.equal(c.sources.port, undefined, 'ssh\'s default');
    assert.equal(sshResolver(process.env, file).resolve('prod', { port: 2200 }).sources.port, 'command line');
  });

  it('what ssh2 cannot do is refused naming the option, its value and where it is set', () => {
    const file = files('refused', { config: 'Host prod\n  CertificateFile ~/.ssh/id_ed25519-cert.pub\n  ProxyCommand nc %h %p\n' });
    const viaSsh = sshResolver(process.env, file).resolve('prod');
    assert.deepEqual(viaSsh.problems, [
      `${file}:3: ProxyCommand nc %h %p: honeydue-deploy connects with its own SSH client and cannot run a proxy command — use ProxyJump (or DEPLOY_SSH_JUMP in cluster.env) for a bastion`,
      `${file}:2: CertificateFile ${ACCOUNT_HOME}/.ssh/id_ed25519-cert.pub: honeydue-deploy's SSH client cannot log in with an SSH certificate — give the deploy user a plain key (DEPLOY_SSH_KEY, or an IdentityFile the manager's authorized_keys holds)`,
    ]);
    assert.deepEqual(readSshConfig('prod', { home: ACCOUNT_HOME, configFile: file }).problems.sort(), [...viaSsh.problems].sort());
    assert.deepEqual(sshResolver(process.env, file).resolve('other').problems, []);
    assert.throws(() => resolveTarget({ host: 'prod', user: 'deploy', sshConfig: file }, {}), /ProxyCommand nc %h %p/);
  });

  it('a config ssh itself refuses is an error naming what ssh said', () => {
    const file = files('broken', { config: 'Host prod\n  NoSuchOption yes\n' });
    assert.throws(() => sshResolver(process.env, file).resolve('prod'), (e: Error) => /refused your SSH configuration: .*Bad configuration option: nosuchoption/.test(e.message));
  });
});

describe('ssh config: jump hosts as ssh -J runs them', { skip: HAVE_SSH ? false : 'no ssh client here' }, () => {
  it('a jump host with its own ProxyJump is reached through it; a -J list overrides the last hop\'s own', () => {
    const file = files('chain', {
      config:
        'Host prod\n  HostName 10.0.0.5\n  User deploy\n  ProxyJump bastion2\n' +
        'Host bastion2\n  HostName 10.0.1.2\n  User ops\n  ProxyJump bastion1\n' +
        'Host bastion1\n  HostName 203.0.113.1\n  Port 2222\n' +
        'Host listed\n  HostName 10.0.0.6\n  ProxyJump a@bastion1,bastion2\n' +
        'Host loop1\n  ProxyJump loop2\nHost loop2\n  ProxyJump loop1\nHost looped\n  ProxyJump loop1\n',
    });
    const t = resolveTarget({ host: 'prod', user: '', sshConfig: file }, {});
    assert.deepEqual(t.jumps.map((j) => `${j.username}@${j.host}:${j.port}`), [`${os.userInfo().username}@203.0.113.1:2222`, 'ops@10.0.1.2:22']);
    assert.equal(`${t.username}@${t.host}`, 'deploy@10.0.0.5');
    assert.equal(t.jumps[0]!.sources?.jump, `${file}:8: ProxyJump of bastion2`);
    // ssh -J a@bastion1,bastion2 = bastion2 reached with -J a@bastion1: its own ProxyJump does not apply
    const l = resolveTarget({ host: 'listed', user: 'x', sshConfig: file }, {});
    assert.deepEqual(l.jumps.map((j) => `${j.username}@${j.host}:${j.port}`), ['a@203.0.113.1:2222', 'ops@10.0.1.2:22']);
    assert.throws(() => resolveTarget({ host: 'looped', user: 'x', sshConfig: file }, {}), /the jump hosts go round in a loop \(looped → loop1 → loop2 → loop1\)/);
  });
});

describe('ssh config: pieces', () => {
  it('words are split as OpenSSH splits them: quotes group, a word starting with # ends the line', () => {
    assert.deepEqual(splitWords('10.0.0.5 # the manager'), ['10.0.0.5']);
    assert.deepEqual(splitWords('"a b" c#d \'e f\''), ['a b', 'c#d', 'e f']);
    assert.deepEqual(splitWords('#all a comment'), []);
  });
  it('parseHop reads [user@]host[:port] like ssh -J', () => {
    assert.deepEqual(parseHop('ops@bastion.example.com:2222'), { user: 'ops', host: 'bastion.example.com', port: 2222 });
    assert.deepEqual(parseHop('bastion'), { user: undefined, host: 'bastion', port: undefined });
    assert.deepEqual(parseHop('ssh://u@[fd00::1]:22'), { user: 'u', host: 'fd00::1', port: 22 });
    assert.equal(parseHop('a b'), undefined);
    assert.equal(parseHop('host:99999'), undefined);
  });
  it('a Match criterion the reader cannot evaluate is refused with the file and line, never ignored', () => {
    const file = files('match-exec', { config: 'Host x\n  User a\nMatch host prod-* exec "test -f /tmp/vpn"\n  User b\n' });
    assert.deepEqual(readSshConfig('prod-1', { home: ACCOUNT_HOME, configFile: file }).problems, [
      `${file}:3: Match host prod-* exec test -f /tmp/vpn: honeydue-deploy's own reader cannot evaluate \`exec\` (it evaluates Match all, host, originalhost, user and localuser; OpenSSH's \`ssh -G\` evaluates the rest when HOME is your account's home) — rewrite the block as a Host block for the manager, or set the values in cluster.env`,
    ]);
    // a criterion that can be decided rules the block out first: nothing to refuse
    assert.deepEqual(readSshConfig('other', { home: ACCOUNT_HOME, configFile: file }).problems, []);
  });
  it('HOME that is not the account\'s home: the reader reads $HOME/.ssh/config (ssh would read the account\'s), and says so', () => {
    const home = tempDir('hd-home-');
    fs.mkdirSync(path.join(home, '.ssh', 'conf.d'), { recursive: true });
    fs.writeFileSync(path.join(home, '.ssh', 'config'), 'Include conf.d/*.conf\nHost prod\n  HostName 10.0.0.5\n  ProxyJump bastion\n');
    fs.writeFileSync(path.join(home, '.ssh', 'conf.d', 'bastion.conf'), 'Host bastion\n  HostName 203.0.113.9\n  User ops\n  Port 2222\n  IdentityFile ~/.ssh/bastion_key\n');
    const oldHome = process.env.HOME;
    process.env.HOME = home;
    try {
      assert.match(sshResolver(process.env).readerReason ?? '', /^HOME \(.*\) is not your account's home \(.*\), which ssh would read$/);
      const t = resolveTarget({ host: 'prod', user: 'deploy' }, {});
      assert.equal(t.host, '10.0.0.5');
      assert.equal(t.knownHostsPath, path.join(home, '.ssh', 'known_hosts'));
      assert.deepEqual([t.jumps[0]!.host, t.jumps[0]!.port, t.jumps[0]!.username, t.jumps[0]!.identityFiles[0]], ['203.0.113.9', 2222, 'ops', path.join(home, '.ssh', 'bastion_key')]);
      const j = resolveTarget({ host: 'prod', user: 'deploy', jump: 'a@j1:2200,j2' }, {}).jumps;
      assert.deepEqual(j.map((h) => `${h.username}@${h.host}:${h.port}`), ['a@j1:2200', `${os.userInfo().username}@j2:22`]);
      assert.deepEqual(resolveTarget({ host: 'prod', user: 'deploy', jump: 'none' }, {}).jumps, []);
      assert.throws(() => resolveTarget({ host: 'other', user: 'd', jump: 'bad host' }, {}), /DEPLOY_SSH_JUMP: "bad host" is not a jump host/);
      assert.equal(resolveTarget({ host: 'x', user: 'd', knownHosts: '~/kh' }, {}).knownHostsPath, path.join(home, 'kh'));
    } finally {
      process.env.HOME = oldHome;
    }
  });
});

describe('authentication order', () => {
  it('the configured key, then the agent, then the IdentityFile keys; passphrase-protected keys are reported', async () => {
    const ssh2 = ((await import('ssh2')) as any).default;
    const keys = tempDir('hd-keys-');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(keys, 'plain')]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'pass phrase', '-f', path.join(keys, 'locked')]);
    const plan = planAuth(
      { alias: 'h', host: 'h', port: 22, username: 'u', knownHostsPath: '', identityFiles: [path.join(keys, 'locked'), path.join(keys, 'missing')], explicitKey: path.join(keys, 'plain'), agentSocket: '/tmp/agent.sock' },
      ssh2.utils.parseKey,
    );
    assert.deepEqual(plan.methods.map((m: any) => m.type), ['publickey', 'agent']);
    assert.deepEqual(plan.encryptedKeys, [path.join(keys, 'locked')]);
    assert.deepEqual(plan.unreadable, []);
    const missing = planAuth({ alias: 'h', host: 'h', port: 22, username: 'u', knownHostsPath: '', identityFiles: [], explicitKey: path.join(keys, 'nope') }, ssh2.utils.parseKey);
    assert.deepEqual(missing.unreadable, [path.join(keys, 'nope')]);
    // IdentitiesOnly: the agent is asked only for the IdentityFile keys (a .pub is enough); none named, no agent
    const only = planAuth({ alias: 'h', host: 'h', port: 22, username: 'u', knownHostsPath: '', identityFiles: [path.join(keys, 'locked')], identitiesOnly: true, agentSocket: '/tmp/agent.sock' }, ssh2.utils.parseKey, ssh2);
    assert.equal(only.methods.length, 1);
    assert.ok(only.methods[0]!.type === 'agent' && typeof (only.methods[0] as any).agent === 'object');
    const none = planAuth({ alias: 'h', host: 'h', port: 22, username: 'u', knownHostsPath: '', identityFiles: [path.join(keys, 'missing')], identitiesOnly: true, agentSocket: '/tmp/agent.sock' }, ssh2.utils.parseKey, ssh2);
    assert.deepEqual(none.methods, []);
  });
});
