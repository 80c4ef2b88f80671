import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { lintStack, parseStack, renderParsed, renderStack, STACK_VARIABLES, type StackVariable } from '../../../src/stack/render.js';
import { tempDir } from '../../helpers/tmp.js';

const TEMPLATE = fs.readFileSync(path.join(import.meta.dirname, '../../../templates/swarm-stack.yml'), 'utf8');
const VARS = Object.fromEntries(STACK_VARIABLES.map((v) => [v, `v-${v.toLowerCase()}`])) as Record<StackVariable, string>;
Object.assign(VARS, {
  API_IMAGE: 'reg.example.com/honeydue-api:t1', WORKER_IMAGE: 'reg.example.com/honeydue-worker:t1', ADMIN_IMAGE: 'reg.example.com/honeydue-admin:t1',
  API_REPLICAS: '3', WORKER_REPLICAS: '1', ADMIN_REPLICAS: '2', DOZZLE_PORT: '9999', REDIS_IMAGE: 'redis:7-alpine', DOZZLE_IMAGE: 'amir20/dozzle:v8.12.4',
});

/** docker's own schema check, the same as `docker stack deploy` applies. */
function dockerStackConfig(text: string): { code: number; stderr: string; stdout: string } {
  const dir = tempDir('hd-render-');
  fs.writeFileSync(path.join(dir, 'swarm-stack.yml'), text);
  fs.writeFileSync(path.join(dir, 'prod.env'), 'B2_ENDPOINT=x\n');
  const r = spawnSync('docker', ['stack', 'config', '-c', path.join(dir, 'swarm-stack.yml')], { encoding: 'utf8' });
  return { code: r.status ?? 1, stderr: r.stderr, stdout: r.stdout };
}

// docker's schema check needs a docker CLI; CI always has one, elsewhere say why it is skipped
const dockerCli = spawnSync('docker', ['stack', 'config', '--help'], { encoding: 'utf8' }).status === 0;
const noDocker = dockerCli || process.env.CI === 'true' ? false : 'no docker CLI with `docker stack config` on this machine';

describe('the packaged stack template', () => {
  const rendered = renderStack(TEMPLATE, VARS, 'swarm-stack.yml');
  const doc = YAML.parse(rendered.text, { merge: true }) as any;

  it('renders without problems and records each service image', () => {
    assert.deepEqual(rendered.problems, []);
    assert.deepEqual(rendered.images, {
      api: VARS.API_IMAGE, worker: VARS.WORKER_IMAGE, admin: VARS.ADMIN_IMAGE, redis: VARS.REDIS_IMAGE, dozzle: VARS.DOZZLE_IMAGE,
    });
  });

  it('passes the real `docker stack config`', { skip: noDocker }, () => {
    const r = dockerStackConfig(rendered.text);
    assert.equal(r.code, 0, r.stderr);
  });

  it('docker stack config rejects it once a host_ip is added, and so does the lint', { skip: noDocker }, () => {
    const bad = rendered.text.replace('        published: 8000\n', '        published: 8000\n        host_ip: 127.0.0.1\n');
    const r = dockerStackConfig(bad);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /host_ip/);
    assert.equal(lintStack(bad, 'f').length, 1);
  });

  it('replicas become integers, as docker casts them', () => {
    assert.equal(doc.services.api.deploy.replicas, 3);
    assert.equal(doc.services.admin.deploy.replicas, 2);
  });

  it('an alias to an interpolated value standing where docker casts is cast there, as docker does (and docker accepts it)', () => {
    const aliased = TEMPLATE.replace('services:\n', 'x-r: &r ${API_REPLICAS}\n\nservices:\n').replace('      replicas: ${API_REPLICAS}\n', '      replicas: *r\n');
    assert.notEqual(aliased, TEMPLATE);
    const r = renderStack(aliased, VARS, 'swarm-stack.yml');
    assert.deepEqual(r.problems, []);
    assert.equal((YAML.parse(r.text, { merge: true }) as any).services.api.deploy.replicas, 3);
    if (!noDocker) assert.equal(dockerStackConfig(r.text).code, 0, dockerStackConfig(r.text).stderr);
  });

  it('has limits and reservations on every service, and a 60s grace period on api/worker/admin', () => {
    for (const [name, svc] of Object.entries<any>(doc.services)) {
      assert.ok(svc.deploy.resources.limits.memory && svc.deploy.resources.limits.cpus, `${name} limits`);
      assert.ok(svc.deploy.resources.reservations.memory, `${name} reservations`);
    }
    for (const s of ['api', 'worker', 'admin']) assert.equal(doc.services[s].stop_grace_period, '60s');
  });

  it('health checks: api endpoint, worker :6060/health, admin /api/health', () => {
    assert.match(doc.services.api.healthcheck.test.join(' '), /:8000\/api\/health/);
    assert.match(doc.services.worker.healthcheck.test.join(' '), /:6060\/health/);
    assert.match(doc.services.admin.healthcheck.test.join(' '), /\/api\/health/);
  });

  it('redis: 200 MB allkeys-lru, AOF everysec on a named volume', () => {
    const cmd = doc.services.redis.command.join(' ');
    assert.match(cmd, /--maxmemory 200mb/);
    assert.match(cmd, /--maxmemory-policy allkeys-lru/);
    assert.match(cmd, /--appendonly yes/);
    assert.match(cmd, /--appendfsync everysec/);
    assert.deepEqual(doc.services.redis.volumes, ['redis-data:/data']);
    assert.ok('redis-data' in doc.volumes);
  });

  it('an encrypted overlay network; the uploads volume as local fallback; B2 reaches api through prod.env', () => {
    assert.deepEqual(doc.networks.backend, { driver: 'overlay', driver_opts: { encrypted: 'true' } });
    assert.ok('uploads' in doc.volumes);
    assert.ok(doc.services.api.volumes.includes('uploads:/app/uploads'));
    assert.equal(doc.services.api.env_file, 'prod.env');
  });

  it('secrets are external and named by the versioned variables', () => {
    for (const [key, variable] of [['postgres_password', 'POSTGRES_PASSWORD_SECRET'], ['apns_auth_key', 'APNS_AUTH_KEY_SECRET']] as const) {
      assert.deepEqual(doc.secrets[key], { external: true, name: VARS[variable] });
    }
    assert.equal(doc.services.api.secrets.length, 5);
  });

  it('updates: rollback on failure, a monitor window, and a rollback_config; api start-first', () => {
    for (const s of ['api', 'worker', 'admin']) {
      const u = doc.services[s].deploy.update_config;
      assert.equal(u.failure_action, 'rollback');
      assert.ok(u.monitor);
      assert.ok(doc.services[s].deploy.rollback_config);
    }
    assert.equal(doc.services.api.deploy.update_config.order, 'start-first');
  });

  it('admin is published in host mode (not the ingress mesh, which bypasses host firewalls), hence stop-first', () => {
    assert.equal(doc.services.admin.ports[0].mode, 'host');
    assert.equal(doc.services.admin.deploy.update_config.order, 'stop-first');
    assert.equal(doc.services.admin.deploy.rollback_config.order, 'stop-first');
  });

  it('the worker is stop-first on update and on rollback: never two schedulers at once', () => {
    assert.equal(doc.services.worker.deploy.update_config.order, 'stop-first');
    assert.equal(doc.services.worker.deploy.rollback_config.order, 'stop-first');
    assert.equal(doc.services.worker.deploy.update_config.failure_action, 'rollback');
  });

  it('redis and dozzle images come from REDIS_IMAGE and DOZZLE_IMAGE', () => {
    const r = renderStack(TEMPLATE, { ...VARS, REDIS_IMAGE: 'mirror.example.com/redis:7', DOZZLE_IMAGE: 'mirror.example.com/dozzle:v8' }, 'f');
    assert.equal(r.images.redis, 'mirror.example.com/redis:7');
    assert.equal(r.images.dozzle, 'mirror.example.com/dozzle:v8');
  });

  it('dozzle: the external host network, 127.0.0.1:${DOZZLE_PORT}, on a manager, stop-first, no host_ip', () => {
    const d = doc.services.dozzle;
    assert.deepEqual(d.networks, ['hostnet']);
    assert.deepEqual(doc.networks.hostnet, { external: true, name: 'host' });
    assert.equal(d.environment.DOZZLE_ADDR, '127.0.0.1:9999');
    assert.deepEqual(d.deploy.placement.constraints, ['node.role == manager']);
    assert.equal(d.deploy.update_config.order, 'stop-first');
    assert.equal(d.ports, undefined);
    assert.deepEqual(lintStack(TEMPLATE, 'f'), []);
  });
});

describe('parseStack and renderParsed', () => {
  it('one parse gives the lint and the rendering, the same as rendering the text', () => {
    const text = 'services:\n  api:\n    image: ${API_IMAGE}\n    ports:\n      - published: 8000\n        host_ip: 127.0.0.1\n';
    const parsed = parseStack(text, 'own.yml');
    assert.deepEqual(parsed.problems, lintStack(text, 'own.yml'));
    assert.equal(parsed.problems.length, 1);
    assert.deepEqual(renderParsed(parsed, VARS), renderStack(text, VARS, 'own.yml'));
  });
  it('a parsed file is rendered once (it is rendered in place)', () => {
    const parsed = parseStack(TEMPLATE, 'f');
    renderParsed(parsed, VARS);
    assert.throws(() => renderParsed(parsed, VARS), /f: a parsed stack file is rendered once; parse it again for another release/);
  });
  it('a syntax error is the only problem reported, by the parse and by the rendering', () => {
    const parsed = parseStack('services:\n  api: [\n', 'bad.yml');
    assert.equal(parsed.problems.length, 1);
    assert.match(parsed.problems[0]!, /^bad\.yml: .* — fix the YAML syntax$/);
    assert.deepEqual(renderParsed(parsed, VARS).problems, parsed.problems);
  });
});

describe('renderStack', () => {
  it('leaves comments and keys alone and escapes dollars for docker', () => {
    const r = renderStack('# ${NOT_A_VAR} in a comment\nservices:\n  api:\n    image: ${API_IMAGE}\n    environment:\n      X: "$$literal"\n', { ...VARS, API_IMAGE: 'img:$weird' }, 'f');
    assert.deepEqual(r.problems, []);
    assert.match(r.text, /# \$\{NOT_A_VAR\} in a comment/);
    assert.match(r.text, /image: "img:\$\$weird"/);
    assert.match(r.text, /X: "\$\$literal"/);
    assert.equal(r.images.api, 'img:$weird');
  });
  it('an interpolated value stays a string, whatever it looks like (all-digit SHAs, 1.10, 1e5, on, null)', () => {
    for (const tag of ['0803128', '1.10', '12e4567', '0x1F', '1_000', '.5', 'on', 'no', 'null', '~', 'true']) {
      const r = renderStack('services:\n  api:\n    image: ${API_IMAGE}\n    environment:\n      DEPLOY_TAG: ${DEPLOY_TAG}\n', { ...VARS, DEPLOY_TAG: tag }, 'f');
      assert.deepEqual(r.problems, []);
      assert.equal((YAML.parse(r.text) as any).services.api.environment.DEPLOY_TAG, tag, tag);
      assert.match(r.text, new RegExp(`DEPLOY_TAG: "${tag.replace(/[.]/g, '\\.')}"`));
    }
  });
  it('where docker casts (replicas, ports, external, …) the value is the number or boolean docker makes of it', () => {
    const r = renderStack('services:\n  api:\n    image: x\n    deploy:\n      replicas: ${API_REPLICAS}\n    ports:\n      - target: 8000\n        published: ${DOZZLE_PORT}\nnetworks:\n  n:\n    external: ${EXT:-yes}\n', VARS, 'f');
    assert.deepEqual(r.problems, []);
    const doc = YAML.parse(r.text) as any;
    assert.equal(doc.services.api.deploy.replicas, 3);
    assert.equal(doc.services.api.ports[0].published, 9999);
    assert.equal(doc.networks.n.external, true);
    assert.deepEqual(renderStack('services:\n  api:\n    image: x\n    deploy:\n      replicas: ${N:-three}\n', VARS, 'f').problems, [
      'f:5: services.api.deploy.replicas: "three" is not a valid number here — docker stack deploy would reject it',
    ]);
  });
  it('compose defaults for variables the tool does not provide; unknown ones without a default are refused with file and line', () => {
    const text = 'services:\n  api:\n    image: ${API_IMAGE}\n    environment:\n      SSL: ${DB_SSLMODE:-require}\n      B2: ${B2_ENDPOINT}\n';
    const r = renderStack(text, VARS, 'deploy/swarm-stack.yml');
    assert.deepEqual(r.problems, [
      'deploy/swarm-stack.yml:6: services.api.environment.B2: ${B2_ENDPOINT}: B2_ENDPOINT is neither a variable honeydue-deploy provides nor given a default — give it one (${B2_ENDPOINT:-value}) or remove it',
    ]);
    assert.equal((YAML.parse(r.text) as any).services.api.environment.SSL, 'require');
  });
  it('reports a file without services and a service without image', () => {
    assert.deepEqual(renderStack('version: "3.8"\n', VARS, 'my.yml').problems, ['my.yml: services: the stack file defines no services — add the api, worker and admin services']);
    assert.deepEqual(renderStack('services:\n  api:\n    command: x\n', VARS, 'my.yml').problems, ['my.yml: services.api.image: is not set — every service needs an image']);
  });
});

describe('the rendered file as data', () => {
  it('is taken from the rendered document, and equals a parse of the rendered text (no second parse in a plan)', async () => {
    const YAML = (await import('yaml')).default;
    const { parseStack, renderParsed } = await import('../../../src/stack/render.js');
    const { stackDoc } = await import('../../../src/stack/services.js');
    const fsm = await import('node:fs');
    for (const f of ['templates/swarm-stack.yml', 'test/fixtures/swarm-stack.yml']) {
      const vars = Object.fromEntries(['API_IMAGE', 'WORKER_IMAGE', 'ADMIN_IMAGE', 'DEPLOY_TAG', 'DEPLOY_ID', 'STACK_NAME', 'REDIS_IMAGE', 'DOZZLE_IMAGE', 'POSTGRES_PASSWORD_SECRET', 'SECRET_KEY_SECRET', 'EMAIL_HOST_PASSWORD_SECRET', 'FCM_SERVER_KEY_SECRET', 'APNS_AUTH_KEY_SECRET'].map((n) => [n, `v-${n.toLowerCase()}`]));
      const r = renderParsed(parseStack(fsm.readFileSync(f, 'utf8'), f), { ...vars, API_REPLICAS: '3', WORKER_REPLICAS: '1', ADMIN_REPLICAS: '1', DOZZLE_PORT: '9999' } as Parameters<typeof renderParsed>[1]);
      assert.deepEqual(stackDoc(r.text), YAML.parse(r.text, { merge: true }), f);
    }
  });
});
