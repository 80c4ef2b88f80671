/**
 * A lock's holder is judged gone only when it is provably so: written in this very process space (machine, boot,
 * pid namespace) by a pid that no longer runs. Anything else — another laptop, a container, the same laptop after a
 * reboot, a record without a space — is never concluded about.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { goneHolder, pidRuns, processSpace, thisProcessSpace, type SpaceProbe } from '../../../src/io/process-space.js';

const probe = (o: Partial<SpaceProbe>): SpaceProbe => ({
  platform: 'linux', hostname: () => 'laptop', read: () => 'b00t-1d', readlink: () => 'pid:[4026531836]', bootTime: () => undefined, ...o,
});

describe('the process space', () => {
  it('linux: host, boot id and pid namespace; macOS: host and boot time; unnamed where a part is missing', () => {
    assert.equal(processSpace(probe({})), 'linux laptop boot b00t-1d pid:[4026531836]');
    assert.equal(processSpace(probe({ readlink: () => 'pid:[4026532555]' })), 'linux laptop boot b00t-1d pid:[4026532555]');
    assert.equal(processSpace(probe({ read: () => undefined })), undefined);
    assert.equal(processSpace(probe({ readlink: () => undefined })), undefined);
    assert.equal(processSpace(probe({ platform: 'darwin', bootTime: () => '1764650000.123456' })), 'darwin laptop boot 1764650000.123456');
    assert.equal(processSpace(probe({ platform: 'darwin' })), undefined);
    assert.equal(processSpace(probe({ platform: 'win32' })), undefined);
    assert.equal(processSpace(probe({ hostname: () => '' })), undefined);
  });

  it('this machine has one, and it names this boot', { skip: process.platform !== 'linux' }, () => {
    const here = thisProcessSpace()!;
    assert.match(here, /^linux \S+ boot [0-9a-f-]{36} pid:\[\d+\]$/);
  });

  it('a pid runs while its process does (a process of another user counts), not after it exited', () => {
    assert.equal(pidRuns(process.pid), true);
    assert.equal(pidRuns(1), true);
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    assert.equal(pidRuns(Number(child.stdout)), false);
  });
});

describe('a lock holder that is gone', () => {
  const here = 'linux laptop boot b00t-1d pid:[4026531836]';
  it('same space, pid not running: gone, and why', () => {
    assert.equal(goneHolder({ pid: 4242, space: here }, here, () => false), 'its process (pid 4242) ran on this machine and is no longer running');
  });
  it('same space, pid running: not gone', () => {
    assert.equal(goneHolder({ pid: 4242, space: here }, here, () => true), undefined);
  });
  it('another host, another boot, another pid namespace, no space recorded, or none here: never concluded', () => {
    for (const space of ['linux other boot b00t-1d pid:[4026531836]', 'linux laptop boot n3w-b00t pid:[4026531836]', 'linux laptop boot b00t-1d pid:[4026532999]', undefined]) {
      assert.equal(goneHolder({ pid: 4242, space }, here, () => false), undefined, String(space));
    }
    assert.equal(goneHolder({ pid: 4242, space: here }, undefined, () => false), undefined);
  });
  it('this very process is never gone', () => {
    assert.equal(goneHolder({ pid: process.pid, space: here }, here, () => false), undefined);
  });
});
