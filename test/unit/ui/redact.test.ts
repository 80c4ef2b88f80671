import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSecretSetting, Redactor } from '../../../src/ui/redact.js';

describe('redaction', () => {
  it('removes whole secrets, trimmed secrets and each line of a multi-line key', () => {
    const r = new Redactor();
    r.add('hunter2-password\n');
    r.add(Buffer.from('-----BEGIN PRIVATE KEY-----\nAAAAline-one-secret\nBBBBline-two-secret\n-----END PRIVATE KEY-----\n'));
    assert.equal(r.redact('login failed for hunter2-password!'), 'login failed for [redacted]!');
    assert.equal(r.redact('got BBBBline-two-secret in output'), 'got [redacted] in output');
    assert.equal(r.redact('-----END PRIVATE KEY----- is fine'), '-----END PRIVATE KEY----- is fine');
  });
  it('ignores fragments too short to be secrets', () => {
    const r = new Redactor();
    r.add('abc');
    assert.equal(r.redact('abc abc'), 'abc abc');
  });
  it('knows which prod.env keys hold secrets', () => {
    for (const k of ['B2_APP_KEY', 'REDIS_PASSWORD', 'API_TOKEN', 'STRIPE_SECRET']) assert.ok(isSecretSetting(k), k);
    for (const k of ['DB_HOST', 'APNS_KEY_ID', 'B2_BUCKET_NAME']) assert.ok(!isSecretSetting(k), k);
  });
});
