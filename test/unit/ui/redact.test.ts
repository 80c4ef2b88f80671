import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSecretSetting, Redactor, urlCredentials } from '../../../src/ui/redact.js';

describe('redaction', () => {
  it('removes whole secrets, trimmed secrets and each line of a multi-line key', () => {
    const r = new Redactor();
    r.add('hunter2-password\n');
    r.add(Buffer.from('-----BEGIN PRIVATE KEY-----\nAAAAline-one-secret\nBBBBline-two-secret\n-----END PRIVATE KEY-----\n'));
    assert.equal(r.redact('login failed for hunter2-password!'), 'login failed for [redacted]!');
    assert.equal(r.redact('got BBBBline-two-secret in output'), 'got [redacted] in output');
    assert.equal(r.redact('-----END PRIVATE KEY----- is fine'), '-----END PRIVATE KEY----- is fine');
  });
  it('redacts the JSON-escaped form of a secret too', () => {
    const r = new Redactor();
    r.add('Pa55"word\\x');
    assert.equal(r.redact(JSON.stringify({ v: 'Pa55"word\\x' })), '{"v":"[redacted]"}');
  });
  it('URL credentials in every printed form: raw percent-encoded and decoded, user and password', () => {
    assert.deepEqual(urlCredentials('https://monitor:S3cr%23t-pa55@h.example/health'), ['monitor', 'monitor', 'S3cr%23t-pa55', 'S3cr#t-pa55']);
    assert.deepEqual(urlCredentials('https://tok3n-abcdef@h.example/'), ['tok3n-abcdef', 'tok3n-abcdef']);
    assert.deepEqual(urlCredentials('https://h.example/'), []);
    assert.deepEqual(urlCredentials('https://monitor:S3cr%23t-pa55@h.example/health', 'secret'), ['S3cr%23t-pa55', 'S3cr#t-pa55']);
    assert.deepEqual(urlCredentials('https://tok3n-abcdef@h.example/', 'secret'), ['tok3n-abcdef', 'tok3n-abcdef']);
  });
  it('ignores fragments too short to be secrets', () => {
    const r = new Redactor();
    r.add('abc');
    assert.equal(r.redact('abc abc'), 'abc abc');
  });
  it('knows which prod.env keys hold secrets', () => {
    for (const k of ['B2_APP_KEY', 'REDIS_PASSWORD', 'API_TOKEN', 'STRIPE_SECRET', 'STRIPE_SECRET_KEY', 'MAPS_KEY', 'SMTP_PASS', 'SMTP_PASSWD', 'SENTRY_DSN', 'DATABASE_URL', 'OPENAI_API_KEY']) assert.ok(isSecretSetting(k), k);
    for (const k of ['DB_HOST', 'APNS_KEY_ID', 'B2_KEY_ID', 'B2_BUCKET_NAME', 'KEYWORDS', 'DB_SSLMODE']) assert.ok(!isSecretSetting(k), k);
  });
  it('overlapping secrets are redacted whole, not one of them in part', () => {
    const r = new Redactor();
    r.add('ABCDEFGH12');
    r.add('FGH12IJKLM');
    assert.equal(r.redact('x ABCDEFGH12IJKLM y ABCDEFGH12 z FGH12IJKLM'), 'x [redacted] y [redacted] z [redacted]');
  });
  it('the secret as Go\'s encoding/json writes it (<, >, & as \\u escapes) is redacted', () => {
    const r = new Redactor();
    r.add('a&b<c>d-12345');
    assert.equal(r.redact('{"msg":"token a\\u0026b\\u003cc\\u003ed-12345 used"}'), '{"msg":"token [redacted] used"}');
  });
});
