import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { lintStack, renderStack, STACK_VARIABLES, type StackVariable } from '../../../src/stack/render.js';
import { tempDir } from '../../helpers/tmp.js';

const TEMPLATE = fs.readFileSync(path.join(import.meta.dirname, '../../../templates/swarm-stack.yml'), 'utf8');
const VARS = Object.fromEntries(STACK_VARIABLES.map((v) => [v, `v-${v.toLowerCase()}`])) as Record<StackVariable, string>;
Object.assign(VARS, {
  API_IMAGE: 'reg.example.com/honeydue-api:t1', WORKER_IMAGE: 'reg.example.com/honeydue-worker:t1', ADMIN_IMAGE: 'reg.example.com/honeydue-admin:t1',
  API_REPLICAS: '3', WORKER_REPLICAS: '1', ADMIN_REPLICAS: '2', DOZZLE_PORT: '9999',
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
  const doc = YAML.parse(rendered.text) as any;

  it('renders without problems and records each service image', () => {
    assert.deepEqual(rendered.problems, []);
    assert.deepEqual(rendered.images, {
      api: VARS.API_IMAGE, worker: VARS.WORKER_IMAGE, admin: VARS.ADMIN_IMAGE, redis: 'redis:7-alpine', dozzle: 'amir20/dozzle:v8.12.4',
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

  it('numbers become integers, as docker would cast them', () => {
    assert.equal(doc.services.api.deploy.replicas, 3);
    assert.equal(doc.services.admin.deploy.replicas, 2);
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

  it('updates: rollback on failure, start-first, a monitor window, and a rollback_config', () => {
    for (const s of ['api', 'worker', 'admin']) {
      const u = doc.services[s].deploy.update_config;
      assert.equal(u.failure_action, 'rollback');
      assert.equal(u.order, 'start-first');
      assert.ok(u.monitor);
      assert.ok(doc.services[s].deploy.rollback_config);
    }
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

describe('renderStack', () => {
  it('leaves comments and keys alone and escapes dollars for docker', () => {
    const r = renderStack('# ${NOT_A_VAR} in a comment\nservices:\n  api:\n    image: ${API_IMAGE}\n    environment:\n      X: "$$literal"\n', { ...VARS, API_IMAGE: 'img:$weird' }, 'f');
    assert.deepEqual(r.problems, []);
    assert.match(r.text, /# \$\{NOT_A_VAR\} in a comment/);
    assert.match(r.text, /image: img:\$\$weird/);
    assert.match(r.text, /X: "\$\$literal"/);
    assert.equal(r.images.api, 'img:$weird');
  });
  it('reports unknown variables with the file, and a file without services', () => {
    assert.deepEqual(renderStack('services:\n  api:\n    image: ${NOPE}\n', VARS, 'my.yml').problems[0]?.startsWith('my.yml: ${NOPE}: is not a variable'), true);
    assert.deepEqual(renderStack('version: "3.8"\n', VARS, 'my.yml').problems, ['my.yml: services: the stack file defines no services — add the api, worker and admin services']);
    assert.deepEqual(renderStack('services:\n  api:\n    command: x\n', VARS, 'my.yml').problems, ['my.yml: services.api.image: is not set — every service needs an image']);
  });
});
