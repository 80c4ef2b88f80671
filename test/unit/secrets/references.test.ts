/** secrets.env: names, references and what is wrong with them, all at once; values are never read here. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/index.js';
import { ConfigError } from '../../../src/errors.js';
import { parseReference, valueOf } from '../../../src/secrets/references.js';
import { makeConfig, runCli } from '../../helpers/config.js';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe('references', () => {
  it('op://, pass:, age:, cmd: become programs; the reference may be in argv, a value never is', () => {
    assert.deepEqual(parseReference('op://Prod/postgres/password', '/d', '/id'), { kind: 'op', argv: ['op', 'read', 'op://Prod/postgres/password'] });
    assert.deepEqual(parseReference('pass:honeydue/secret_key', '/d', '/id'), { kind: 'pass', argv: ['pass', 'show', 'honeydue/secret_key'] });
    assert.deepEqual(parseReference('age:secrets/pg.age', '/d', '/home/me/.config/age/keys.txt'), { kind: 'age', argv: ['age', '--decrypt', '-i', '/home/me/.config/age/keys.txt', '/d/secrets/pg.age'], file: '/d/secrets/pg.age' });
    assert.deepEqual(parseReference(`cmd:aws secretsmanager get-secret-value --secret-id 'prod/db' --query SecretString --output text`, '/d', '/id'), { kind: 'cmd', argv: ['aws', 'secretsmanager', 'get-secret-value', '--secret-id', 'prod/db', '--query', 'SecretString', '--output', 'text'] });
  });
  it('a malformed reference says what to write', () => {
    assert.deepEqual(parseReference('op://Prod/postgres', '/d', '/id'), { problem: '"op://Prod/postgres" is not a 1Password reference — write op://VAULT/ITEM/FIELD (or op://VAULT/ITEM/SECTION/FIELD)' });
    assert.deepEqual(parseReference('pass:/abs/path', '/d', '/id'), { problem: '"pass:/abs/path" is not a pass entry — write pass:PATH, the entry\'s name as `pass ls` shows it (e.g. pass:honeydue/postgres_password)' });
    assert.deepEqual(parseReference('cmd:vault kv get | head', '/d', '/id'), { problem: '"cmd:vault kv get | head": the command has | outside quotes, which only a shell understands — the command is not run by a shell; write sh -c \'…\' to use one' });
    assert.deepEqual(parseReference('hunter2-literal-value', '/d', '/id'), { problem: '"hunter2-literal-value" is not a reference — write op://VAULT/ITEM/FIELD, pass:PATH, age:FILE or cmd:PROGRAM ARGS…' });
    assert.deepEqual(parseReference('pas:honeydue/x', '/d', '/id'), { problem: '"pas:honeydue/x" is not a reference — write op://VAULT/ITEM/FIELD, pass:PATH, age:FILE or cmd:PROGRAM ARGS… (did you mean pass:?)' });
  });
  it('exactly one trailing newline (\\n or \\r\\n) is removed from a program\'s output, nothing else; age\'s plaintext is byte for byte', () => {
    assert.deepEqual(valueOf('pass', Buffer.from('v\n')), Buffer.from('v'));
    assert.deepEqual(valueOf('op', Buffer.from('v\r\n')), Buffer.from('v'));
    assert.deepEqual(valueOf('cmd', Buffer.from('v\n\n')), Buffer.from('v\n'));
    assert.deepEqual(valueOf('cmd', Buffer.from(' v ')), Buffer.from(' v '));
    assert.deepEqual(valueOf('age', Buffer.from('v\n')), Buffer.from('v\n'));
  });
});

describe('secrets.env in a deploy dir', () => {
  it('a secret from a reference needs no file; the registry token and a prod.env key are left out of their own files', () => {
    const c = makeConfig({ 'registry.env': { REGISTRY_TOKEN: undefined }, 'prod.env': { B2_APP_KEY: '' } });
    fs.rmSync(c.path('secrets/postgres_password.txt'));
    fs.writeFileSync(c.path('secrets.env'), 'postgres_password=op://Prod/postgres/password\n# the registry token\nREGISTRY_TOKEN=pass:honeydue/registry\nB2_APP_KEY=cmd:printf %s abc\n');
    const cfg = loadConfig(c.deployDir);
    assert.deepEqual(cfg.references.map((r) => [r.name, r.target, r.kind, r.line]), [['postgres_password', 'secret', 'op', 1], ['REGISTRY_TOKEN', 'registry', 'pass', 3], ['B2_APP_KEY', 'prod', 'cmd', 4]]);
    assert.equal(cfg.resolved, false);
    assert.equal(cfg.secrets.find((s) => s.key === 'postgres_password')!.file, 'deploy/secrets.env: postgres_password (op://Prod/postgres/password)'.replace('deploy/', `${path.relative(process.cwd(), c.deployDir)}/`));
    assert.equal(fs.existsSync(c.path('secrets/postgres_password.txt')), false, 'no file is copied from the example for it');
    assert.deepEqual(cfg.literal['registry.env'], []);
  });
  it('a name given both ways, an unknown name (did-you-mean), a malformed reference, a missing age file: all at once', () => {
    const c = makeConfig({});
    fs.writeFileSync(c.path('secrets.env'), 'secret_key=pass:honeydue/sk\nREGISTRY_TOKEN=op://Prod/registry/token\npostgres_pasword=pass:x\nB2_APP_KEY=op://Prod\nfcm_server_key=age:secrets/fcm.age\nNOT_A_THING=pass:y\n');
    const problems = problemsOf(() => loadConfig(c.deployDir)).map((p) => p.replaceAll(`${path.relative(process.cwd(), c.deployDir)}/`, 'deploy/'));
    assert.deepEqual(problems.filter((p) => p.startsWith('deploy/secrets.env')).sort(), [
      'deploy/secrets.env: B2_APP_KEY: "op://Prod" is not a 1Password reference — write op://VAULT/ITEM/FIELD (or op://VAULT/ITEM/SECTION/FIELD)',
      'deploy/secrets.env: NOT_A_THING: is not a secret name, REGISTRY_TOKEN or a prod.env key — name one of postgres_password, secret_key, email_host_password, fcm_server_key, apns_auth_key, REGISTRY_TOKEN, or a key of prod.env (left empty there)',
      'deploy/secrets.env: REGISTRY_TOKEN: is given both ways, in deploy/registry.env and here — keep one (leave it out of deploy/registry.env, or empty there, to take the value from op://Prod/registry/token)',
      'deploy/secrets.env: fcm_server_key: is given both ways, in deploy/secrets/fcm_server_key.txt and here — keep one (remove the file to take the value from age:secrets/fcm.age)',
      'deploy/secrets.env: fcm_server_key: the age file deploy/secrets/fcm.age does not exist — encrypt the value into it (`age -r RECIPIENT -o deploy/secrets/fcm.age`) or fix the path',
      'deploy/secrets.env: postgres_pasword: is not a secret name, REGISTRY_TOKEN or a prod.env key — did you mean postgres_password?',
      'deploy/secrets.env: secret_key: is given both ways, in deploy/secrets/secret_key.txt and here — keep one (remove the file to take the value from pass:honeydue/sk)',
    ]);
  });
  it('the plan names each value\'s source, never the value; a missing program is a warning the real run stops on (exit 2)', async () => {
    const c = makeConfig({ 'registry.env': { REGISTRY_TOKEN: undefined } });
    fs.rmSync(c.path('secrets/secret_key.txt'));
    fs.writeFileSync(c.path('secrets.env'), 'secret_key=cmd:no-such-vault-cli read sk\nREGISTRY_TOKEN=op://Prod/registry/token\n');
    const plan = await runCli(['plan', '--deploy-dir', 'deploy', '--tag', 'v9', '--skip-build'], { cwd: c.root, env: { PATH: '/usr/bin:/bin' } });
    assert.equal(plan.code, 0, plan.stdout + plan.stderr);
    assert.match(plan.stdout, /^ {2}secret_key from cmd:no-such-vault-cli read sk +-> honeydue_secret_key_v9_\d{14}$/m);
    assert.match(plan.stdout, /^ {2}REGISTRY_TOKEN +op:\/\/Prod\/registry\/token \(1Password, `op read`\)$/m);
    assert.match(plan.stdout, /warning: secrets\.env: secret_key \(cmd:no-such-vault-cli read sk\): no-such-vault-cli is not installed or not on PATH — install no-such-vault-cli or fix the command \(a real deploy stops here\)/);
    const real = await runCli(['--deploy-dir', 'deploy', '--tag', 'v9', '--skip-build'], { cwd: c.root, env: { PATH: '/usr/bin:/bin' } });
    assert.equal(real.code, 2, real.stdout + real.stderr);
    assert.match(real.stderr, /secrets\.env: REGISTRY_TOKEN \(op:\/\/Prod\/registry\/token\): op is not installed or not on PATH — install the 1Password CLI \(op\)/);
  });
  it('env files without a literal secret may be shared (0644); with one they must be owner-only', () => {
    const c = makeConfig({ 'registry.env': { REGISTRY_TOKEN: undefined }, 'prod.env': { B2_APP_KEY: '' } });
    fs.writeFileSync(c.path('secrets.env'), 'REGISTRY_TOKEN=pass:honeydue/registry\nB2_APP_KEY=pass:honeydue/b2\n');
    fs.chmodSync(c.path('registry.env'), 0o644);
    fs.chmodSync(c.path('prod.env'), 0o644);
    assert.deepEqual(problemsOf(() => loadConfig(c.deployDir)), []);
    c.write('prod.env', { B2_APP_KEY: '', STRIPE_API_KEY: 'sk_live_literal_value' });
    fs.chmodSync(c.path('prod.env'), 0o644);
    assert.match(problemsOf(() => loadConfig(c.deployDir)).join('\n'), /prod\.env: \(file\): is readable by group or others \(mode 0644\) and holds STRIPE_API_KEY — run `chmod 600/);
  });
});

describe('init --secrets-from', () => {
  it('lays out a deploy dir a team shares through git: secrets.env with references, no secret file, no token line', async () => {
    const { tempDir } = await import('../../helpers/tmp.js');
    const root = tempDir('hd-init-team-');
    const r = await runCli(['init', '--deploy-dir', 'deploy', '--secrets-from', 'op'], { cwd: root });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const dir = path.join(root, 'deploy');
    assert.match(fs.readFileSync(path.join(dir, 'secrets.env'), 'utf8'), /^postgres_password=op:\/\/honeydue\/postgres_password\/password$/m);
    assert.equal(fs.existsSync(path.join(dir, 'secrets')), false);
    assert.doesNotMatch(fs.readFileSync(path.join(dir, 'registry.env'), 'utf8'), /^REGISTRY_TOKEN=/m);
    assert.match(fs.readFileSync(path.join(dir, '.gitignore'), 'utf8'), /^secrets\/\*\.txt$/m);
    assert.doesNotMatch(fs.readFileSync(path.join(dir, '.gitignore'), 'utf8'), /^prod\.env$/m);
    const bad = await runCli(['init', '--deploy-dir', 'other', '--secrets-from', 'vaultwarden'], { cwd: root });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /command line: --secrets-from: "vaultwarden" is not a source — use op \(1Password\), pass, age or cmd/);
  });
});
