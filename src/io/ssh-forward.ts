/**
 * A TCP connection to host:port as seen from the manager (`ssh -L`), through the run's connection: a `direct-tcpip`
 * channel, which MaxSessions does not count, bounded by the SSH timeout (ssh-channels.ts).
 */
import type { Duplex } from 'node:stream';
import type { Client as ClientType } from 'ssh2';
import { withDeadline } from './ssh-channels.js';

export function forwardOn(client: ClientType, host: string, port: number, l: { openMs: number; where: string }): Promise<Duplex> {
  return withDeadline<Duplex>(
    l.openMs,
    `the manager ${l.where} was asked to open a tunnel to ${host}:${port}`,
    (cb) => client.forwardOut('127.0.0.1', 0, host, port, (err, stream) => cb(err, stream as unknown as Duplex)),
    (late) => late.destroy(),
  );
}
