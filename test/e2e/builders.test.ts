/**
 * The builders, for real: buildx (what production laptops have) builds the three images as one graph with
 * `docker buildx bake`; without buildx the classic `docker build` + `docker push` path still deploys. The plan
 * shows the one that will run. The seed's multi-arch recipe: images pushed by hand with buildx, then deployed with
 * SKIP_BUILD; several platforms on a builder that cannot build them are refused before anything is built.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BUILDX_PLUGINS, cleanup, loadSandbox, makeFixture, runCli, serviceImage, type Fixture } from './harness.js';

const { sandbox, reason } = loadSandbox();

describe('builders', { skip: sandbox ? false : `e2e skipped: ${reason}` }, () => {
  let bx: Fixture;
  let classic: Fixture;
  const image = (fx: Fixture, svc: string, tag: string) => `${sandbox!.registry}/e2e-${fx.stack}/honeydue-${svc}:${tag}`;
  const lastLine = (out: string) => out.split('\n').filter((l) => l.startsWith('result:')).pop() ?? '';

  before(() => {
    bx = makeFixture(sandbox!, { stack: 'e2ebuildx', apiPort: 18714 });
    classic = makeFixture(sandbox!, { stack: 'e2eclassic', apiPort: 18715, buildx: false });
  });
  after(async () => {
    if (bx) await cleanup(bx);
    if (classic) await cleanup(classic);
  });

  it('with buildx the plan shows one bake of the three images, and the deploy builds them as one graph', async () => {
    const plan = await runCli(bx, ['plan', '--context', bx.context, '--tag', 'b1']);
    assert.equal(plan.code, 0, plan.output);
    assert.match(plan.output, /# builder: github\.com\/docker\/buildx [^,]+ — one build graph for the three images/);
    assert.match(plan.output, /local\$ docker buildx bake --file - --push < bake definition \(JSON: targets api, worker, admin;/);
    assert.doesNotMatch(plan.output, /docker build --target|docker push /, 'the plan shows one branch, not both');
    const r = await runCli(bx, ['--context', bx.context, '--tag', 'b1']);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /==> Build and push images/);
    for (const svc of ['api', 'worker', 'admin']) assert.equal(serviceImage(bx.stack, svc), image(bx, svc, 'b1'));
  });

  it('without buildx the classic docker build + docker push path deploys, and the plan says so', async () => {
    const plan = await runCli(classic, ['plan', '--context', classic.context, '--tag', 'c1']);
    assert.equal(plan.code, 0, plan.output);
    assert.match(plan.output, /# builder: the classic docker build \(docker buildx is not installed\)/);
    assert.match(plan.output, /local\$ docker build --target api /);
    assert.doesNotMatch(plan.output, /buildx bake/);
    const r = await runCli(classic, ['--context', classic.context, '--tag', 'c1']);
    assert.equal(r.code, 0, r.output);
    for (const svc of ['api', 'worker', 'admin']) assert.equal(serviceImage(classic.stack, svc), image(classic, svc, 'c1'));
  });

  it('several platforms on a builder that cannot build them are refused before anything is built: exit 2', async () => {
    const r = await runCli(bx, ['--context', bx.context, '--tag', 'mp1', '--platform', 'linux/amd64,linux/arm64']);
    assert.equal(r.code, 2, r.output);
    assert.match(r.output, /command line: --platform: linux\/amd64, linux\/arm64: the current buildx builder uses the docker driver, which builds one platform at a time — create a builder that can build several: `docker buildx create --use --driver docker-container`/);
    assert.doesNotMatch(r.output, /==> /, 'nothing started');
    const noBuildx = await runCli(classic, ['--context', classic.context, '--tag', 'mp2', '--platform', 'linux/amd64']);
    assert.equal(noBuildx.code, 2, noBuildx.output);
    assert.match(noBuildx.output, /command line: --platform: linux\/amd64 needs docker buildx, which is not installed here/);
  });

  it('the multi-arch recipe: images pushed by hand with buildx --platform, then SKIP_BUILD deploys them, every tag verified first', async () => {
    const cfg = fs.mkdtempSync(path.join(bx.root, 'by-hand-'));
    fs.symlinkSync(BUILDX_PLUGINS, path.join(cfg, 'cli-plugins'));
    const env = { ...process.env, DOCKER_CONFIG: cfg };
    const login = spawnSync('docker', ['login', sandbox!.registry, '--username', sandbox!.registryUser, '--password-stdin'], { input: sandbox!.registryPassword, env, encoding: 'utf8' });
    assert.equal(login.status, 0, login.stderr);
    for (const svc of ['api', 'worker', 'admin']) {
      const b = spawnSync('docker', ['buildx', 'build', '--platform', 'linux/amd64', '--target', svc, '-t', image(bx, svc, 'hand1'), '--push', bx.context], { env, encoding: 'utf8' });
      assert.equal(b.status, 0, b.stderr);
    }
    const r = await runCli(bx, ['--tag', 'hand1'], { SKIP_BUILD: '1' });
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /==> Verify the images are in the registry\n {4}ok/);
    assert.match(lastLine(r.output), /^result: ok \(exit 0\): the new release hand1_\d{14} \(tag hand1\) is serving and healthy$/);
    for (const svc of ['api', 'worker', 'admin']) assert.equal(serviceImage(bx.stack, svc), image(bx, svc, 'hand1'));
  });
});
