/**
 * Secrets from the team's password manager, on the real sandbox: a deploy dir committed to git with no secret value
 * in it — secrets.env names pass, age, cmd: and (the stand-in) op for the five secrets, the registry token and
 * B2_APP_KEY — cloned by a second operator and deployed with nothing copied by hand. The containers see the values
 * byte for byte; nothing of them is in an argv sampled during the run, the output, the remote dir or the deploy dir;
 * a broken reference stops the run (exit 2) with the stack untouched; a rotated secret is deployed with SKIP_BUILD
 * and the old version pruned by the keep rule.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { havePasswordManagers, makeStores, type Stores } from '../helpers/password-managers.js';
import { sampleArgvDuring, cleanup, docker, dockerBuffer, httpBody, loadSandbox, makeFixture, runCli, runningContainer, secretNames, serviceImage, sha256, startCli, type Fixture } from './harness.js';

const { sandbox, reason } = loadSandbox();
const missing = havePasswordManagers();
if (sandbox && missing && process.env.CI === 'true') throw new Error(`the password-manager e2e test needs its programs in CI: ${missing}`);

/** Every file under a folder, its bytes. */
function filesUnder(dir: string): Array<{ file: string; data: Buffer }> {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => {
    const file = path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
    return { file, data: fs.readFileSync(file) };
  });
}

describe('secrets from the team\'s password manager', { skip: !sandbox ? `e2e skipped: ${reason}` : missing ?? false }, () => {
  let fx: Fixture;
  let stores: Stores;
  let env: NodeJS.ProcessEnv;
  let clone = '';
  const B2_KEY = 'b2-vault-app-key-40413';
  /** the values whose traces are looked for: each secret's lines, the token, the B2 key */
  let needles: string[] = [];

  before(() => {
    fx = makeFixture(sandbox!, { stack: 'e2evault', apiPort: 18722, convergeTimeout: 60 });
    stores = makeStores();
    const secrets = fx.secrets;
    // pass and op print the value and one newline of their own; age and cmd: give the bytes as they are
    stores.passInsert('honeydue/postgres_password', Buffer.concat([secrets['postgres_password.txt']!, Buffer.from('\n')]));
    stores.passInsert('honeydue/b2_app_key', `${B2_KEY}\n`);
    stores.opPut('op://Prod/honeydue/secret_key', secrets['secret_key.txt']!);
    stores.opPut('op://Prod/registry/token', sandbox!.registryPassword);
    const outside = fs.mkdtempSync(path.join(fx.root, 'vault-export-'));
    fs.writeFileSync(path.join(outside, 'fcm.bin'), secrets['fcm_server_key.txt']!);

    // the team's repository: the deploy dir with no secret value in it, committed
    const repo = path.join(fx.root, 'team-repo');
    fs.mkdirSync(repo);
    fs.renameSync(fx.deployDir, path.join(repo, 'deploy'));
    const deploy = path.join(repo, 'deploy');
    fs.rmSync(path.join(deploy, 'secrets'), { recursive: true });
    stores.ageEncrypt(path.join(deploy, 'secrets', 'email_host_password.age'), secrets['email_host_password.txt']!);
    stores.ageEncrypt(path.join(deploy, 'secrets', 'apns_auth_key.age'), secrets['apns_auth_key.p8']!);
    const registry = path.join(deploy, 'registry.env');
    fs.writeFileSync(registry, fs.readFileSync(registry, 'utf8').replace(/^REGISTRY_TOKEN=.*\n/m, ''));
    fs.appendFileSync(path.join(deploy, 'prod.env'), 'B2_ENDPOINT=https://s3.invalid\nB2_KEY_ID=keyid-vault\nB2_BUCKET_NAME=uploads\nB2_APP_KEY=\n');
    fs.writeFileSync(path.join(deploy, 'secrets.env'), [
      '# where each secret value comes from: references, never values',
      'postgres_password=pass:honeydue/postgres_password',
      'secret_key=op://Prod/honeydue/secret_key',
      'email_host_password=age:secrets/email_host_password.age',
      `fcm_server_key=cmd:cat ${path.join(outside, 'fcm.bin')}`,
      'apns_auth_key=age:secrets/apns_auth_key.age',
      'REGISTRY_TOKEN=op://Prod/registry/token',
      'B2_APP_KEY=pass:honeydue/b2_app_key',
      '',
    ].join('\n'));
    const git = (...a: string[]) => execFileSync('git', ['-c', 'user.email=ops@honeydue.invalid', '-c', 'user.name=ops', ...a], { cwd: repo });
    git('init', '-q');
    git('add', '-A');
    git('commit', '-qm', 'deploy dir');
    // the second operator: a clone, nothing copied by hand
    clone = path.join(fx.root, 'laptop2');
    execFileSync('git', ['clone', '-q', repo, clone]);
    fx.deployDir = path.join(clone, 'deploy');
    env = { ...stores.env, DEPLOY_AGE_IDENTITY: stores.ageIdentity };
    needles = [
      ...Object.values(secrets).flatMap((b) => b.toString('latin1').split(/[\r\n\0]+/)).map((s) => s.trim()).filter((s) => s.length >= 8 && !s.startsWith('-----')),
      sandbox!.registryPassword,
      B2_KEY,
    ];
  });
  after(async () => {
    if (fx) await cleanup(fx);
  });

  it('a clone of the committed deploy dir deploys: values byte for byte in the containers, none anywhere else', async () => {
    const modes = ['registry.env', 'prod.env', 'secrets.env'].map((f) => fs.statSync(path.join(fx.deployDir, f)).mode & 0o777);
    assert.ok(modes.every((m) => (m & 0o044) !== 0), 'a clone gives 0644: allowed for files without a secret value');
    const plan = await runCli(fx, ['plan', '--context', fx.context, '--tag', 'pm1'], env);
    assert.equal(plan.code, 0, plan.output);
    assert.match(plan.output, /^ {2}B2_APP_KEY +pass:honeydue\/b2_app_key \(pass, `pass show`\)$/m);
    const { result: r, seen } = await sampleArgvDuring(startCli(fx, ['--context', fx.context, '--tag', 'pm1'], env));
    assert.equal(r.code, 0, r.output);
    assert.ok([...seen].some((l) => l.includes('pass show honeydue/postgres_password')), 'the sampler caught a fetch (the reference is in argv)');
    const container = runningContainer(fx.stack, 'api');
    for (const [file, data] of Object.entries(fx.secrets)) {
      const inside = dockerBuffer(['exec', container, 'cat', `/run/secrets/${file.replace(/\.(txt|p8)$/, '')}`]);
      assert.equal(sha256(inside), sha256(data), `${file} differs inside the container`);
    }
    assert.match(docker(['service', 'inspect', `${fx.stack}_api`, '--format', '{{json .Spec.TaskTemplate.ContainerSpec.Env}}']), new RegExp(`B2_APP_KEY=${B2_KEY}`));
    assert.equal((await httpBody(fx.healthUrl))?.body.trim(), 'ok pm1');
    const places = [...filesUnder(fx.remoteDirAbs), ...filesUnder(fx.deployDir)];
    assert.ok(places.length > 5);
    for (const n of needles) {
      assert.ok(![...seen].some((l) => l.includes(n)), `a value was in an argv: ${n.slice(0, 6)}…`);
      assert.ok(!r.output.includes(n) && !plan.output.includes(n), `a value was printed: ${n.slice(0, 6)}…`);
      for (const p of places) assert.ok(!p.data.toString('latin1').includes(n), `${p.file} holds a value (${n.slice(0, 6)}…)`);
    }
  });

  it('a broken reference stops the run before anything is touched: exit 2, naming it and what to do', async () => {
    const file = path.join(fx.deployDir, 'secrets.env');
    const good = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, good.replace('pass:honeydue/postgres_password', 'pass:honeydue/postgres_pasword'));
    try {
      const before = { image: serviceImage(fx.stack, 'api'), secrets: secretNames(fx.stack) };
      const r = await runCli(fx, ['--context', fx.context, '--tag', 'pm2'], env);
      assert.equal(r.code, 2, r.output);
      assert.match(r.output, /secrets\.env: postgres_password: pass:honeydue\/postgres_pasword: pass exited with 1: Error: honeydue\/postgres_pasword is not in the password store\. — check that the entry exists \(`pass ls`\)/);
      assert.match(r.output.split('\n').filter((l) => l.startsWith('result:')).pop()!, /^result: stopped before changing anything \(exit 2\)/);
      assert.deepEqual({ image: serviceImage(fx.stack, 'api'), secrets: secretNames(fx.stack) }, before);
    } finally {
      fs.writeFileSync(file, good);
    }
  });

  it('rotation: change the secret in the password manager, redeploy the serving tag with SKIP_BUILD — a new version, the services on it, the oldest pruned', async () => {
    const versions = () => secretNames(fx.stack).filter((n) => n.startsWith(`${fx.stack}_postgres_password_`));
    const first = versions();
    assert.equal(first.length, 1);
    for (const [i, value] of ['rotated-pg-password-one', 'rotated-pg-password-two'].entries()) {
      stores.passInsert('honeydue/postgres_password', `${value}\n`);
      const r = await runCli(fx, ['--skip-build', '--tag', 'pm1', '--keep-secrets', '2'], env);
      assert.equal(r.code, 0, r.output);
      assert.ok(!r.output.includes(value));
      const inside = dockerBuffer(['exec', runningContainer(fx.stack, 'api'), 'cat', '/run/secrets/postgres_password']).toString();
      assert.equal(inside, value, `rotation ${i + 1}: the services run the new version`);
    }
    const now = versions();
    assert.equal(now.length, 2, now.join(', '));
    assert.ok(!now.includes(first[0]!), 'the oldest version is pruned by the keep rule');
  });
});
