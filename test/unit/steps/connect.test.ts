import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ManagerSession } from '../../../src/io/ssh.js';
import { refuseManager } from '../../../src/steps/connect.js';

/** A session whose one command (the swarm and quorum look) answers as given. */
const answering = (stdout: string, exitCode = 0, stderr = '') =>
  ({ target: { username: 'deploy' }, run: async () => ({ exitCode, stdout, stderr }) }) as unknown as ManagerSession;

describe('which manager can serve a run', () => {
  it('an active manager of a swarm with quorum serves', async () => {
    assert.equal(await refuseManager(answering('{"LocalNodeState":"active","ControlAvailable":true,"Managers":3}\nquorum\n')), undefined);
  });
  it('a manager of a swarm without quorum is refused, saying why and what to do', async () => {
    assert.equal(
      await refuseManager(answering('{"LocalNodeState":"active","ControlAvailable":true,"Managers":3}\nno-quorum\n')),
      'is a manager, but the swarm has no quorum (fewer than half of its 3 managers are reachable): nothing can be deployed — bring managers back, or as a last resort run `docker swarm init --force-new-cluster` on a surviving manager (see shit_deploy_cant_do.md)',
    );
  });
  it('a worker, a node outside a swarm, a user without docker: each refused with its reason', async () => {
    assert.match((await refuseManager(answering('{"LocalNodeState":"active","ControlAvailable":false}\nquorum\n')))!, /^is a swarm worker, not a manager/);
    assert.match((await refuseManager(answering('{"LocalNodeState":"inactive"}\nno-quorum\n')))!, /^is not part of a swarm \(state: inactive\)/);
    assert.match((await refuseManager(answering('', 1, 'permission denied while trying to connect to the Docker daemon socket')))!, /^cannot run docker as deploy: permission denied/);
  });
});
