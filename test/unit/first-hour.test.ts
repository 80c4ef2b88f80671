/**
 * The first hour of a new operator, through the real CLI: what a real deploy would trip on is caught by the plan
 * (and a real run stops on it before it connects), and the wording sends nobody the wrong way.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { makeConfig, runCli } from './../helpers/config.js';

const plan = (root: string, args: string[] = [], env: NodeJS.ProcessEnv = {}) => runCli(['plan', '--deploy-dir', 'deploy', '--tag', 'v9', ...args], { cwd: root, env });
const real = (root: string, args: string[] = [], env: NodeJS.ProcessEnv = {}) => runCli(['--deploy-dir', 'deploy', '--tag', 'v9', ...args], { cwd: root, env });
const result = (out: string) => out.split('\n').filter((l) => l.startsWith('result:')).pop() ?? '';

describe('the first hour', () => {
  it('a Dockerfile without a target the tool builds (worker renamed workers): the plan names it and the targets there; a real run stops before it connects', async () => {
    const c = makeConfig();
    fs.writeFileSync(`${c.root}/Dockerfile`, 'FROM scratch AS base\nFROM base AS api\nFROM base AS workers\nFROM --platform=$BUILDPLATFORM base AS Admin\n');
    const p = await plan(c.root);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /warning: Dockerfile: has no build stage named worker — the tool builds the targets api, worker and admin \(`FROM … AS api`\); it has base, api, workers, admin \(a real deploy stops here\)/);
    const r = await real(c.root);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /Dockerfile: has no build stage named worker/);
    assert.doesNotMatch(r.stdout + r.stderr, /Connect to a manager/);
  });
  it('plan --exit-code exits 1 when a real deploy would stop (no host key, no Dockerfile), 0 otherwise', async () => {
    const c = makeConfig();
    fs.rmSync(`${c.root}/Dockerfile`);
    const p = await plan(c.root, ['--exit-code']);
    assert.equal(p.code, 1, p.stdout + p.stderr);
    assert.match(result(p.stdout + p.stderr), /^result: plan found problems \(exit 1\): dry run: a real deploy would stop on \d+ problem\(s\) above; nothing was changed$/);
    assert.equal((await plan(c.root)).code, 0, 'without --exit-code a plan reviews from anywhere');
  });
  it('prod.env with an unclosed quote is refused naming the line; a key cut short gets did-you-mean as a warning line', async () => {
    const c = makeConfig();
    fs.appendFileSync(c.path('prod.env'), 'DB_NAME="honeydue\n');
    const p = await plan(c.root);
    assert.equal(p.code, 2);
    assert.match(p.stderr, /deploy\/prod\.env:\d+: DB_NAME: the value starts with " that is never closed, so it would be read with the quote as part of it — close it \(DB_NAME="…"\) or remove it/);
    const c2 = makeConfig();
    fs.appendFileSync(c2.path('prod.env'), 'B2_BUCKET=uploads2\n');
    const p2 = await plan(c2.root);
    assert.equal(p2.code, 0, p2.stderr);
    assert.match(p2.stdout, /^warning: deploy\/prod\.env: B2_BUCKET: is not a key the stack or the tool reads — did you mean B2_BUCKET_NAME\? \(as written, B2_BUCKET_NAME is set on its own line too; B2_BUCKET is passed to the services as it is\)$/m);
  });
  it('an environment variable one typo from a toggle (DRYRUN=1, dry_run, SKIPBUILD) stops a real run with exit 2, naming the toggle', async () => {
    for (const [name, meant] of [['DRYRUN', 'DRY_RUN'], ['DRY-RUN', 'DRY_RUN'], ['dry_run', 'DRY_RUN'], ['SKIPBUILD', 'SKIP_BUILD'], ['SKIP_HEALTHCHEK', 'SKIP_HEALTHCHECK']] as const) {
      const c = makeConfig();
      const r = await real(c.root, [], { [name]: '1' });
      assert.equal(r.code, 2, `${name}: ${r.stdout}${r.stderr}`);
      assert.ok(r.stderr.includes(`environment: ${name}: is not a setting — did you mean ${meant}?`), r.stderr);
      assert.doesNotMatch(r.stdout + r.stderr, /Connect to a manager/);
    }
  });
  it('rollback with an id that is not a deploy id: exit 2 before anything else (also as a dry run)', async () => {
    const c = makeConfig();
    const r = await runCli(['rollback', 'not a valid id!', '--deploy-dir', 'deploy'], { cwd: c.root, env: { DRY_RUN: '1' } });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /command line: DEPLOY_ID: "not a valid id!" is not a deploy id — a deploy id is TAG_yyyymmddHHMMSS/);
    assert.doesNotMatch(r.stdout, /releases\/not a valid id/);
  });
  it('wording: a URL as the manager, the default Dockerfile missing, a near-miss of a required key', async () => {
    const c = makeConfig({ 'cluster.env': { DEPLOY_MANAGER_HOST: 'ssh://deploy@10.0.0.5' } });
    const r = await plan(c.root);
    assert.match(r.stderr, /DEPLOY_MANAGER_HOST: "ssh:\/\/deploy@10\.0\.0\.5" is a URL \(ssh:\/\/\) — write the host alone \(host or host:port\); the user goes in DEPLOY_MANAGER_USER/);
    assert.doesNotMatch(r.stderr, /is not a port/);
    const c2 = makeConfig();
    fs.rmSync(`${c2.root}/Dockerfile`);
    const r2 = await real(c2.root);
    assert.match(r2.stderr, /the Dockerfile \(--dockerfile \/ DOCKERFILE, default <context>\/Dockerfile\): Dockerfile does not exist/);
    assert.doesNotMatch(r2.stderr, /command line: --dockerfile/);
    const c3 = makeConfig({ 'prod.env': { DB_SSLMODE: undefined, DB_SSLMOD: 'require' } });
    const r3 = await plan(c3.root);
    assert.match(r3.stderr, /DB_SSLMOD: is not a key the stack or the tool reads — did you mean DB_SSLMODE\? \(as written, DB_SSLMODE is not set\)/);
  });
});

describe('doctor\'s configuration check', () => {
  it('is the deploy\'s own validation: a prod.env a deploy would refuse fails it (exit 1), naming the key', async () => {
    const c = makeConfig({ 'prod.env': { DB_NAME: undefined }, 'cluster.env': { DEPLOY_MANAGER_SSH_PORT: '1' } });
    const r = await runCli(['doctor', '--deploy-dir', 'deploy', '--ssh-timeout', '2'], { cwd: c.root });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^fail +config +deploy\/prod\.env: DB_NAME: .* \(a deploy stops here\)$/m);
    assert.doesNotMatch(r.stdout, /^pass +config/m);
  });
});
