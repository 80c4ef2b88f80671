import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { findHooks, hookEnvironment, hookVariables, runHook } from '../../src/hooks.js';
import { LocalRunner } from '../../src/io/local.js';
import { Redactor } from '../../src/ui/redact.js';
import { tempDir } from '../helpers/tmp.js';

function deployDirWith(files: Record<string, { text: string; mode: number }>): string {
  const dir = tempDir('hd-hooks-');
  fs.mkdirSync(path.join(dir, 'hooks'));
  for (const [n, f] of Object.entries(files)) fs.writeFileSync(path.join(dir, 'hooks', n), f.text, { mode: f.mode });
  return dir;
}

describe('hooks', () => {
  it('executables with a hook name are hooks; samples, dotfiles and READMEs are not; anything else is named as a problem', () => {
    const dir = deployDirWith({
      'pre-deploy': { text: '#!/bin/sh\n', mode: 0o755 },
      'post-deploy': { text: '#!/bin/sh\n', mode: 0o644 },
      'post_rollback': { text: '#!/bin/sh\n', mode: 0o755 },
      'pre-deploy.sample': { text: '#', mode: 0o644 },
      '.keep': { text: '', mode: 0o644 },
      'README.md': { text: '', mode: 0o644 },
    });
    const h = findHooks(dir);
    assert.deepEqual(h.hooks.map((x) => x.name), ['pre-deploy']);
    const hooks = path.join(dir, 'hooks');
    assert.deepEqual(h.problems, [
      `${hooks}/post-deploy: is not executable — run chmod +x ${hooks}/post-deploy (or rename it to post-deploy.sample to keep it unused)`,
      `${hooks}/post_rollback: is not a hook name — did you mean post-rollback? (hooks are pre-deploy, post-deploy, pre-rollback, post-rollback; keep samples as NAME.sample)`,
    ]);
    assert.deepEqual(findHooks(tempDir('hd-nohooks-')), { hooks: [], problems: [] });
  });

  it('the environment: the operator\'s, without what holds a deploy secret, plus HONEYDUE_*', () => {
    const r = new Redactor();
    r.add('s3cr3t-registry-token');
    const env = hookEnvironment({ PATH: '/bin', SLACK_WEBHOOK_URL: 'https://hooks.example/x', LEAK: 'prefix-s3cr3t-registry-token', HONEYDUE_HOOK: 'spoofed' }, r, hookVariables('post-deploy', {
      command: 'deploy', stack: 's', deployId: 'v2_20261202010101', tag: 'v2', manager: 'm1,m2', deployDir: '/d', previousId: 'v1_20261201010101', outcome: 'healthy', exitCode: 0, serving: 'the new release …', servingId: 'v2_20261202010101',
    }));
    assert.equal(env.LEAK, undefined);
    assert.equal(env.SLACK_WEBHOOK_URL, 'https://hooks.example/x');
    assert.equal(env.HONEYDUE_HOOK, 'post-deploy');
    assert.equal(env.HONEYDUE_OUTCOME, 'healthy');
    assert.equal(env.HONEYDUE_EXIT_CODE, '0');
    assert.equal(env.HONEYDUE_SERVING_ID, 'v2_20261202010101');
    assert.equal(env.HONEYDUE_PREVIOUS_ID, 'v1_20261201010101');
    assert.match(env.HONEYDUE_PERFORMER!, /@/);
    // a pre- hook is not told an outcome
    assert.equal(hookVariables('pre-deploy', { command: 'deploy', stack: 's', deployId: 'd', tag: 't', manager: 'm', deployDir: '/d' }).HONEYDUE_OUTCOME, undefined);
  });

  it('runs a hook: its lines as they come, its exit code, a timeout that stops it', async () => {
    const dir = deployDirWith({
      'pre-deploy': { text: '#!/bin/sh\necho "hello $HONEYDUE_TAG"\necho oops >&2\nexit 7\n', mode: 0o755 },
      'post-deploy': { text: '#!/bin/sh\necho started\nsleep 30\n', mode: 0o755 },
    });
    const { hooks } = findHooks(dir);
    const printed: string[] = [];
    const base = { local: new LocalRunner(), deployDir: dir, print: (l: string) => printed.push(l), timeoutSeconds: 1 };
    const pre = await runHook(hooks.find((h) => h.name === 'pre-deploy')!, { ...base, env: { PATH: process.env.PATH!, HONEYDUE_TAG: 'v9' } });
    assert.deepEqual(pre, { ok: false, why: `the pre-deploy hook (${dir}/hooks/pre-deploy) exited with 7; its last lines: hello v9 | oops` });
    const started = Date.now();
    const post = await runHook(hooks.find((h) => h.name === 'post-deploy')!, { ...base, env: { PATH: process.env.PATH! } });
    assert.ok(Date.now() - started < 10_000, 'stopped at the timeout');
    assert.deepEqual(post, { ok: false, why: `the post-deploy hook (${dir}/hooks/post-deploy) did not finish within 1s (DEPLOY_HOOK_TIMEOUT) and was stopped; its last lines: started` });
    assert.deepEqual(printed, ['pre-deploy: hello v9', 'pre-deploy: oops', 'post-deploy: started']);
  });
  it('a hook that exited is judged at once: a background child it left holding the output (setsid sleep 25 &) is not waited for', async () => {
    const dir = deployDirWith({
      'pre-deploy': { text: '#!/bin/sh\necho notifying\nsetsid sleep 25 &\nexit 0\n', mode: 0o755 },
      'post-deploy': { text: '#!/bin/sh\n(sleep 25; echo late) &\necho failing\nexit 3\n', mode: 0o755 },
    });
    const { hooks } = findHooks(dir);
    const printed: string[] = [];
    const base = { local: new LocalRunner(), deployDir: dir, print: (l: string) => printed.push(l), timeoutSeconds: 3, env: { PATH: process.env.PATH! } };
    let started = Date.now();
    assert.deepEqual(await runHook(hooks.find((h) => h.name === 'pre-deploy')!, base), { ok: true });
    assert.ok(Date.now() - started < 2_500, `judged when it exited, not after its child (${Date.now() - started} ms)`);
    started = Date.now();
    assert.deepEqual(await runHook(hooks.find((h) => h.name === 'post-deploy')!, base), { ok: false, why: `the post-deploy hook (${dir}/hooks/post-deploy) exited with 3; its last lines: failing` });
    assert.ok(Date.now() - started < 2_500);
    assert.deepEqual(printed, ['pre-deploy: notifying', 'post-deploy: failing']);
  });
});

describe('hooks and the pre-deploy job in the plan (the CLI)', () => {
  it('the plan lists the hooks and the job; a hook that is not executable stops it, naming the file: exit 2', async () => {
    const { makeConfig, runCli } = await import('../helpers/config.js');
    const cfg = makeConfig({ 'cluster.env': { DEPLOY_MIGRATE_COMMAND: '/app/api migrate', DEPLOY_HOOK_TIMEOUT: '30' } });
    fs.mkdirSync(cfg.path('hooks'));
    fs.writeFileSync(cfg.path('hooks/pre-deploy'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    fs.writeFileSync(cfg.path('hooks/post-deploy'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const r = await runCli(['plan', '--deploy-dir', 'deploy', '--tag', 'v9', '--skip-build'], { cwd: cfg.root });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^ 1\. Run the pre-deploy hook\n {6}local\$ \S+\/deploy\/hooks\/pre-deploy\n {6}# on this machine, before a deploy touches anything on the cluster .*stopped after 30s \(DEPLOY_HOOK_TIMEOUT\)/m);
    assert.match(r.stdout, /^ ?\d+\. Run the pre-deploy job \(DEPLOY_MIGRATE_COMMAND\)$/m);
    assert.match(r.stdout, /manager\$ cd honeydue-deploy\/honeydue\/releases\/v9_\d{14} && docker service create .* registry\.example\.com\/honeydue\/honeydue-api:v9 \/app\/api migrate$/m);
    assert.match(r.stdout, /^ ?\d+\. Run the post-deploy hook$/m);
    fs.chmodSync(cfg.path('hooks/post-deploy'), 0o644);
    const bad = await runCli(['plan', '--deploy-dir', 'deploy', '--tag', 'v9', '--skip-build'], { cwd: cfg.root });
    assert.equal(bad.code, 2);
    assert.ok(bad.stderr.includes(`${cfg.path('hooks/post-deploy')}: is not executable — run chmod +x ${cfg.path('hooks/post-deploy')}`), bad.stderr);
  });

  it('a migrate command holding a secret value is refused (it would be argv on the manager): exit 2, the value never printed', async () => {
    const { makeConfig, runCli, SECRET_VALUES } = await import('../helpers/config.js');
    const secret = SECRET_VALUES['secrets/secret_key.txt']!.toString();
    const cfg = makeConfig({ 'cluster.env': { DEPLOY_MIGRATE_COMMAND: `/app/api migrate --key=${secret}` } });
    const r = await runCli(['plan', '--deploy-dir', 'deploy', '--tag', 'v9', '--skip-build'], { cwd: cfg.root });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /deploy\/cluster\.env: DEPLOY_MIGRATE_COMMAND: holds the value of secrets\/secret_key\.txt — the command is argv on the manager and part of the job's spec: let the job read the secret from \/run\/secrets\/<name> instead/);
    assert.ok(!(r.stdout + r.stderr).includes(secret));
  });

  it('a migrate command whose executed words hold a secret value (escaped or quoted in the file) is refused: exit 2', async () => {
    const { makeConfig, runCli } = await import('../helpers/config.js');
    for (const written of ['/app/api migrate --db-password "Pa\\$\\$w0rd-2024!x"', "/app/api migrate --db-password 'Pa$$w0rd''-2024!x'", '/app/api migrate --db-password Pa\\$\\$w0rd\\-2024!x']) {
      const cfg = makeConfig({ 'cluster.env': { DEPLOY_MIGRATE_COMMAND: written } });
      fs.writeFileSync(cfg.path('secrets/postgres_password.txt'), 'Pa$$w0rd-2024!x\n', { mode: 0o600 });
      const r = await runCli(['plan', '--deploy-dir', 'deploy', '--tag', 'v9', '--skip-build'], { cwd: cfg.root });
      assert.equal(r.code, 2, `${written}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /deploy\/cluster\.env: DEPLOY_MIGRATE_COMMAND: holds the value of secrets\/postgres_password\.txt/);
      assert.ok(!(r.stdout + r.stderr).includes('Pa$$w0rd-2024!x'));
    }
  });

  it('a migrate command only a shell could run is refused with the file and key: exit 2', async () => {
    const { makeConfig, runCli } = await import('../helpers/config.js');
    const cfg = makeConfig({ 'cluster.env': { DEPLOY_MIGRATE_COMMAND: '/app/api migrate && echo done' } });
    const r = await runCli(['plan', '--deploy-dir', 'deploy', '--tag', 'v9', '--skip-build'], { cwd: cfg.root });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /deploy\/cluster\.env: DEPLOY_MIGRATE_COMMAND: has & outside quotes, which only a shell understands — the command is not run by a shell; write sh -c '…' to use one$/m);
  });
});
