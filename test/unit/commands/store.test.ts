/**
 * The lock's release script run by a real `sh` against a stand-in `docker` on PATH that answers as docker does:
 * only "no such config" means the lock is gone; any other failure (no leader, a lost daemon) is a lock still held.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { releaseLockObject } from '../../../src/commands/store.js';
import { tempDir } from '../../helpers/tmp.js';

/** A `docker` whose `config inspect` prints INSPECT (exit INSPECT_EXIT) and that logs every call. */
function stubDocker(inspect: string, inspectExit: number): { bin: string; log: string } {
  const bin = tempDir('hd-stub-docker-');
  const log = path.join(bin, 'calls');
  fs.writeFileSync(
    path.join(bin, 'docker'),
    `#!/bin/sh\necho "$*" >> '${log}'\ncase "$2" in inspect) printf '%s\\n' "$HD_INSPECT" ${inspectExit ? '>&2' : ''}; exit ${inspectExit};; rm) exit 0;; esac\nexit 9\n`,
    { mode: 0o755 },
  );
  process.env.HD_INSPECT = inspect;
  return { bin, log };
}

function release(stub: { bin: string }, deployId: string) {
  const c = releaseLockObject('hd_hd-lock', deployId);
  return spawnSync(c.argv[0]!, c.argv.slice(1), { encoding: 'utf8', env: { PATH: `${stub.bin}:/usr/bin:/bin`, HD_INSPECT: process.env.HD_INSPECT } });
}

describe('releasing the deploy lock', () => {
  it('held by this run: removed by its swarm ID', () => {
    const stub = stubDocker('abc123 run_20261207100000', 0);
    const r = release(stub, 'run_20261207100000');
    assert.equal(r.status, 0, r.stderr);
    assert.match(fs.readFileSync(stub.log, 'utf8'), /^config rm abc123$/m);
  });
  it('held by another run: left alone, exit 0', () => {
    const stub = stubDocker('abc123 other_20261207100000', 0);
    assert.equal(release(stub, 'run_20261207100000').status, 0);
    assert.doesNotMatch(fs.readFileSync(stub.log, 'utf8'), /config rm/);
  });
  it('already gone ("No such config"): exit 0', () => {
    const stub = stubDocker('Error response from daemon: config hd_hd-lock not found', 1);
    assert.equal(release(stub, 'run_20261207100000').status, 0);
    const stub2 = stubDocker('Error: No such config: hd_hd-lock', 1);
    assert.equal(release(stub2, 'run_20261207100000').status, 0);
  });
  it('the swarm has no leader: exit 1 with docker\'s words — never reported as released', () => {
    const stub = stubDocker('Error response from daemon: rpc error: code = Unknown desc = The swarm does not have a leader. It\'s possible that too few managers are online. Make sure more than half of the managers are online.', 1);
    const r = release(stub, 'run_20261207100000');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /The swarm does not have a leader/);
    assert.doesNotMatch(fs.readFileSync(stub.log, 'utf8'), /config rm/);
  });
});
