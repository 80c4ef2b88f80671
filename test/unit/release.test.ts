import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { resolveSettings } from '../../src/config/settings.js';
import { ConfigError } from '../../src/errors.js';
import { buildRelease, chooseTag, dockerEnvFile, imageRef, utcStamp } from '../../src/release.js';
import { makeConfig } from '../helpers/config.js';

const NOW = new Date('2026-11-27T10:11:12Z');

describe('release identity', () => {
  it('deploy id is <tag>_<UTC yyyymmddHHMMSS>; images and secret names follow it', () => {
    const cfg = makeConfig();
    const settings = resolveSettings({ deployDir: cfg.deployDir, tag: 'abc1234' }, {});
    const r = buildRelease(loadConfig(cfg.deployDir), settings, {}, { sha: 'abc1234', dirty: false }, NOW);
    assert.equal(utcStamp(NOW), '20261127101112');
    assert.equal(r.deployId, 'abc1234_20261127101112');
    assert.equal(r.images.worker, 'registry.example.com/honeydue/honeydue-worker:abc1234');
    assert.equal(r.secretNames.postgres_password, 'honeydue_postgres_password_abc1234_20261127101112');
    assert.equal(r.remoteDir, 'honeydue-deploy/honeydue');
    assert.equal(r.releaseDir, 'honeydue-deploy/honeydue/releases/abc1234_20261127101112');
    assert.equal(imageRef('r:5000', undefined, 'api', 't'), 'r:5000/honeydue-api:t');
  });
  it('the tag defaults to the short SHA; a dirty tree gets its own tag unless nothing is built', () => {
    const s = resolveSettings({}, {});
    assert.deepEqual(chooseTag(s, {}, { sha: 'abc1234', dirty: false }, NOW), { tag: 'abc1234', tagSource: 'git' });
    const dirty = chooseTag(s, {}, { sha: 'abc1234', dirty: true }, NOW);
    assert.match(dirty.tag, /^abc1234-dirty-[0-9a-f]{6}$/);
    assert.deepEqual(chooseTag(resolveSettings({ skipBuild: true }, {}), {}, { sha: 'abc1234', dirty: true }, NOW).tag, 'abc1234');
    assert.deepEqual(chooseTag(resolveSettings({}, { DEPLOY_TAG: 'v1' }), { DEPLOY_TAG: 'v1' }, { dirty: false }, NOW), { tag: 'v1', tagSource: 'environment' });
    assert.throws(() => chooseTag(s, {}, { dirty: false }, NOW), (e: unknown) => e instanceof ConfigError && /is not a git repository, so no image tag can be derived — pass --tag TAG/.test(e.message));
    assert.deepEqual(chooseTag(resolveSettings({ dryRun: true }, {}), {}, { dirty: false }, NOW).tag, 'no-tag-yet');
  });
  it('the services get a plain docker env file, values taken literally', () => {
    assert.equal(dockerEnvFile({ A: 'x y', B: '"q"', C: '' }), 'A=x y\nB="q"\nC=\n');
  });
  it('the health expectation may name the tag and deploy id', () => {
    const cfg = makeConfig({ 'cluster.env': { DEPLOY_HEALTHCHECK_EXPECT: 'version ${DEPLOY_TAG} (${DEPLOY_ID})' } });
    const r = buildRelease(loadConfig(cfg.deployDir), resolveSettings({ tag: 'v5' }, {}), {}, { dirty: false }, NOW);
    assert.equal(r.healthExpect, 'version v5 (v5_20261127101112)');
  });
});
