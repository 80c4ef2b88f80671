/**
 * Fetching against real stores: pass with a throwaway GPG key, age with a generated identity, cmd: with ordinary
 * programs, and the stand-in op (test/fixtures/op/op: `op read` and `op whoami` as 1Password documents them —
 * the 1Password service cannot be reached from here). Byte for byte; every failure named, exit 2.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/index.js';
import { ConfigError } from '../../../src/errors.js';
import { LocalRunner } from '../../../src/io/local.js';
import { resolveReferences } from '../../../src/secrets/resolve.js';
import { Redactor } from '../../../src/ui/redact.js';
import { makeConfig } from '../../helpers/config.js';
import { havePasswordManagers, makeStores, type Stores } from '../../helpers/password-managers.js';

const missing = havePasswordManagers();
if (missing && process.env.CI === 'true') throw new Error(`the password-manager tests need their programs in CI: ${missing}`);

describe('fetching secrets.env references from real stores', { skip: missing ?? false }, () => {
  let stores: Stores;
  const saved: Record<string, string | undefined> = {};
  before(() => {
    stores = makeStores();
  });
  const withEnv = async <T>(fn: () => Promise<T>): Promise<T> => {
    for (const [k, v] of Object.entries(stores.env)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    try {
      return await fn();
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
  };

  it('every kind, byte for byte: one trailing newline removed (pass, op, cmd), age\'s plaintext kept whole; the redactor learns each', async () => {
    const c = makeConfig({ 'registry.env': { REGISTRY_TOKEN: undefined }, 'prod.env': { B2_APP_KEY: '' } });
    for (const f of ['postgres_password.txt', 'secret_key.txt', 'email_host_password.txt', 'fcm_server_key.txt', 'apns_auth_key.p8']) fs.rmSync(c.path(`secrets/${f}`));
    const values = {
      postgres_password: Buffer.from(`pg-'q"uote $(whoami) ;\`id\`\n\n`),
      secret_key: Buffer.from('--sk-leading-dash-no-newline'),
      email_host_password: Buffer.from('smtp-crlf\r\nline2\r\n'),
      fcm_server_key: Buffer.concat([Buffer.from('fcm-'), Buffer.from([0, 1, 2, 255, 254, 10, 13, 0])]),
      apns_auth_key: Buffer.from('-----BEGIN PRIVATE KEY-----\napns-line-one-abcdef\napns-line-two-ghijkl\n-----END PRIVATE KEY-----\n'),
      REGISTRY_TOKEN: Buffer.from('registry-token-from-1password'),
      B2_APP_KEY: Buffer.from('b2-app-key-from-pass'),
    };
    // pass and op print the value followed by one newline of their own
    stores.passInsert('honeydue/postgres_password', Buffer.concat([values.postgres_password, Buffer.from('\n')]));
    stores.passInsert('honeydue/b2', Buffer.concat([values.B2_APP_KEY, Buffer.from('\n')]));
    stores.opPut('op://Prod/registry/token', values.REGISTRY_TOKEN);
    stores.opPut('op://Prod/app/secret key', values.secret_key);
    stores.ageEncrypt(c.path('secrets/email.age'), values.email_host_password);
    stores.ageEncrypt(c.path('secrets/apns.age'), values.apns_auth_key);
    fs.writeFileSync(path.join(c.root, 'fcm.bin'), values.fcm_server_key);
    fs.writeFileSync(c.path('secrets.env'), [
      'postgres_password=pass:honeydue/postgres_password',
      "secret_key='op://Prod/app/secret key'",
      'email_host_password=age:secrets/email.age',
      `fcm_server_key=cmd:cat ${path.join(c.root, 'fcm.bin')}`,
      'apns_auth_key=age:secrets/apns.age',
      'REGISTRY_TOKEN=op://Prod/registry/token',
      'B2_APP_KEY=pass:honeydue/b2',
      '',
    ].join('\n'));
    const cfg = loadConfig(c.deployDir, process.env, { ageIdentity: stores.ageIdentity });
    const redactor = new Redactor();
    await withEnv(() => resolveReferences(cfg, { local: new LocalRunner(), timeoutSeconds: 30, redactor }));
    for (const key of ['postgres_password', 'secret_key', 'email_host_password', 'fcm_server_key', 'apns_auth_key'] as const) {
      assert.deepEqual(cfg.secrets.find((s) => s.key === key)!.data, values[key], `${key} is not byte for byte`);
    }
    assert.equal(cfg.registry.REGISTRY_TOKEN, values.REGISTRY_TOKEN.toString());
    assert.equal(cfg.prodEnv.B2_APP_KEY, values.B2_APP_KEY.toString());
    assert.equal(cfg.resolved, true);
    assert.equal(redactor.redact('token registry-token-from-1password and b2-app-key-from-pass'), 'token [redacted] and [redacted]');
  });

  it('failures, all at once, exit 2: no such entry, not signed in, program missing, nothing printed, too slow — each named with what to do, its stderr shown', async () => {
    const c = makeConfig({ 'registry.env': { REGISTRY_TOKEN: undefined }, 'prod.env': { B2_APP_KEY: '', STRIPE_API_KEY: '' } });
    for (const f of ['postgres_password.txt', 'secret_key.txt', 'email_host_password.txt']) fs.rmSync(c.path(`secrets/${f}`));
    fs.writeFileSync(c.path('secrets.env'), [
      'postgres_password=pass:honeydue/not-there',
      'REGISTRY_TOKEN=op://Prod/registry/missing',
      'secret_key=cmd:no-such-program-anywhere --get sk',
      'email_host_password=cmd:true',
      'B2_APP_KEY=cmd:sleep 30',
      '',
    ].join('\n'));
    const cfg = loadConfig(c.deployDir, process.env, { ageIdentity: stores.ageIdentity });
    const t = Date.now();
    const err = await withEnv(() => resolveReferences(cfg, { local: new LocalRunner(), timeoutSeconds: 2, redactor: new Redactor() }).then(() => undefined, (e: unknown) => e));
    assert.ok(err instanceof ConfigError);
    assert.ok(Date.now() - t < 15_000, 'bounded by DEPLOY_SECRET_TIMEOUT');
    const p = err.problems.join('\n');
    assert.match(p, /secrets\.env: postgres_password: pass:honeydue\/not-there: pass exited with 1: Error: honeydue\/not-there is not in the password store\. — check that the entry exists \(`pass ls`\)/);
    assert.match(p, /secrets\.env: REGISTRY_TOKEN: op:\/\/Prod\/registry\/missing: op exited with 1: \[ERROR\] .* could not read secret 'op:\/\/Prod\/registry\/missing'.* — sign in with `op signin`/);
    assert.match(p, /secrets\.env: secret_key: cmd:no-such-program-anywhere --get sk: no-such-program-anywhere is not installed or not on PATH — install no-such-program-anywhere or fix the command/);
    assert.match(p, /secrets\.env: email_host_password: cmd:true: printed nothing — an empty value cannot be deployed/);
    assert.match(p, /secrets\.env: B2_APP_KEY: cmd:sleep 30: sleep did not answer within 2s \(DEPLOY_SECRET_TIMEOUT\) and was stopped/);
    // signed out of 1Password
    const c2 = makeConfig({ 'registry.env': { REGISTRY_TOKEN: undefined } });
    fs.writeFileSync(c2.path('secrets.env'), 'REGISTRY_TOKEN=op://Prod/registry/token\n');
    const cfg2 = loadConfig(c2.deployDir, process.env, { ageIdentity: stores.ageIdentity });
    process.env.HD_OP_SIGNED_OUT = '1';
    try {
      const e2 = await withEnv(() => resolveReferences(cfg2, { local: new LocalRunner(), timeoutSeconds: 5, redactor: new Redactor() }).then(() => undefined, (e: unknown) => e));
      assert.ok(e2 instanceof ConfigError);
      assert.match(e2.problems[0]!, /op exited with 1: \[ERROR\] .* You are not currently signed in\. .* — sign in with `op signin`/);
    } finally {
      delete process.env.HD_OP_SIGNED_OUT;
    }
  });
});

describe('a prod.env value from a reference', () => {
  it('gets the check its prod.env line would have had once it is fetched (never shown)', async () => {
    const c = makeConfig({ 'prod.env': { DB_PORT: '' } });
    fs.writeFileSync(c.path('secrets.env'), 'DB_PORT=cmd:printf %s not-a-port-number\n');
    const cfg = loadConfig(c.deployDir);
    const err = await resolveReferences(cfg, { local: new LocalRunner(), timeoutSeconds: 10, redactor: new Redactor() }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ConfigError);
    assert.match(err.problems.join("\n"), /^secrets\.env: DB_PORT: the value fetched from cmd:printf %s \[redacted\]: "\[redacted\]" is not a port/m);
    assert.ok(!err.problems.join("\n").includes("not-a-port-number"), "the value is never shown");
  });
});
