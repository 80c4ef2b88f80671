import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspectServices, serviceRemove, serviceRollback, stackDeploy, stackTasks, stackServiceIds, stackServiceNames } from '../../../src/commands/stack.js';
import { createSecret, listSecrets, removeSecrets } from '../../../src/commands/secrets.js';

describe('stack and secret command builders', () => {
  it('stack deploy runs with registry auth from the release folder; --prune only when asked', () => {
    const c = stackDeploy('honeydue', 'hd/releases/x', {});
    assert.deepEqual(c.argv, ['docker', 'stack', 'deploy', '--with-registry-auth', '-c', 'swarm-stack.yml', 'honeydue']);
    assert.equal(c.cwd, 'hd/releases/x');
    assert.deepEqual(stackDeploy('honeydue', 'd', { prune: true }).argv, ['docker', 'stack', 'deploy', '--with-registry-auth', '--prune', '-c', 'swarm-stack.yml', 'honeydue']);
  });
  it('convergence reads services and running tasks as JSON', () => {
    assert.deepEqual(stackServiceIds('s').argv, ['docker', 'stack', 'services', '--quiet', 's']);
    assert.deepEqual(stackServiceNames('s').argv, ['docker', 'stack', 'services', '--format', '{{.Name}}', 's']);
    assert.deepEqual(inspectServices(['a', 'b']).argv, ['docker', 'service', 'inspect', '--format', '{{json .}}', 'a', 'b']);
    assert.deepEqual(stackTasks('s').argv, ['docker', 'stack', 'ps', 's', '--no-trunc', '--format', '{{json .}}']);
    assert.deepEqual(serviceRollback('s_api').argv, ['docker', 'service', 'rollback', '--detach', 's_api']);
    assert.deepEqual(serviceRemove('s_api').argv, ['docker', 'service', 'rm', 's_api']);
  });
  it('secret create streams the bytes on stdin and labels the secret', () => {
    const data = Buffer.from([0, 1, 2, 10, 13]);
    const c = createSecret('hd_secret_key_t_20260101000000', 'secret_key', 'hd', 't_20260101000000', 'secrets/secret_key.txt', data);
    assert.deepEqual(c.argv, [
      'docker', 'secret', 'create', '--label', 'com.honeydue.deploy.secret=secret_key', '--label', 'com.honeydue.deploy.stack=hd', '--label', 'com.honeydue.deploy.id=t_20260101000000',
      'hd_secret_key_t_20260101000000', '-',
    ]);
    assert.equal(c.stdin?.secret, true);
    assert.equal(c.stdin?.data, data);
    assert.deepEqual(listSecrets().argv, ['docker', 'secret', 'ls', '--filter', 'label=com.honeydue.deploy.secret', '--format', '{{.Name}}\t{{.Label "com.honeydue.deploy.stack"}}']);
    assert.deepEqual(removeSecrets(['a', 'b']).argv, ['docker', 'secret', 'rm', 'a', 'b']);
  });
});
