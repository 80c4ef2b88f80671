/** The pre-deploy job copies the api service of the rendered stack file: its command value is checked exactly. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/index.js';
import { resolveSettings } from '../../../src/config/settings.js';
import { buildRelease } from '../../../src/release.js';
import { createJob, jobStatus, removeJob } from '../../../src/commands/job.js';
import { showEntry } from '../../../src/steps/context.js';
import { jobSpec, parseLook, plan } from '../../../src/steps/migrate.js';
import { JOB_LOG_MARK } from '../../../src/commands/job.js';
import { activeSteps } from '../../../src/pipeline.js';
import { makeConfig } from '../../helpers/config.js';

function planCtx(cluster: Record<string, string | undefined> = {}) {
  const c = makeConfig({ 'cluster.env': { DEPLOY_MIGRATE_COMMAND: `/app/api migrate --dsn-from-env "a b"`, DEPLOY_MIGRATE_TIMEOUT: '90', ...cluster } });
  const cfg = loadConfig(c.deployDir);
  const settings = resolveSettings({ deployDir: c.deployDir, tag: 'v9' }, {}, { plan: true });
  const release = buildRelease(cfg, settings, {}, { sha: 'abc1234', dirty: false }, new Date('2026-11-27T10:00:00Z'));
  return { cfg, settings, release };
}

describe('the pre-deploy job', () => {
  it('the new api image, its secrets, prod.env, environment, network, volumes, placement and limits; the command replaces CMD', () => {
    const ctx = planCtx();
    const id = ctx.release.deployId;
    const j = jobSpec(ctx);
    assert.deepEqual(createJob(j), {
      where: 'manager',
      cwd: `honeydue-deploy/honeydue/releases/${id}`,
      argv: [
        'docker', 'service', 'create', '--detach', '--quiet', '--with-registry-auth', '--name', 'honeydue_hd-migrate',
        '--mode', 'replicated', '--replicas', '1', '--restart-condition', 'none',
        '--label', 'com.honeydue.deploy.stack=honeydue', '--label', 'com.honeydue.deploy.kind=migrate', '--label', `com.honeydue.deploy.id=${id}`,
        '--env-file', 'prod.env',
        '--env', 'DEPLOY_TAG=v9', '--env', `DEPLOY_ID=${id}`, '--env', 'REDIS_URL=redis://redis:6379/0',
        '--env', 'POSTGRES_PASSWORD_FILE=/run/secrets/postgres_password', '--env', 'SECRET_KEY_FILE=/run/secrets/secret_key',
        '--env', 'EMAIL_HOST_PASSWORD_FILE=/run/secrets/email_host_password', '--env', 'FCM_SERVER_KEY_FILE=/run/secrets/fcm_server_key',
        '--env', 'APNS_AUTH_KEY_PATH=/run/secrets/apns_auth_key', '--env', 'PORT=8000',
        '--secret', `source=honeydue_postgres_password_${id},target=postgres_password`,
        '--secret', `source=honeydue_secret_key_${id},target=secret_key`,
        '--secret', `source=honeydue_email_host_password_${id},target=email_host_password`,
        '--secret', `source=honeydue_fcm_server_key_${id},target=fcm_server_key`,
        '--secret', `source=honeydue_apns_auth_key_${id},target=apns_auth_key`,
        '--network', 'honeydue_backend', '--mount', 'type=volume,source=honeydue_uploads,target=/app/uploads',
        '--limit-cpu', '1.0', '--limit-memory', '512M',
        'registry.example.com/honeydue/honeydue-api:v9', '/app/api', 'migrate', '--dsn-from-env', 'a b',
      ],
    });
    // no secret value anywhere in what is shown
    const shown = plan(ctx).entries.map(showEntry).join('\n');
    for (const f of ctx.cfg.secrets) assert.ok(!shown.includes(f.data.toString('utf8').trim().slice(0, 12)), f.file);
    assert.match(shown, /DEPLOY_MIGRATE_TIMEOUT 90s; Ctrl-C stops it/);
    assert.ok(shown.includes(`manager$ ${removeJob('honeydue_hd-migrate').argv.join(' ')}`));
    assert.ok(shown.includes(showEntry({ kind: 'command', command: jobStatus('honeydue_hd-migrate') })));
  });

  it('is in the deploy between the secrets and the stack deploy, only when configured', () => {
    const titles = (ctx: ReturnType<typeof planCtx>) => activeSteps(ctx).map((s) => s.plan(ctx).title);
    const on = titles(planCtx());
    assert.equal(on.indexOf('Run the pre-deploy job (DEPLOY_MIGRATE_COMMAND)'), on.indexOf('Create versioned secrets') + 1);
    assert.equal(on[on.indexOf('Run the pre-deploy job (DEPLOY_MIGRATE_COMMAND)') + 1], 'Deploy the stack');
    assert.ok(!titles(planCtx({ DEPLOY_MIGRATE_COMMAND: '' })).some((t) => /pre-deploy job/.test(t)));
  });

  it('its output in the order written: stdout and stderr come back apart, their times put them in order', () => {
    const look = parseLook(
      `Failed 2 seconds ago|task: non-zero exit (3)\n${JOB_LOG_MARK}\n` +
        '2026-12-02T01:34:52.5Z boom\n2026-12-02T01:34:52.123456789Z step one\n2026-12-02T01:34:53Z last\nerror from docker itself\n',
    );
    assert.equal(look.state, 'Failed 2 seconds ago');
    assert.equal(look.error, 'task: non-zero exit (3)');
    assert.deepEqual(look.log, ['step one', 'boom', 'last', 'error from docker itself']);
  });
});
