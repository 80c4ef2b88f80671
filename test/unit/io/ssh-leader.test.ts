/**
 * A manager whose swarm has no leader for a moment (an election after a manager was lost) is not a lost manager: an
 * ssh2 server of a few lines answers "no leader" for a while, then like a manager again. The session waits for a
 * leader (its node list answering), asks the command once more, and keeps its connection; a swarm that stays without
 * a leader past the wait is a manager that stopped serving, named with docker's words.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManagerSession } from '../../../src/io/ssh.js';
import { resolveTarget } from '../../../src/io/ssh-target.js';
import { ConnectionLost } from '../../../src/errors.js';
import { tempDir } from '../../helpers/tmp.js';
import { testSshServer, type TestSshServer } from '../../helpers/ssh-keys.js';

const NO_LEADER = 'Error response from daemon: rpc error: code = Unknown desc = The swarm does not have a leader. It\'s possible that too few managers are online. Make sure more than half of the managers are online.\n';

let port = 0;
let key = '';
let knownHosts = '';
let server: TestSshServer['server'] | undefined;
/** the commands the server was asked to run, in order */
let asked: string[] = [];
/** how many more commands answer "no leader" */
let leaderless = 0;

before(async () => {
  const own = await testSshServer(tempDir('hd-ssh-leader-'), (client) => {
    client.on('session', (accept) => {
      const session = accept();
      session.on('exec', (acceptExec, _reject, info) => {
        const stream = acceptExec();
        asked.push(info.command);
        if (leaderless > 0) {
          leaderless -= 1;
          stream.stderr.write(NO_LEADER);
          stream.exit(1);
        } else {
          stream.write('ok\n');
          stream.exit(0);
        }
        stream.end();
      });
    });
  });
  ({ server, port, key, knownHosts } = own);
});

after(() => {
  server?.close();
});

const target = () => resolveTarget({ host: '127.0.0.1', user: 'deploy', port, key, knownHosts });

describe('a swarm without a leader for a moment', () => {
  it('the command is asked once more when the swarm has a leader again; the connection stays', { timeout: 30_000 }, async () => {
    const session = await ManagerSession.connect(target(), { readyTimeoutMs: 5000, leaderWaitMs: 10_000 });
    try {
      asked = [];
      // the command and the first probe answer "no leader"; the second probe finds a leader
      leaderless = 2;
      const r = await session.run({ where: 'manager', argv: ['docker', 'service', 'ls'] });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(r.stdout.trim(), 'ok');
      assert.equal(asked.length, 4, asked.join('\n'));
      assert.match(asked[0]!, /docker service ls/);
      assert.match(asked[1]!, /docker node ls --quiet/);
      assert.match(asked[2]!, /docker node ls --quiet/);
      assert.match(asked[3]!, /docker service ls/);
      assert.equal(session.alive, true);
    } finally {
      session.close();
    }
  });
  it('still no leader after the wait: the manager stopped serving, in docker\'s words', { timeout: 30_000 }, async () => {
    const session = await ManagerSession.connect(target(), { readyTimeoutMs: 5000, leaderWaitMs: 2500 });
    try {
      leaderless = 1000;
      const t = Date.now();
      await assert.rejects(session.run({ where: 'manager', argv: ['docker', 'service', 'ls'] }), (e: unknown) => e instanceof ConnectionLost && /stopped serving: .*does not have a leader/.test((e as Error).message));
      assert.ok(Date.now() - t >= 2000, 'waited for a leader first');
    } finally {
      leaderless = 0;
      session.close();
    }
  });
});
