import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseBoolean, resolveSettings } from '../../../src/config/settings.js';
import { ConfigError } from '../../../src/errors.js';

describe('flags and environment', () => {
  it('booleans accept 1/true/yes and 0/false/no', () => {
    for (const t of ['1', 'true', 'YES', ' yes ']) assert.equal(parseBoolean(t), true);
    for (const f of ['0', 'false', 'No', '']) assert.equal(parseBoolean(f), false);
    assert.equal(parseBoolean('maybe'), undefined);
  });
  it('defaults', () => {
    assert.deepEqual(resolveSettings({}, {}), {
      dryRun: false, skipBuild: false, skipHealthcheck: false, pushLatest: false, json: false, keepSecrets: 3, lockWaitSeconds: 0, sshTimeoutSeconds: 20,
      ageIdentity: path.join(os.homedir(), '.config', 'age', 'keys.txt'), secretTimeoutSeconds: 30,
      tag: undefined, deployDir: 'deploy', context: '.', dockerfile: 'Dockerfile', platform: undefined, buildArgs: [],
    });
  });
  it('every toggle reads its env var, and the flag wins over it', () => {
    const env = { DRY_RUN: '1', SKIP_BUILD: 'yes', SKIP_HEALTHCHECK: 'true', PUSH_LATEST_TAG: '0', SECRET_KEEP_VERSIONS: '5', DEPLOY_TAG: 'env', HONEYDUE_DEPLOY_DIR: 'd', BUILD_CONTEXT: 'ctx', DOCKERFILE: 'ctx/Df' };
    const fromEnv = resolveSettings({}, env);
    assert.deepEqual([fromEnv.dryRun, fromEnv.skipBuild, fromEnv.skipHealthcheck, fromEnv.pushLatest, fromEnv.keepSecrets, fromEnv.tag, fromEnv.deployDir, fromEnv.context, fromEnv.dockerfile], [true, true, true, false, 5, 'env', 'd', 'ctx', 'ctx/Df']);
    assert.deepEqual(resolveSettings({}, { BUILD_ARGS: 'A=1  B=2' }).buildArgs, ['A=1', 'B=2']);
    assert.deepEqual(resolveSettings({ buildArg: ['C=3'] }, { BUILD_ARGS: 'A=1' }).buildArgs, ['C=3']);
    const flags = resolveSettings({ dryRun: false, skipBuild: false, skipHealthcheck: false, keepSecrets: '4', tag: 'flag', deployDir: 'fd', context: 'fc' }, env);
    assert.deepEqual([flags.dryRun, flags.skipBuild, flags.skipHealthcheck, flags.keepSecrets, flags.tag, flags.deployDir, flags.context, flags.dockerfile], [false, false, false, 4, 'flag', 'fd', 'fc', 'ctx/Df']);
    assert.equal(resolveSettings({}, { BUILD_CONTEXT: 'app' }).dockerfile, 'app/Dockerfile');
  });
  it('the budget of failed requests: unset is none (only reported), 0 allows none, the flag wins; a bad value names the variable', () => {
    assert.equal(resolveSettings({}, {}).maxFailedRequests, undefined);
    assert.equal(resolveSettings({}, { DEPLOY_MAX_FAILED_REQUESTS: '0' }).maxFailedRequests, 0);
    assert.equal(resolveSettings({ maxFailedRequests: '3' }, { DEPLOY_MAX_FAILED_REQUESTS: '0' }).maxFailedRequests, 3);
    assert.throws(
      () => resolveSettings({}, { DEPLOY_MAX_FAILED_REQUESTS: 'some' }),
      (e: unknown) => e instanceof ConfigError && /DEPLOY_MAX_FAILED_REQUESTS.*"some" is not a number of requests — use a whole number, 0 or more/.test(e.problems.join('\n')),
    );
  });
  it('`plan` is always a dry run', () => {
    assert.equal(resolveSettings({ dryRun: false }, {}, { plan: true }).dryRun, true);
  });
  it('all problems at once', () => {
    assert.throws(
      () => resolveSettings({ keepSecrets: 'x' }, { DRY_RUN: 'maybe', DEPLOY_TAG: 'bad tag' }),
      (e: unknown) => e instanceof ConfigError && e.problems.length === 3,
    );
  });
});
