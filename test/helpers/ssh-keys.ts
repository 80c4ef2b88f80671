import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import ssh2 from 'ssh2';

/** A client key and a host key (ed25519, no passphrase) in `dir`, for the tests' own ssh2 servers. */
function sshKeys(dir: string): { key: string; hostKey: string } {
  const key = path.join(dir, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const hostKey = path.join(dir, 'host_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  return { key, hostKey };
}

export interface TestSshServer {
  server: InstanceType<typeof ssh2.Server>;
  port: number;
  /** the client's private key */
  key: string;
  /** a known_hosts file naming the server's host key at [127.0.0.1]:port */
  knownHosts: string;
}

/**
 * An ssh2 server of the test's own on 127.0.0.1 (a free port), accepting any client that authenticates; `onClient`
 * says what it does once a client is in. Its keys and known_hosts in `dir`.
 */
export async function testSshServer(dir: string, onClient: (client: ssh2.Connection) => void): Promise<TestSshServer> {
  const { key, hostKey } = sshKeys(dir);
  const server = new ssh2.Server({ hostKeys: [fs.readFileSync(hostKey)] }, (client) => {
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => ctx.accept());
    onClient(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const knownHosts = path.join(dir, 'known_hosts');
  fs.writeFileSync(knownHosts, `[127.0.0.1]:${port} ${fs.readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ')}\n`);
  return { server, port, key, knownHosts };
}
