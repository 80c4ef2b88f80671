import { execFileSync } from 'node:child_process';
import path from 'node:path';

/** A client key and a host key (ed25519, no passphrase) in `dir`, for the tests' own ssh2 servers. */
export function sshKeys(dir: string): { key: string; hostKey: string } {
  const key = path.join(dir, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const hostKey = path.join(dir, 'host_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  return { key, hostKey };
}
