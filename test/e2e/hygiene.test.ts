/**
 * Secret hygiene, proven on the real path: distinctive secret values (shell metacharacters, quotes, a leading
 * dash, newlines, binary bytes) never appear in the output, the uploaded bundle, the audit logs, or the argv
 * of any process on this machine while the deploy runs; hostile config values stay inert on both sides.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lockOwner, auditLines, storeObjects, currentId, registryCredentialsLeft, localAuditLines, sampleArgvDuring, cleanup, docker, loadSandbox, makeFixture, remoteFile, runningContainer, secretNames, startCli, type Fixture } from './harness.js';

const { sandbox, reason } = loadSandbox();

function fragments(fx: Fixture): string[] {
  return Object.values(fx.secrets)
    .flatMap((b) => b.toString('latin1').split(/[\r\n\0]+/))
    .map((s) => s.trim())
    .filter((s) => s.length >= 8 && !s.startsWith('-----'));
}

describe('secret hygiene on a real deploy', { skip: sandbox ? false : `e2e skipped: ${reason}` }, () => {
  let fx: Fixture;
  const hostileDir = 'e2e/hyg dir $(touch pwned-dir) `touch pwned-tick`';

  before(() => {
    fx = makeFixture(sandbox!, { stack: 'e2ehygiene', apiPort: 18705, clusterExtra: { DEPLOY_REMOTE_DIR: hostileDir } });
    fx.remoteDir = hostileDir;
    fx.remoteDirAbs = path.join(sandbox!.userHome, hostileDir);
  });
  after(async () => {
    if (fx) await cleanup(fx);
  });

  it('no secret in argv, output, bundle or audit; hostile values are inert', async () => {
    const { result: r, seen } = await sampleArgvDuring(startCli(fx, ['--context', fx.context, '--tag', 'h1']));
    assert.equal(r.code, 0, r.output);
    assert.ok(seen.size > 20, 'the sampler must have seen the deploy running');
    assert.ok([...seen].some((l) => l.includes('docker login')), 'the sampler must have caught the login command');
    const secrets = fragments(fx);
    assert.ok(secrets.length >= 5);
    for (const s of secrets) {
      assert.ok(![...seen].some((l) => l.includes(s)), `a secret was in some process's argv: ${s.slice(0, 10)}…`);
      assert.ok(!r.output.includes(s), 'a secret was printed');
    }
    assert.ok(![...seen].some((l) => l.includes(sandbox!.registryPassword)), 'the registry token was in an argv');
    assert.ok(!r.output.includes(sandbox!.registryPassword));

    // the release folder, the tool's objects in the swarm (readable back by anyone with docker) and both audit
    // trails hold no secret
    const current = currentId(fx.stack)!;
    const bundle = [...['swarm-stack.yml', 'prod.env'].map((f) => remoteFile(fx, `releases/${current}/${f}`)!), ...storeObjects(fx.stack).map((o) => o.data)].join('\n');
    const audits = `${JSON.stringify(auditLines(fx))}\n${JSON.stringify(localAuditLines(fx))}`;
    for (const s of secrets) {
      assert.ok(!bundle.includes(s), 'a secret is in the uploaded bundle');
      assert.ok(!audits.includes(s), 'a secret is in an audit log');
    }
    assert.ok(!bundle.includes(sandbox!.registryPassword));
    for (const f of ['swarm-stack.yml', 'prod.env']) assert.equal(fs.statSync(path.join(fx.remoteDirAbs, 'releases', current, f)).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.join(fx.remoteDirAbs, 'releases', current)).mode & 0o777, 0o700);

    // hostile values: nothing ran on the manager or here, and the value arrived literally
    assert.deepEqual(fs.readdirSync(sandbox!.userHome).filter((f) => f.startsWith('pwned')), []);
    assert.equal(fs.existsSync('/tmp/pwned-env') || fs.existsSync('/tmp/pwned-e2ehygiene'), false);
    const env = docker(['exec', runningContainer(fx.stack, 'worker'), 'env']);
    assert.match(env, /^SHELL_TRAP=\$\(touch \/tmp\/pwned-env\);`id`$/m);
    assert.equal(secretNames(fx.stack).length, 5);
  });

  it('a second Ctrl-C skips the rollback wait but still logs out and unlocks', async () => {
    const run = startCli(fx, ['--context', fx.context, '--tag', 'h2']);
    await run.waitFor(/==> Wait for convergence/);
    run.child.kill('SIGINT');
    await run.waitFor(/==> Roll back/);
    run.child.kill('SIGINT');
    const r = await run.done;
    assert.equal(r.code, 130, r.output);
    assert.match(r.output, /received again: not waiting for the rollback to converge; still logging out and releasing the lock/);
    assert.match(r.output.split('\n').filter((l) => l.startsWith('result:')).pop()!, /^result: interrupted \(exit 130\): unknown: the rollback was started but not awaited \(second signal\)$/);
    assert.equal(lockOwner(fx.stack), undefined);
    assert.deepEqual(registryCredentialsLeft(fx), { laptop: false, manager: false });
    assert.deepEqual(fs.readdirSync(fx.remoteDirAbs).filter((n) => n.startsWith('docker-config.')), [], 'the private docker config on the manager is removed');
  });

  it('interrupted while creating secrets: the secrets of a release that never reached the stack are removed', async () => {
    // let the previous rollback settle first
    for (let i = 0; i < 60 && !docker(['service', 'inspect', `${fx.stack}_api`, '--format', '{{.Spec.TaskTemplate.ContainerSpec.Image}}']).includes(':h1'); i++) await new Promise((r) => setTimeout(r, 500));
    const before = secretNames(fx.stack);
    const run = startCli(fx, ['--context', fx.context, '--tag', 'h3']);
    await run.waitFor(/==> Create versioned secrets/);
    run.child.kill('SIGINT');
    const r = await run.done;
    assert.equal(r.code, 130, r.output);
    assert.deepEqual(secretNames(fx.stack), before, 'secrets of h3 must be gone');
    const releases = fs.readdirSync(path.join(fx.remoteDirAbs, 'releases'));
    assert.ok(!releases.some((id) => id.startsWith('h3_')), `the folder of a release that never reached the stack must be removed: ${releases.join(', ')}`);
    assert.ok(!storeObjects(fx.stack, 'release').some((o) => o.labels['com.honeydue.deploy.id']!.startsWith('h3_')), 'and its record in the swarm');
    assert.match(r.output, /stopped before the stack was changed/);
  });
});
