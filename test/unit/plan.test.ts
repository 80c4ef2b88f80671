import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { resolveSettings } from '../../src/config/settings.js';
import { buildPlan, planJson, printPlan } from '../../src/plan.js';
import { buildRelease } from '../../src/release.js';
import { makeConfig, runCli, SECRET_VALUES, VALID } from '../helpers/config.js';

const SECRET_TEXTS = [
  ...Object.values(SECRET_VALUES).flatMap((b) => b.toString('utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length >= 6 && !l.startsWith('-----'))),
  VALID['registry.env']!.REGISTRY_TOKEN!,
  VALID['prod.env']!.B2_APP_KEY!,
];

function planCtx() {
  const cfg = makeConfig();
  const settings = resolveSettings({ deployDir: cfg.deployDir, tag: 'v9' }, {}, { plan: true });
  const config = loadConfig(cfg.deployDir);
  const release = buildRelease(config, settings, {}, { sha: 'abc1234', dirty: false }, new Date('2026-11-27T10:00:00Z'));
  return { cfg: config, settings, release };
}

describe('the plan', () => {
  it('lists every step with the exact commands, in pipeline order', () => {
    const plan = buildPlan(planCtx());
    assert.deepEqual(plan.before.map((s) => s.title), [
      'Connect to a manager', 'Check the swarm nodes', 'Take the deploy lock (one for the whole cluster)', 'Read the known-good release', 'Ask the health URL once, before anything changes', 'Log in to the registry (laptop and manager)', 'Build and push images',
      'Verify the images are in the registry', 'Record the release and upload its folder', 'Create versioned secrets', 'Deploy the stack', 'Wait for convergence', 'Health check',
      'Mark the release known-good; then prune old releases and secret versions side by side',
    ]);
    assert.deepEqual(plan.always.map((s) => s.title), ['Log out of the registry and remove the private docker configs (always, also after a failure)', 'Append the run to the audit trail (always)', 'Release the deploy lock (always)']);
  });

  it('carries secrets only as stdin marked secret: no argv, no text, no JSON holds a secret value', () => {
    const ctx = planCtx();
    const plan = buildPlan(ctx);
    const commands = [...plan.before, ...plan.onFailure, ...plan.always].flatMap((s) => s.entries).flatMap((e) => (e.kind === 'command' ? [e.command] : []));
    const secretCommands = commands.filter((c) => c.stdin?.secret);
    assert.equal(secretCommands.length, 5 + 2 + 1, 'five secrets, two logins and the spec a rollback may put back (it holds prod.env)');
    for (const c of commands) for (const s of SECRET_TEXTS) assert.ok(!c.argv.join(' ').includes(s), `argv holds a secret: ${c.argv.join(' ')}`);
    const lines: string[] = [];
    printPlan(ctx, (l) => lines.push(l));
    const text = lines.join('\n');
    const json = JSON.stringify(planJson(ctx));
    for (const s of SECRET_TEXTS) {
      assert.ok(!text.includes(s), `plan text holds ${s}`);
      assert.ok(!json.includes(s), `plan JSON holds ${s}`);
    }
    assert.match(text, /docker secret create .* honeydue_postgres_password_v9_20261127100000 - < \[redacted: secrets\/postgres_password.txt\]/);
  });

  it('shows backend, images, replicas, budget, secret names, keep rule, health URL and the failure behaviour', () => {
    const lines: string[] = [];
    printPlan(planCtx(), (l) => lines.push(l));
    const text = lines.join('\n');
    for (const re of [
      /^storage backend: S3-compatible/m, /honeydue-api:v9$/m, /^replicas: api 3, worker 1, admin 1$/m, /= 100 peak open connections/, /-> honeydue_apns_auth_key_v9_20261127100000$/m,
      /keep the newest 3 versions/, /^health check: https:\/\/api.example.com\/api\/health\/$/m, /^on failure: roll back/m, /Rendered stack file/,
    ]) assert.match(text, re);
  });

  it('says the one-node rule for the local volume is checked at preflight against the node list', () => {
    const cfg = makeConfig({ 'prod.env': { B2_ENDPOINT: '', B2_KEY_ID: '', B2_APP_KEY: '', B2_BUCKET_NAME: '' } });
    const settings = resolveSettings({ deployDir: cfg.deployDir, tag: 'v9' }, {}, { plan: true });
    const config = loadConfig(cfg.deployDir);
    const release = buildRelease(config, settings, {}, { sha: 'abc1234', dirty: false }, new Date('2026-11-27T10:00:00Z'));
    const nodes = buildPlan({ cfg: config, settings, release }).before.find((st) => st.title === 'Check the swarm nodes')!;
    assert.ok(nodes.entries.some((e) => e.kind === 'note' && /API_REPLICAS=3 with the local uploads volume: allowed on a one-node swarm only — checked here against the manager's node list/.test(e.text)));
  });

  it('credentials in the health URL never print, percent-encoded or not, in text or JSON', async () => {
    for (const url of ['https://monitor:S3cr%23t-pa55@api.example.com/health', 'https://tok3n-abcdef123@api.example.com/health', 'https://mon:Pa55%22word-x@api.example.com/h']) {
      const cfg = makeConfig({ 'cluster.env': { DEPLOY_HEALTHCHECK_URL: url } });
      const creds = new URL(url);
      const forms = [creds.username, creds.password, decodeURIComponent(creds.password)].filter((f) => f.length >= 6);
      for (const args of [['plan'], ['plan', '--json']]) {
        const r = await runCli([...args, '--deploy-dir', 'deploy', '--tag', 'v9'], { cwd: cfg.root });
        assert.equal(r.code, 0, r.stderr);
        for (const f of forms) assert.ok(!(r.stdout + r.stderr).includes(f), `${f} printed by ${args.join(' ')}`);
        for (const f of forms) assert.ok(!(r.stdout + r.stderr).includes(JSON.stringify(f).slice(1, -1)), `${f} printed JSON-escaped`);
      }
    }
  });

  it('JSON: the same plan, parseable, with redacted stdin', () => {
    const json = planJson(planCtx()) as any;
    assert.equal(json.deployId, 'v9_20261127100000');
    assert.equal(json.storage, 's3');
    const create = json.steps.find((st: any) => st.title === 'Create versioned secrets').entries[0];
    assert.deepEqual(create.stdin, { secret: true, label: 'secrets/postgres_password.txt', value: '[redacted]' });
    assert.equal(json.connectionBudget.total, 100);
  });

  it('`plan --json` through the CLI prints only JSON on stdout and exits 0', async () => {
    const cfg = makeConfig();
    const r = await runCli(['plan', '--json', '--deploy-dir', 'deploy', '--tag', 'v9'], { cwd: cfg.root });
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout);
    assert.equal(json.tag, 'v9');
    assert.match(r.stderr.trim(), /^result: ok \(exit 0\): dry run/);
    for (const s of SECRET_TEXTS) assert.ok(!r.stdout.includes(s) && !r.stderr.includes(s));
  });

  it('with --json, warnings go to stderr and into the JSON; stdout stays one JSON document', async () => {
    const cfg = makeConfig({ 'prod.env': { DB_CONNECTION_LIMIT: '50' } });
    const r = await runCli(['plan', '--json', '--deploy-dir', 'deploy', '--tag', 'v9', '--context', 'elsewhere'], { cwd: cfg.root });
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as { warnings: string[] };
    // the budget, the missing context, and this machine's side of SSH (no host key, no key: the test's HOME is empty)
    assert.match(json.warnings[0]!, /DB_CONNECTION_LIMIT/);
    assert.ok(json.warnings.some((w) => /--context: elsewhere is not a folder/.test(w)));
    assert.ok(json.warnings.some((w) => /^\[127\.0\.0\.1\]:2222: no host key for it in .*known_hosts — check its fingerprint on that host, then trust it: ssh-keyscan -p 2222 127\.0\.0\.1 >> .*\(a real deploy stops here\)$/.test(w)), json.warnings.join('\n'));
    assert.ok(json.warnings.some((w) => /^deploy@127\.0\.0\.1:2222: no key to log in with: DEPLOY_SSH_KEY is not set, no ssh-agent is named \(SSH_AUTH_SOCK is unset\), and none of \S+\/id_rsa, .* can be read/.test(w)), json.warnings.join('\n'));
  });

  it('a password in the health URL is redacted from the plan', async () => {
    const cfg = makeConfig({ 'cluster.env': { DEPLOY_HEALTHCHECK_URL: 'https://probe:s3cr3t-probe-pw@api.example.com/api/health/' } });
    const r = await runCli(['plan', '--deploy-dir', 'deploy', '--tag', 'v9'], { cwd: cfg.root });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes('s3cr3t-probe-pw'));
    assert.match(r.stdout, /^health check: https:\/\/probe:\[redacted\]@api\.example\.com\/api\/health\/$/m);
  });

  it('a budget that reaches DB_CONNECTION_LIMIT is warned about', async () => {
    const cfg = makeConfig({ 'prod.env': { DB_CONNECTION_LIMIT: '100' } });
    const r = await runCli(['plan', '--deploy-dir', 'deploy', '--tag', 'v9'], { cwd: cfg.root });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /warning: prod.env: DB_MAX_OPEN_CONNS: the peak of 100 connections reaches DB_CONNECTION_LIMIT 100; .* lower DB_MAX_OPEN_CONNS \(e\.g\. 15 on Neon's free tier\)/);
  });

  it('a plan can be reviewed anywhere: a missing build context is a warning there, and an error for a real deploy', async () => {
    const cfg = makeConfig();
    const r = await runCli(['plan', '--deploy-dir', 'deploy', '--tag', 'v9', '--context', 'elsewhere'], { cwd: cfg.root });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^warning: command line: --context: elsewhere is not a folder — .* \(a real deploy stops here\)$/m);
  });

  it('the local volume backend is named when B2 is empty', async () => {
    const cfg = makeConfig({ 'prod.env': { B2_ENDPOINT: '', B2_KEY_ID: '', B2_APP_KEY: '', B2_BUCKET_NAME: '' }, 'cluster.env': { API_REPLICAS: '1' } });
    const r = await runCli(['plan', '--deploy-dir', 'deploy', '--tag', 'v9'], { cwd: cfg.root });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^storage backend: local volume \(uploads\)$/m);
  });
});
