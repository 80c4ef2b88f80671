/** Stacks that cost users answers during an update: warnings naming the service and the fix. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { downtimeWarnings, seconds } from '../../../src/stack/downtime.js';
import { parseStack, renderParsed } from '../../../src/stack/render.js';

const svc = (o: Record<string, unknown>) => ({ services: { api: { image: 'r/api:v1', ports: ['8000:8000'], healthcheck: { test: ['CMD', 'true'] }, stop_grace_period: '60s', deploy: { update_config: { order: 'start-first' } }, ...o } } });

describe('downtime warnings', () => {
  it('the packaged template: the api passes; admin (host-mode port, one task) is warned with why and how to avoid the gap', () => {
    const vars = Object.fromEntries(['API_IMAGE', 'WORKER_IMAGE', 'ADMIN_IMAGE', 'DEPLOY_TAG', 'DEPLOY_ID', 'STACK_NAME', 'REDIS_IMAGE', 'DOZZLE_IMAGE', 'POSTGRES_PASSWORD_SECRET', 'SECRET_KEY_SECRET', 'EMAIL_HOST_PASSWORD_SECRET', 'FCM_SERVER_KEY_SECRET', 'APNS_AUTH_KEY_SECRET'].map((n) => [n, `r/${n.toLowerCase()}:v1`]));
    const r = renderParsed(parseStack(fs.readFileSync('templates/swarm-stack.yml', 'utf8'), 't'), { ...vars, REDIS_IMAGE: 'redis:7-alpine', DOZZLE_IMAGE: 'amir20/dozzle:v8.12.4', API_REPLICAS: '3', WORKER_REPLICAS: '1', ADMIN_REPLICAS: '1', DOZZLE_PORT: '9999' } as Parameters<typeof renderParsed>[1]);
    const w = downtimeWarnings(YAML.parse(r.text, { merge: true }));
    assert.deepEqual(w.map((x) => x.split(':')[0]), ['admin']);
    assert.match(w[0]!, /admin: publishes 3000 in host mode and is updated stop-first \(two tasks cannot hold one host port on a node\): .* accept the gap \(an admin UI\), or run it on more nodes than replicas \(deploy\.placement\.max_replicas_per_node: 1\) with order: start-first/);
  });
  it('a published service updated stop-first, with no order, without a healthcheck, with a short grace period; an image on :latest', () => {
    assert.match(downtimeWarnings(svc({ deploy: { update_config: { order: 'stop-first' } } })).join('\n'), /^api: publishes 8000 and is updated stop-first: each task stops before its replacement starts, a gap in answers on every update — use update_config\.order: start-first$/m);
    assert.match(downtimeWarnings(svc({ deploy: {} })).join('\n'), /^api: publishes 8000 and sets no update_config\.order: swarm's default is stop-first/m);
    assert.match(downtimeWarnings(svc({ healthcheck: undefined })).join('\n'), /^api: publishes 8000 without a healthcheck: swarm routes to a new task as soon as it runs/m);
    assert.match(downtimeWarnings(svc({ stop_grace_period: '10s' })).join('\n'), /^api: stop_grace_period is 10s, shorter than the app's 60s drain: .* set stop_grace_period: 60s$/m);
    assert.match(downtimeWarnings(svc({ image: 'r/api:latest' })).join('\n'), /^api: its image r\/api:latest is :latest/m);
    assert.match(downtimeWarnings(svc({ image: 'r/api' })).join('\n'), /^api: its image r\/api is untagged \(:latest\)/m);
    assert.deepEqual(downtimeWarnings(svc({ image: 'r/api:latest@sha256:0123abcd' })), []);
    assert.deepEqual(downtimeWarnings(svc({})), []);
  });
  it('compose durations', () => {
    assert.equal(seconds('1m30s'), 90);
    assert.equal(seconds('500ms'), 0.5);
    assert.equal(seconds('45'), 45);
    assert.equal(seconds(undefined), undefined);
  });
});

describe('downtime warnings in the plan', () => {
  it('an own stack file whose published api is updated stop-first: a warning line naming it and the fix', async () => {
    const { makeConfig, runCli } = await import('../../helpers/config.js');
    const c = makeConfig();
    const own = fs.readFileSync('templates/swarm-stack.yml', 'utf8').replace('      update_config: *app-update\n', '      update_config:\n        <<: *app-update\n        order: stop-first\n');
    assert.notEqual(own, fs.readFileSync('templates/swarm-stack.yml', 'utf8'));
    fs.writeFileSync(c.path('swarm-stack.yml'), own);
    const r = await runCli(['plan', '--deploy-dir', 'deploy', '--tag', 'v9', '--skip-build'], { cwd: c.root });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^warning: deploy\/swarm-stack\.yml: api: publishes 8000 and is updated stop-first: each task stops before its replacement starts, a gap in answers on every update — use update_config\.order: start-first$/m);
  });
});
