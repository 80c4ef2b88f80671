/**
 * The seed's own layout, as a new user has it: the deploy dir inside the app's git repository, set up with
 * `init`, committed with `git add -A`. A commit whose short SHA is all digits (about one in 27 are) is the
 * tag, and the health check expects it. The tree stays clean across two real deploys, no secret is
 * committed or baked into an image, and the worker never runs twice at once while it is updated.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeFixtureDeployDir } from '../fixtures/sandbox-deploy.js';
import { cleanup, docker, localAuditLines, httpBody, loadSandbox, makeFixture, registryCredentialsLeft, runCli, serviceImage, startCli, type Fixture } from './harness.js';

const { sandbox, reason } = loadSandbox();

function git(repo: string, ...args: string[]): string {
  return execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'e2e', GIT_AUTHOR_EMAIL: 'e2e@example.com', GIT_COMMITTER_NAME: 'e2e', GIT_COMMITTER_EMAIL: 'e2e@example.com' } }).trim();
}

/** Amends HEAD's message until its short SHA is all digits (bounded; ~27 tries on average). */
function allDigitHead(repo: string): string {
  for (let i = 0; i < 5000; i++) {
    const sha = git(repo, 'rev-parse', '--short=7', 'HEAD');
    if (/^\d+$/.test(sha)) return sha;
    git(repo, 'commit', '-q', '--amend', '-m', `release attempt ${i}`);
  }
  throw new Error('no all-digit short SHA within 5000 commits');
}

/** Running containers of a service, sampled every 250 ms while `until` is pending; returns the samples. */
async function sampleRunning(service: string, until: Promise<unknown>): Promise<string[][]> {
  const samples: string[][] = [];
  let done = false;
  void until.finally(() => (done = true));
  while (!done) {
    const r = spawnSync('docker', ['ps', '--filter', `label=com.docker.swarm.service.name=${service}`, '--filter', 'status=running', '--format', '{{.ID}}'], { encoding: 'utf8' });
    samples.push(r.stdout.split('\n').filter(Boolean));
    await new Promise((res) => setTimeout(res, 250));
  }
  return samples;
}

describe('the deploy dir inside the app repository', { skip: sandbox ? false : `e2e skipped: ${reason}` }, () => {
  let fx: Fixture;
  let repo = '';
  let sha = '';

  before(() => {
    fx = makeFixture(sandbox!, { stack: 'e2erepo', apiPort: 18709 });
    repo = fx.context;
    fx.deployDir = path.join(repo, 'deploy');
    // a Dockerfile that copies the whole context, as a Go service's `COPY . .` does
    const dockerfile = fs.readFileSync(path.join(repo, 'Dockerfile'), 'utf8').replace('COPY entrypoint.sh health.cgi /app/\n', 'COPY entrypoint.sh health.cgi /app/\nCOPY . /ctx/\n');
    fs.writeFileSync(path.join(repo, 'Dockerfile'), dockerfile);
  });
  after(async () => {
    if (fx) await cleanup(fx);
  });

  it('init, fill in, git add -A: nothing secret is committed; a context that would ship the secrets is refused', async () => {
    git(repo, 'init', '-q');
    const init = await runCli(fx, ['init'], { BUILD_CONTEXT: repo });
    assert.equal(init.code, 0, init.output);
    assert.match(init.output, /add the line `\/deploy` to .*\.dockerignore/);
    // fill in: the sandbox's values over the examples (the .gitignore from init stays)
    writeFixtureDeployDir(fx.deployDir, sandbox!, { stack: fx.stack, apiPort: fx.apiPort, remoteDir: fx.remoteDir, secrets: fx.secrets });
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'app and deploy config');
    const tracked = git(repo, 'ls-files').split('\n');
    assert.ok(tracked.includes('deploy/.gitignore') && tracked.includes('deploy/swarm-stack.yml'), tracked.join(', '));
    for (const f of tracked) assert.doesNotMatch(f, /^deploy\/(secrets\/|.*\.env$)/, `${f} was committed`);

    const refused = await runCli(fx, ['--context', repo]);
    assert.equal(refused.code, 2, refused.output);
    assert.match(refused.output, /the deploy dir app\/deploy is inside the build context .* — add the line `\/deploy` to .*\.dockerignore/);
    assert.equal(docker(['stack', 'services', '-q', fx.stack], { allowFail: true }).trim(), '', 'nothing was deployed');

    fs.writeFileSync(path.join(repo, '.dockerignore'), '.git\n/deploy\n');
    git(repo, 'add', '.dockerignore');
    git(repo, 'commit', '-q', '-m', 'keep the deploy dir out of the build');
    sha = allDigitHead(repo);
  });

  it('a release whose tag is an all-digit SHA deploys, and its health check (expecting the tag) passes', async () => {
    assert.match(sha, /^\d+$/);
    const r = await runCli(fx, ['--context', repo]);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output.trim().split('\n').pop()!, new RegExp(`^result: ok \\(exit 0\\): the new release ${sha}_\\d{14} \\(tag ${sha}\\) is serving and healthy$`));
    assert.equal(serviceImage(fx.stack, 'api'), `${sandbox!.registry}/e2e-${fx.stack}/honeydue-api:${sha}`);
    const env = docker(['service', 'inspect', `${fx.stack}_api`, '--format', '{{json .Spec.TaskTemplate.ContainerSpec.Env}}']);
    assert.ok((JSON.parse(env) as string[]).includes(`DEPLOY_TAG=${sha}`), env);
    assert.equal((await httpBody(fx.healthUrl))?.body.trim(), `ok ${sha}`);
    assert.equal(git(repo, 'status', '--porcelain'), '', 'the deploy made the tree dirty');
    // the image holds the context but not the deploy dir
    const ctx = docker(['run', '--rm', `${sandbox!.registry}/e2e-${fx.stack}/honeydue-api:${sha}`, '/bin/ls', '-a', '/ctx']).split('\n');
    assert.ok(ctx.includes('Dockerfile') && !ctx.includes('deploy'), ctx.join(' '));
  });

  it('a second deploy of the same commit is tagged with the clean SHA again; the worker never runs twice at once', async () => {
    const workerBefore = docker(['ps', '--filter', `label=com.docker.swarm.service.name=${fx.stack}_worker`, '-q']).trim();
    const run = startCli(fx, ['--context', repo]);
    const samples = await sampleRunning(`${fx.stack}_worker`, run.done);
    const r = await run.done;
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, new RegExp(`Deploying ${fx.stack} ${sha} \\(deploy id ${sha}_\\d{14}\\)`));
    assert.doesNotMatch(r.output, /dirty/);
    assert.ok(samples.length >= 8, `only ${samples.length} samples`);
    const most = Math.max(...samples.map((s) => s.length));
    assert.ok(most <= 1, `${most} worker containers ran at once: ${JSON.stringify(samples)}`);
    const workerAfter = docker(['ps', '--filter', `label=com.docker.swarm.service.name=${fx.stack}_worker`, '-q']).trim();
    assert.notEqual(workerAfter, workerBefore, 'the worker was updated');
    assert.equal(git(repo, 'status', '--porcelain'), '');
    assert.deepEqual(registryCredentialsLeft(fx), { laptop: false, manager: false });
    // the laptop's audit log is outside the deploy dir
    assert.equal(fs.existsSync(path.join(fx.deployDir, 'audit.log')), false);
    const local = localAuditLines(fx).at(-1)!;
    assert.equal(local.outcome, 'healthy');
    assert.equal(local.deployDir, fx.deployDir);
  });

  it('a hostile repository configuration runs nothing: plan reads git without fsmonitor or hooks', async () => {
    const hostile = fs.mkdtempSync(path.join(fx.root, 'hostile-'));
    fs.cpSync(path.join(repo, 'Dockerfile'), path.join(hostile, 'Dockerfile'));
    fs.writeFileSync(path.join(hostile, '.dockerignore'), '/deploy\n');
    git(hostile, 'init', '-q');
    git(hostile, 'add', '-A');
    git(hostile, 'commit', '-q', '-m', 'x');
    const marker = path.join(fx.root, 'fsmonitor-ran');
    git(hostile, 'config', 'core.fsmonitor', `touch ${marker}; false`);
    git(hostile, 'config', 'core.hooksPath', hostile);
    // the configuration is live: a plain git status runs it
    spawnSync('git', ['-C', hostile, 'status', '--porcelain']);
    assert.ok(fs.existsSync(marker), 'the test repository does not run its fsmonitor; the test would prove nothing');
    fs.rmSync(marker);
    const r = await runCli(fx, ['plan', '--context', hostile]);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /tag: \w{7} \(from git/);
    assert.equal(fs.existsSync(marker), false, 'the plan ran the repository\'s fsmonitor command');
  });
});
