import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { fingerprint, hostMatches, keyType, knownHostsName, knownKeyAlgorithms, verifyHostKey } from '../../../src/io/known-hosts.js';

function blob(type: string, body: Buffer): Buffer {
  const t = Buffer.from(type);
  const len = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
  return Buffer.concat([len(t.length), t, len(body.length), body]);
}
const KEY = blob('ssh-ed25519', crypto.randomBytes(32));
const OTHER = blob('ssh-ed25519', crypto.randomBytes(32));
const RSA = blob('ssh-rsa', crypto.randomBytes(64));
const b64 = (b: Buffer) => b.toString('base64');

function hashed(name: string): string {
  const salt = crypto.randomBytes(20);
  return `|1|${salt.toString('base64')}|${crypto.createHmac('sha1', salt).update(name).digest('base64')}`;
}

describe('known_hosts', () => {
  it('names non-22 ports as [host]:port', () => {
    assert.equal(knownHostsName('h', 22), 'h');
    assert.equal(knownHostsName('h', 2222), '[h]:2222');
  });
  it('trusts a plain entry, a pattern list, a wildcard and a hashed entry', () => {
    assert.deepEqual(verifyHostKey(`[m.example]:2222 ssh-ed25519 ${b64(KEY)}\n`, '[m.example]:2222', KEY), { kind: 'trusted' });
    assert.deepEqual(verifyHostKey(`a,[m.example]:2222,b ssh-ed25519 ${b64(KEY)}`, '[m.example]:2222', KEY), { kind: 'trusted' });
    assert.deepEqual(verifyHostKey(`*.example ssh-ed25519 ${b64(KEY)}`, 'm.example', KEY), { kind: 'trusted' });
    assert.deepEqual(verifyHostKey(`${hashed('[10.0.0.5]:2222')} ssh-ed25519 ${b64(KEY)}`, '[10.0.0.5]:2222', KEY), { kind: 'trusted' });
  });
  it('a port-22 entry does not vouch for another port', () => {
    assert.deepEqual(verifyHostKey(`m.example ssh-ed25519 ${b64(KEY)}`, '[m.example]:2222', KEY), { kind: 'unknown' });
  });
  it('a different key of the same type is a CHANGED key, with its line', () => {
    assert.deepEqual(verifyHostKey(`# comment\nm.example ssh-ed25519 ${b64(OTHER)}\n`, 'm.example', KEY), { kind: 'changed', line: 2 });
  });
  it('a known host offering a key of another type is CHANGED (refused loudly), not unknown', () => {
    assert.deepEqual(verifyHostKey(`m.example ssh-rsa ${b64(RSA)}`, 'm.example', KEY), { kind: 'changed', line: 1 });
    assert.deepEqual(knownKeyAlgorithms(`m.example ssh-rsa ${b64(RSA)}\nother ssh-ed25519 ${b64(KEY)}`, 'm.example'), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    assert.equal(knownKeyAlgorithms('', 'm.example'), undefined);
  });
  it('revocation wins whatever the order of the lines; unknown or mis-cased markers are ignored', () => {
    assert.deepEqual(verifyHostKey(`m.example ssh-ed25519 ${b64(KEY)}\n@revoked m.example ssh-ed25519 ${b64(KEY)}`, 'm.example', KEY), { kind: 'revoked', line: 2 });
    for (const marker of ['@revoke', '@REVOKED', '@trusted']) {
      assert.deepEqual(verifyHostKey(`${marker} m.example ssh-ed25519 ${b64(KEY)}`, 'm.example', KEY), { kind: 'unknown' }, marker);
    }
  });
  it('@revoked refuses; @cert-authority lines are not host keys; negated patterns exclude', () => {
    assert.deepEqual(verifyHostKey(`@revoked * ssh-ed25519 ${b64(KEY)}\nm.example ssh-ed25519 ${b64(KEY)}`, 'm.example', KEY), { kind: 'revoked', line: 1 });
    assert.deepEqual(verifyHostKey(`@cert-authority * ssh-ed25519 ${b64(KEY)}`, 'm.example', KEY), { kind: 'unknown' });
    assert.equal(hostMatches('*.example,!m.example', 'm.example'), false);
  });
  it('fingerprints and key types like ssh-keygen -l', () => {
    assert.equal(keyType(KEY), 'ssh-ed25519');
    assert.equal(fingerprint(KEY), `SHA256:${crypto.createHash('sha256').update(KEY).digest('base64').replace(/=+$/, '')}`);
  });
});
