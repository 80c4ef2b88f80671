/**
 * Installable like any npm CLI: the packed tarball, installed into an empty folder and globally, runs
 * `--help` and a full plan with the templates found inside the package. Dependencies come from the npm
 * cache that `npm ci` filled (--prefer-offline).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { makeConfig, ROOT } from '../helpers/config.js';
import { tempDir } from '../helpers/tmp.js';

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): { code: number; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', ...env }, timeout: 240_000 });
  return { code: r.status ?? 1, out: `${r.stdout}${r.stderr}` };
}

describe('the npm package', () => {
  const dest = tempDir('hd-pack-');
  let tarball = '';

  it('npm pack holds dist/ and templates/, not the tests or the sandbox', () => {
    assert.ok(fs.existsSync(path.join(ROOT, 'dist', 'cli.js')), 'build first (npm test does)');
    const r = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dest], ROOT);
    assert.equal(r.code, 0, r.out);
    const [info] = JSON.parse(r.out.slice(r.out.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = path.join(dest, info!.filename);
    const files = info!.files.map((f) => f.path);
    for (const f of ['dist/cli.js', 'templates/swarm-stack.yml', 'templates/cluster.env.example', 'templates/secrets/apns_auth_key.p8.example', 'package.json', 'README.md', 'DEPLOYING.md', 'shit_deploy_cant_do.md']) assert.ok(files.includes(f), f);
    assert.ok(!files.some((f) => /^(test|scripts|src|examples)\//.test(f)), files.join(', '));
  });

  it('installed into an empty folder: npx --no-install runs --help and a full plan from the packaged template', () => {
    const app = tempDir('hd-install-');
    fs.writeFileSync(path.join(app, 'package.json'), '{"name":"ops","version":"1.0.0","private":true}\n');
    const install = run('npm', ['install', '--prefer-offline', tarball], app);
    assert.equal(install.code, 0, install.out);
    const help = run('npx', ['--no-install', 'honeydue-deploy', '--help'], app);
    assert.equal(help.code, 0, help.out);
    assert.match(help.out, /DRY_RUN=1 npx --no-install honeydue-deploy/);
    const cfg = makeConfig();
    const plan = run('npx', ['--no-install', 'honeydue-deploy', 'plan', '--deploy-dir', cfg.deployDir, '--tag', 'p1', '--skip-build'], app, { HOME: cfg.root });
    assert.equal(plan.code, 0, plan.out);
    assert.match(plan.out, /^Rendered stack file \(packaged template: checked against docker.s schema by the test suite/m);
    assert.match(plan.out, /result: ok \(exit 0\): dry run/);
    // init finds the examples inside the installed package
    const init = run(path.join(app, 'node_modules', '.bin', 'honeydue-deploy'), ['init', '--deploy-dir', path.join(app, 'deploy')], app);
    assert.equal(init.code, 0, init.out);
    assert.ok(fs.existsSync(path.join(app, 'deploy', 'secrets', 'apns_auth_key.p8')));
  });

  it('npm install -g works too', () => {
    const prefix = tempDir('hd-global-');
    const install = run('npm', ['install', '-g', '--prefer-offline', '--prefix', prefix, tarball], prefix);
    assert.equal(install.code, 0, install.out);
    const help = run(path.join(prefix, 'bin', 'honeydue-deploy'), ['--version'], prefix);
    assert.equal(help.code, 0, help.out);
    assert.equal(help.out.trim(), JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  });
});
