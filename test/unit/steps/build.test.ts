import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/index.js';
import { resolveSettings } from '../../../src/config/settings.js';
import { buildRelease } from '../../../src/release.js';
import { bakeDefinition, firstBakeFailure, plan } from '../../../src/steps/build.js';
import { builderProblems } from '../../../src/steps/builder.js';
import { showEntry } from '../../../src/steps/context.js';
import { makeConfig } from '../../helpers/config.js';

/** A docker config that sees the buildx plugin scripts/install-buildx.sh installs (when it is there). */
const BUILDX_CONFIG = (() => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hd-bx-'));
  const plugins = process.env.HD_BUILDX_DIR ?? '/opt/honeydue-buildx/cli-plugins';
  if (fs.existsSync(plugins)) fs.symlinkSync(plugins, path.join(dir, 'cli-plugins'));
  return dir;
})();

function ctx(flags: Record<string, unknown> = {}) {
  const c = makeConfig();
  const settings = resolveSettings({ deployDir: c.deployDir, tag: 'v9', context: c.root, ...flags }, {}, { plan: true });
  const release = buildRelease(loadConfig(c.deployDir), settings, {}, { sha: 'abc1234', dirty: false }, new Date('2026-11-27T10:00:00Z'));
  return { settings, release, root: c.root };
}

describe('the build step', () => {
  it('one bake definition for the three images: targets, tags, absolute paths, build args, platforms', () => {
    const c = ctx({ buildArg: ['GOFLAGS=-mod=mod', 'X=a=b'], platform: 'linux/arm64', pushLatest: true });
    const def = bakeDefinition(c);
    assert.deepEqual(def.group.default.targets, ['api', 'worker', 'admin']);
    assert.deepEqual(def.target.worker, {
      context: path.resolve(c.root), dockerfile: path.resolve(c.root, 'Dockerfile'), target: 'worker',
      tags: ['registry.example.com/honeydue/honeydue-worker:v9', 'registry.example.com/honeydue/honeydue-worker:latest'],
      args: { GOFLAGS: '-mod=mod', X: 'a=b' }, platforms: ['linux/arm64'],
    });
  });
  it('bake interpolates ${…} and %{…} in its definition: build arguments and paths are escaped so they arrive as written', () => {
    const c = ctx({ buildArg: ['A=${HOME}', 'B=100%{x}', 'C=a$b$$c'] });
    assert.deepEqual(bakeDefinition(c).target.api!.args, { A: '$${HOME}', B: '100%%{x}', C: 'a$b$$c' });
  });
  it('bake reads the escaped definition back as written (the real docker buildx bake --print)', { skip: spawnSync('docker', ['buildx', 'version'], { env: { ...process.env, DOCKER_CONFIG: BUILDX_CONFIG } }).status === 0 ? false : 'no buildx here' }, () => {
    const c = ctx({ buildArg: ['A=${HOME}-x', 'B=100%{ok}'] });
    const r = spawnSync('docker', ['buildx', 'bake', '--file', '-', '--print', 'api'], { input: JSON.stringify(bakeDefinition(c)), encoding: 'utf8', env: { ...process.env, DOCKER_CONFIG: BUILDX_CONFIG } });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as { target: { api: { args: Record<string, string> } } }).target.api.args, { A: '${HOME}-x', B: '100%{ok}' });
  });
  it('the plan shows the builder that will run, one branch only', () => {
    const c = ctx();
    const withBuildx = plan({ ...c, release: { ...c.release, builder: { kind: 'buildx', version: 'github.com/docker/buildx 0.13.1', driver: 'docker' } } }).entries.map(showEntry);
    assert.equal(withBuildx.filter((l) => l.startsWith('local$')).length, 1);
    assert.match(withBuildx[1]!, /^local\$ docker buildx bake --file - --push < bake definition \(JSON: targets api, worker, admin; tags .*honeydue-api:v9/);
    const classic = plan({ ...c, release: { ...c.release, builder: { kind: 'classic', why: 'docker buildx is not installed' } } }).entries.map(showEntry);
    assert.equal(classic[0], '# builder: the classic docker build (docker buildx is not installed); the three build+push chains run concurrently, the first failure cancels the others');
    assert.ok(classic.some((l) => l.startsWith('local$ docker build --target api')) && !classic.some((l) => l.startsWith('local$') && l.includes('buildx')));
  });
  it('a failed bake is reported by the step that failed first', () => {
    const stderr = '#16 ERROR: received unexpected HTTP status: 500\n#17 [admin worker 1/1] RUN sleep 60\n#17 CANCELED\n------\n > [api] pushing reg/e/honeydue-api:t with docker:\n------\nERROR: x\n';
    assert.equal(firstBakeFailure(stderr), '[api] pushing reg/e/honeydue-api:t failed first');
    assert.equal(firstBakeFailure('ERROR: failed to solve\n'), 'the build failed');
  });
  it('platforms the builder cannot build are refused with what to do', () => {
    const c = ctx({ platform: 'linux/amd64,linux/arm64' });
    assert.match(builderProblems(c.settings, { kind: 'buildx', version: 'v', driver: 'docker' }, true)[0]!, /^command line: --platform: linux\/amd64, linux\/arm64: the current buildx builder uses the docker driver/);
    assert.deepEqual(builderProblems(c.settings, { kind: 'buildx', version: 'v', driver: 'docker-container' }, true), []);
    assert.match(builderProblems(c.settings, { kind: 'classic', why: 'x' }, false)[0]!, /^environment: DEPLOY_PLATFORM: .* needs docker buildx/);
  });
});
