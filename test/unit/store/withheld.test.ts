/**
 * What a release record (readable by anyone with docker on a manager) holds of a secret: no value, no plain hash —
 * per-record salted scrypt digests — and prod.env's secret-looking values withheld, filled from prod.env when the
 * release is deployed again.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/index.js';
import { resolveSettings } from '../../../src/config/settings.js';
import { ConfigError, PreflightError } from '../../../src/errors.js';
import { buildRelease, releaseRecord } from '../../../src/release.js';
import { digestInputs, digestSecrets, fillWithheld, recordEnv, withheldKeys } from '../../../src/store/withheld.js';
import { makeConfig, SECRET_VALUES } from '../../helpers/config.js';

describe('what a release record holds of a secret', () => {
  it('withheld: secret-looking names and values with a URL password, whatever the key is called', () => {
    assert.deepEqual(withheldKeys({ DB_HOST: 'db', B2_APP_KEY: 'k', CACHE_URL: 'redis://:pw123456@cache:6379/0', HOOK: 'https://hooks.example/x', API_TOKEN: 't' }), ['API_TOKEN', 'B2_APP_KEY', 'CACHE_URL']);
  });
  it('the record\'s env file keeps the keys with empty values; deploying fills them from today\'s prod.env, byte for byte', () => {
    const env = 'A=1\nB2_APP_KEY=s3cr3t=with=equals\nZ=last\n';
    const recorded = recordEnv(env, ['B2_APP_KEY']);
    assert.equal(recorded, 'A=1\nB2_APP_KEY=\nZ=last\n');
    assert.equal(fillWithheld({ deployId: 'v1_20261201000000', envFile: recorded, withheld: ['B2_APP_KEY'] }, { A: '1', B2_APP_KEY: 's3cr3t=with=equals', Z: 'last' }), env);
    assert.throws(() => fillWithheld({ deployId: 'v1_20261201000000', envFile: recorded, withheld: ['B2_APP_KEY'] }, { A: '1' }), (e: unknown) =>
      e instanceof PreflightError && e.message === 'the release v1_20261201000000 needs B2_APP_KEY from prod.env (its record keeps no secret value), and prod.env does not set it now — add it back to prod.env (or secrets.env) and run again');
  });
  it('digests are scrypt under a salt of each record: equal under one salt, unrelated under two, never a plain sha256', async () => {
    const a = await digestSecrets({ pw: 'hunter2-password' });
    const b = await digestSecrets({ pw: 'hunter2-password' });
    const again = await digestSecrets({ pw: 'hunter2-password' }, a.salt);
    assert.equal(again.values.pw, a.values.pw);
    assert.notEqual(a.salt, b.salt);
    assert.notEqual(a.values.pw, b.values.pw);
    assert.notEqual(a.values.pw, crypto.createHash('sha256').update('hunter2-password').digest('hex'));
    assert.equal(a.scheme, 'scrypt:N=16384,r=8,p=1,len=32');
  });
  it('a record built from a deploy dir holds no secret value, no sha256 of one, no withheld value', async () => {
    const c = makeConfig({});
    const cfg = loadConfig(c.deployDir);
    const settings = resolveSettings({ deployDir: c.deployDir, tag: 'v9' }, {}, { plan: true });
    const r = buildRelease(cfg, settings, {}, { sha: 'abc1234', dirty: false }, new Date('2026-12-02T10:00:00Z'));
    const record = releaseRecord(r, await digestSecrets(digestInputs(cfg.secrets, cfg.prodEnv, r.withheld)));
    const text = JSON.stringify(record);
    assert.deepEqual(record.withheld, ['B2_APP_KEY']);
    assert.ok(!text.includes('b2-UNIQUE-app-key-9913'));
    for (const v of [...Object.values(SECRET_VALUES), Buffer.from('b2-UNIQUE-app-key-9913')]) {
      for (const form of [v.toString('utf8').trim(), crypto.createHash('sha256').update(v).digest('hex'), crypto.createHash('sha256').update(v.toString('utf8').trim()).digest('hex')]) {
        assert.ok(!text.includes(form), `the record holds ${form.slice(0, 12)}…`);
      }
    }
    assert.equal(record.secretHashes, undefined);
    assert.deepEqual(Object.keys(record.secretDigests!.values).sort(), ['apns_auth_key', 'email_host_password', 'env:B2_APP_KEY', 'fcm_server_key', 'postgres_password', 'secret_key']);
  });
  it('a record too large for a swarm config is refused when the release is built (the plan), naming prod.env and its longest value', () => {
    const c = makeConfig({ 'prod.env': { HUGE_BLOB: 'x'.repeat(540 * 1024) } });
    const cfg = loadConfig(c.deployDir);
    const settings = resolveSettings({ deployDir: c.deployDir, tag: 'v9' }, {}, { plan: true });
    assert.throws(() => buildRelease(cfg, settings, {}, { sha: 'abc1234', dirty: false }, new Date()), (e: unknown) =>
      e instanceof ConfigError && /prod\.env: the release record would be \d+ bytes \(the rendered stack file \d+, prod\.env \d+\); swarm keeps at most 511999 bytes in one config — shorten prod\.env \(its longest value is HUGE_BLOB, 552960 bytes\) or the stack file/.test(e.message));
  });
});
