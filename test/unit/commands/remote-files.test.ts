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
import { checkRemoteDir, listReleases, makeReleaseDir, removeReleaseDirs } from '../../../src/commands/remote-files.js';
import { tempDir } from '../../helpers/tmp.js';

function runRemote(c: Command, cwd: string): { code: number; stdout: string } {
  const r = spawnSync('/bin/sh', ['-c', remoteShellString(c)], { cwd, input: c.stdin?.data, encoding: 'utf8' });
  return { code: r.status ?? 1, stdout: r.stdout };
}

const HOSTILE = `d $(touch pwned1) \`touch pwned2\`; touch pwned3 'q' "dq"`;

describe('remote file scripts', () => {
  it('a working folder is one stack\'s: claimed by the first, refused to another (exit 4 naming the owner)', () => {
    const home = tempDir('hd-remote-');
    assert.equal(runRemote(checkRemoteDir('shared dir', 'alpha'), home).code, 0);
    assert.equal(fs.statSync(path.join(home, 'shared dir')).mode & 0o777, 0o700);
    assert.equal(fs.readFileSync(path.join(home, 'shared dir', '.honeydue-stack'), 'utf8'), 'alpha\n');
    assert.equal(runRemote(checkRemoteDir('shared dir', 'alpha'), home).code, 0);
    assert.deepEqual(runRemote(checkRemoteDir('shared dir', 'beta'), home), { code: 4, stdout: 'alpha\n' });
    assert.deepEqual(runRemote(checkRemoteDir('shared dir', 'beta', { fix: false }), home), { code: 4, stdout: 'alpha\n' });
    assert.equal(fs.readFileSync(path.join(home, 'shared dir', '.honeydue-stack'), 'utf8'), 'alpha\n', 'the other stack never takes it over');
  });
  it('release folders are created 0700, listed and removed', () => {
    const home = tempDir('hd-remote-');
    assert.equal(runRemote(makeReleaseDir('hd', 'hd/releases/a_20260101000000'), home).code, 0);
    assert.equal(fs.statSync(path.join(home, 'hd/releases/a_20260101000000')).mode & 0o777, 0o700);
    assert.equal(runRemote(listReleases('hd'), home).stdout, 'a_20260101000000\n');
    runRemote(removeReleaseDirs('hd', ['a_20260101000000']), home);
    assert.equal(runRemote(listReleases('hd'), home).stdout, '');
  });

  it('the remote dir must be a real folder of the user, writable by nobody else; it is made 0700', () => {
    const home = tempDir('hd-remote-');
    assert.equal(runRemote(checkRemoteDir(HOSTILE, 'st', { fix: false }), home).code, 0, 'a dir that does not exist yet is fine');
    assert.equal(fs.existsSync(path.join(home, HOSTILE)), false, 'a check without fix creates nothing');
    fs.mkdirSync(path.join(home, HOSTILE), { mode: 0o755 });
    fs.chmodSync(path.join(home, HOSTILE), 0o755);
    assert.equal(runRemote(checkRemoteDir(HOSTILE, 'st'), home).code, 0);
    assert.equal(fs.statSync(path.join(home, HOSTILE)).mode & 0o777, 0o700);
    fs.chmodSync(path.join(home, HOSTILE), 0o777);
    assert.deepEqual(runRemote(checkRemoteDir(HOSTILE, 'st'), home), { code: 3, stdout: 'is writable by group or others (mode 777)\n' });
    fs.symlinkSync(path.join(home, HOSTILE), path.join(home, 'link'));
    assert.deepEqual(runRemote(checkRemoteDir('link', 'st'), home), { code: 3, stdout: 'is a symbolic link\n' });
    fs.writeFileSync(path.join(home, 'file'), '');
    assert.deepEqual(runRemote(checkRemoteDir('file', 'st'), home), { code: 3, stdout: 'is not a folder\n' });
    assert.deepEqual(fs.readdirSync(home).filter((f) => f.startsWith('pwned')), []);
  });
});
