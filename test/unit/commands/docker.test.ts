import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dockerBuild, dockerBuildxBuild, dockerPush, isLoopbackRegistry, manifestInspect, registryLogin, registryLogout, stackConfig, swarmInfo } from '../../../src/commands/docker.js';

describe('docker command builders', () => {
  it('login takes the token on stdin only, on either side', () => {
    for (const where of ['local', 'manager'] as const) {
      const c = registryLogin(where, 'reg.example.com', 'bot', 'tok-123');
      assert.deepEqual(c.argv, ['docker', 'login', 'reg.example.com', '--username', 'bot', '--password-stdin']);
      assert.equal(c.where, where);
      assert.deepEqual(c.stdin, { secret: true, label: 'registry.env REGISTRY_TOKEN', data: 'tok-123' });
      assert.ok(!c.argv.includes('tok-123'));
    }
    assert.deepEqual(registryLogout('manager', 'reg.example.com').argv, ['docker', 'logout', 'reg.example.com']);
  });
  const spec = { target: 'api', image: 'r/honeydue-api:t', context: 'ctx', dockerfile: 'ctx/Dockerfile', buildArgs: ['A=1'] };
  it('classic build: target, tag, build args, dockerfile, context; no DOCKER_BUILDKIT (a client without buildx refuses it)', () => {
    const c = dockerBuild(spec);
    assert.deepEqual(c.argv, ['docker', 'build', '--target', 'api', '-t', 'r/honeydue-api:t', '--build-arg', 'A=1', '-f', 'ctx/Dockerfile', 'ctx']);
    assert.equal(c.env, undefined);
    assert.deepEqual(dockerBuild({ ...spec, buildArgs: [], latestImage: 'r/honeydue-api:latest' }).argv, ['docker', 'build', '--target', 'api', '-t', 'r/honeydue-api:t', '-t', 'r/honeydue-api:latest', '-f', 'ctx/Dockerfile', 'ctx']);
  });
  it('buildx build honours --platform and pushes', () => {
    assert.deepEqual(dockerBuildxBuild({ ...spec, platform: 'linux/arm64' }).argv, [
      'docker', 'buildx', 'build', '--platform', 'linux/arm64', '--target', 'api', '-t', 'r/honeydue-api:t', '--build-arg', 'A=1', '--push', '-f', 'ctx/Dockerfile', 'ctx',
    ]);
  });
  it('push, manifest inspect (insecure only on loopback), swarm info, stack config', () => {
    assert.deepEqual(dockerPush('r/x:t').argv, ['docker', 'push', 'r/x:t']);
    assert.deepEqual(manifestInspect('127.0.0.1:5000/x:t', '127.0.0.1:5000').argv, ['docker', 'manifest', 'inspect', '--insecure', '127.0.0.1:5000/x:t']);
    assert.deepEqual(manifestInspect('reg.example.com/x:t', 'reg.example.com').argv, ['docker', 'manifest', 'inspect', 'reg.example.com/x:t']);
    const onTheManager = manifestInspect('127.0.0.1:5000/x:t', '127.0.0.1:5000', 'manager');
    assert.equal(onTheManager.where, 'manager');
    assert.deepEqual(onTheManager.argv, ['docker', 'manifest', 'inspect', '--insecure', '127.0.0.1:5000/x:t']);
    assert.deepEqual(swarmInfo().argv, ['docker', 'info', '--format', '{{json .Swarm}}']);
    assert.equal(swarmInfo().where, 'manager');
    assert.deepEqual(stackConfig('/tmp/s.yml').argv, ['docker', 'stack', 'config', '-c', '/tmp/s.yml']);
  });
  it('loopback registries', () => {
    for (const r of ['127.0.0.1:5000', 'localhost:5000', '127.1.2.3', '[::1]:5000']) assert.ok(isLoopbackRegistry(r), r);
    for (const r of ['registry.example.com', '10.0.0.1:5000', 'ghcr.io']) assert.ok(!isLoopbackRegistry(r), r);
  });
});
