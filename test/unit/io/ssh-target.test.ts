/** The printed ssh-keyscan line works as pasted: quoted like every printed command. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { keyscanLine, type SshEndpoint } from '../../../src/io/ssh-target.js';
import { tempDir } from '../../helpers/tmp.js';

const endpoint = (o: Partial<SshEndpoint>): SshEndpoint => ({ alias: 'm', host: '10.0.0.5', port: 2222, username: 'deploy', knownHostsPath: '/x', identityFiles: [], ...o });

/** Runs the line with a stand-in ssh-keyscan that prints one key line for the host it is given. */
function paste(line: string, cwd: string): void {
  const bin = tempDir('hd-keyscan-bin-');
  fs.writeFileSync(path.join(bin, 'ssh-keyscan'), '#!/bin/sh\nshift 2\necho "[$1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample"\n', { mode: 0o755 });
  const r = spawnSync('/bin/sh', ['-c', line], { cwd, env: { PATH: `${bin}:/usr/bin:/bin` }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

describe('the ssh-keyscan line', () => {
  it('a known_hosts path with a space: the key lands in that file, no stray file', () => {
    const dir = tempDir('hd-keyscan-');
    const file = path.join(dir, 'my keys', 'known_hosts');
    fs.mkdirSync(path.dirname(file));
    paste(keyscanLine(endpoint({ knownHostsPath: file })), dir);
    assert.equal(fs.readFileSync(file, 'utf8'), '[10.0.0.5]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample\n');
    assert.deepEqual(fs.readdirSync(dir), ['my keys']);
  });
  it('a HostKeyAlias with a / names the key line by the alias', () => {
    const dir = tempDir('hd-keyscan-');
    const file = path.join(dir, 'known_hosts');
    paste(keyscanLine(endpoint({ knownHostsPath: file, hostKeyAlias: 'prod/manager-1' })), dir);
    assert.equal(fs.readFileSync(file, 'utf8'), 'prod/manager-1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample\n');
    assert.deepEqual(fs.readdirSync(dir), ['known_hosts']);
  });
});
