/**
 * The remote scripts are run here with the same /bin/sh a manager has, with hostile values, to prove that
 * values travel as data: nothing they contain is executed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Command } from '../../../src/commands/command.js';
import { remoteShellString } from '../../../src/commands/command.js';
import { acquireLock, appendAudit, checkRemoteDir, readCurrentPointer, readLockOwner, releaseLock, writeCurrentPointer, listReleases, makeReleaseDir, removeReleaseDirs } from '../../../src/commands/remote-files.js';
import { tempDir } from '../../helpers/tmp.js';

function runRemote(c: Command, cwd: string): { code: number; stdout: string } {
  const r = spawnSync('/bin/sh', ['-c', remoteShellString(c)], { cwd, input: c.stdin?.data, encoding: 'utf8' });
  return { code: r.status ?? 1, stdout: r.stdout };
}

const HOSTILE = `d $(touch pwned1) \`touch pwned2\`; touch pwned3 'q' "dq"`;

describe('remote file scripts', () => {
  it('the lock is taken atomically once, records its owner, and is released only by its owner', () => {
    const home = tempDir('hd-remote-');
    const owner = JSON.stringify({ who: 'me@laptop', deployId: 'v1_20260101000000' });
    assert.equal(runRemote(acquireLock(HOSTILE, owner), home).code, 0);
    assert.notEqual(runRemote(acquireLock(HOSTILE, '{"deployId":"other"}'), home).code, 0, 'a second acquire must fail');
    assert.equal(runRemote(readLockOwner(HOSTILE), home).stdout, owner);
    runRemote(releaseLock(HOSTILE, 'other_20260101000000'), home);
    assert.ok(fs.existsSync(path.join(home, HOSTILE, 'lock')), 'another run must not release my lock');
    runRemote(releaseLock(HOSTILE, 'v1_20260101000000'), home);
    assert.ok(!fs.existsSync(path.join(home, HOSTILE, 'lock')));
    assert.deepEqual(fs.readdirSync(home).filter((f) => f.startsWith('pwned')), [], 'nothing in the value may run');
  });

  it('the current pointer is written atomically and read back; missing reads as empty', () => {
    const home = tempDir('hd-remote-');
    assert.equal(runRemote(readCurrentPointer(HOSTILE), home).stdout, '');
    fs.mkdirSync(path.join(home, HOSTILE));
    assert.equal(runRemote(writeCurrentPointer(HOSTILE, 'v1_$(id)'), home).code, 0);
    assert.equal(runRemote(readCurrentPointer(HOSTILE), home).stdout, 'v1_$(id)\n');
    assert.ok(!fs.existsSync(path.join(home, HOSTILE, 'current.tmp')));
  });

  it('release folders are created 0700, listed and removed', () => {
    const home = tempDir('hd-remote-');
    assert.equal(runRemote(makeReleaseDir('hd', 'hd/releases/a_20260101000000'), home).code, 0);
    assert.equal(fs.statSync(path.join(home, 'hd/releases/a_20260101000000')).mode & 0o777, 0o700);
    assert.equal(runRemote(listReleases('hd'), home).stdout, 'a_20260101000000\n');
    runRemote(removeReleaseDirs('hd', ['a_20260101000000']), home);
    assert.equal(runRemote(listReleases('hd'), home).stdout, '');
  });

  it('audit lines are appended, one per call', () => {
    const home = tempDir('hd-remote-');
    runRemote(appendAudit(HOSTILE, '{"n":1}'), home);
    runRemote(appendAudit(HOSTILE, '{"n":"$(touch pwned4)"}'), home);
    assert.equal(fs.readFileSync(path.join(home, HOSTILE, 'audit.log'), 'utf8'), '{"n":1}\n{"n":"$(touch pwned4)"}\n');
    assert.deepEqual(fs.readdirSync(home).filter((f) => f.startsWith('pwned')), []);
  });

  it('the remote dir must be a real folder of the user, writable by nobody else; it is made 0700', () => {
    const home = tempDir('hd-remote-');
    assert.equal(runRemote(checkRemoteDir(HOSTILE), home).code, 0, 'a dir that does not exist yet is fine');
    fs.mkdirSync(path.join(home, HOSTILE), { mode: 0o755 });
    fs.chmodSync(path.join(home, HOSTILE), 0o755);
    assert.equal(runRemote(checkRemoteDir(HOSTILE), home).code, 0);
    assert.equal(fs.statSync(path.join(home, HOSTILE)).mode & 0o777, 0o700);
    fs.chmodSync(path.join(home, HOSTILE), 0o777);
    assert.deepEqual(runRemote(checkRemoteDir(HOSTILE), home), { code: 3, stdout: 'is writable by group or others (mode 777)\n' });
    fs.symlinkSync(path.join(home, HOSTILE), path.join(home, 'link'));
    assert.deepEqual(runRemote(checkRemoteDir('link'), home), { code: 3, stdout: 'is a symbolic link\n' });
    fs.writeFileSync(path.join(home, 'file'), '');
    assert.deepEqual(runRemote(checkRemoteDir('file'), home), { code: 3, stdout: 'is not a folder\n' });
    assert.deepEqual(fs.readdirSync(home).filter((f) => f.startsWith('pwned')), []);
  });
});
