import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffLines, releaseDiff, type Side } from '../../../src/diff/release-diff.js';

const stack = (id: string, tag: string, replicas = 3) => `services:
  api:
    image: r/api:${tag}
    env_file: prod.env
    environment:
      DEPLOY_ID: ${id}
      DEPLOY_TAG: ${tag}
    secrets: [pw]
    deploy:
      replicas: ${replicas}
  dozzle:
    image: dozzle:1
    deploy:
      mode: global
secrets:
  pw:
    external: true
    name: s_pw_${id}
`;

const side = (id: string, tag: string, env: string, hashes: Record<string, string> | null = { pw: 'h1' }, replicas = 3): Side => ({
  deployId: id, tag, stackFile: stack(id, tag, replicas), envFile: env, secretHashes: hashes ?? undefined,
});
const FILES = [{ key: 'pw', file: 'secrets/postgres_password.txt' }];

describe('what the next deploy changes', () => {
  it('nothing but the deploy id: no difference', () => {
    const d = releaseDiff(side('v1_20261201000000', 'v1', 'A=1\n'), side('v1_20261202000000', 'v1', 'A=1\n'), 's', FILES);
    assert.equal(d.changed, false);
    assert.equal(d.stackDiff, '');
    assert.deepEqual(d.services.map((s) => s.status), ['same', 'same']);
    assert.deepEqual(d.secrets, [{ key: 'pw', file: 'secrets/postgres_password.txt', status: 'same' }]);
  });

  it('a new tag: images and DEPLOY_TAG change, the stack diff shows them', () => {
    const d = releaseDiff(side('v1_20261201000000', 'v1', 'A=1\n'), side('v2_20261202000000', 'v2', 'A=1\n'), 's', FILES, { s_api: 'r/api:v1@sha256:abc' });
    const api = d.services.find((s) => s.service === 'api')!;
    assert.equal(api.status, 'changed');
    assert.deepEqual(api.image, { from: 'r/api:v1', to: 'r/api:v2', fromRunning: 'r/api:v1@sha256:abc' });
    assert.deepEqual(api.env.changed, [{ key: 'DEPLOY_TAG', from: 'v1', to: 'v2' }]);
    assert.match(d.stackDiff, /^--- serving v1_20261201000000\/swarm-stack\.yml\n\+\+\+ next v2_20261202000000\/swarm-stack\.yml\n@@ .* @@\n/);
    assert.match(d.stackDiff, /^-    image: r\/api:v1$/m);
    assert.match(d.stackDiff, /^\+    image: r\/api:v2$/m);
    assert.ok(diffLines(d).includes('    image: r/api:v1 (running r/api:v1@sha256:abc) -> r/api:v2'));
  });

  it('prod.env: keys added, removed and changed; a secret-looking value is never shown', () => {
    const d = releaseDiff(side('a_20261201000000', 'v1', 'A=1\nOLD=x\nSMTP_PASSWORD=hunter2-old\n'), side('b_20261202000000', 'v1', 'A=2\nNEW=y\nSMTP_PASSWORD=hunter2-new\n'), 's', FILES);
    const api = d.services.find((s) => s.service === 'api')!;
    assert.deepEqual(api.env, { added: ['NEW'], removed: ['OLD'], changed: [{ key: 'A', from: '1', to: '2' }, { key: 'SMTP_PASSWORD', hidden: true }] });
    const text = [...diffLines(d), JSON.stringify(d)].join('\n');
    assert.ok(!text.includes('hunter2'), text);
    assert.ok(diffLines(d).includes('    env ~ SMTP_PASSWORD (changed; a secret-looking key: values not shown)'));
    assert.equal(d.services.find((s) => s.service === 'dozzle')!.status, 'same', 'dozzle has no env_file');
  });

  it('a secret file changed (by hash); a release recorded without hashes is unknown, not a difference', () => {
    assert.deepEqual(releaseDiff(side('a_20261201000000', 'v1', ''), side('b_20261202000000', 'v1', '', { pw: 'h2' }), 's', FILES).secrets[0]!.status, 'changed');
    const old = releaseDiff(side('a_20261201000000', 'v1', '', null), side('b_20261202000000', 'v1', '', { pw: 'h2' }), 's', FILES);
    assert.equal(old.secrets[0]!.status, 'unknown');
    assert.equal(old.changed, false);
  });

  it('replicas, and no serving release at all', () => {
    const d = releaseDiff(side('a_20261201000000', 'v1', ''), side('b_20261202000000', 'v1', '', { pw: 'h1' }, 5), 's', FILES);
    assert.deepEqual(d.services.find((s) => s.service === 'api')!.replicas, { from: '3', to: '5' });
    const first = releaseDiff(undefined, side('b_20261202000000', 'v1', ''), 's', FILES);
    assert.equal(first.changed, true);
    assert.deepEqual(first.services.map((s) => s.status), ['added', 'added']);
    assert.match(diffLines(first)[0]!, /^no release is serving: the next deploy \(b_20261202000000, tag v1\) is the first$/);
  });
  it('a password inside a URL value is never shown (either side, any key name, text and --json alike)', () => {
    const d = releaseDiff(
      side('v1_20261201000000', 'v1', 'CACHE_URL=redis://:OldCachePass123@cache:6379/0\nHOOK=https://tok3nvalue@hooks.example/x\nDB=postgres://app:OldDbPass9@db/app\n'),
      side('v1_20261202000000', 'v1', 'CACHE_URL=redis://:NewCachePass456@cache:6379/0\nHOOK=https://tok4nvalue@hooks.example/x\nDB=postgres://app:NewDbPass9@db/app\n'),
      's', FILES,
    );
    const shown = `${diffLines(d).join('\n')}\n${JSON.stringify(d)}`;
    for (const secret of ['OldCachePass123', 'NewCachePass456', 'tok3nvalue', 'tok4nvalue', 'OldDbPass9', 'NewDbPass9']) assert.ok(!shown.includes(secret), `${secret} shown`);
    assert.match(shown, /env ~ CACHE_URL: "redis:\/\/:\[redacted\]@cache:6379\/0" -> "redis:\/\/:\[redacted\]@cache:6379\/0"/);
    assert.match(shown, /env ~ DB: "postgres:\/\/app:\[redacted\]@db\/app"/);
  });
});
