/**
 * Uploads over SFTP on the run's connection: an SFTP channel (a session channel, counted against MaxSessions) is
 * opened for each upload under the channel rules (ssh-channels.ts) and closed after it, so it never holds a place
 * the run's commands need. Each step is bounded by the SSH timeout.
 */
import type { Client as ClientType, SFTPWrapper } from 'ssh2';
import type { Upload } from '../commands/command.js';
import { openSession, withDeadline, type ChannelGate } from './ssh-channels.js';

export async function uploadOn(client: ClientType, u: Upload, l: { gate: ChannelGate; openMs: number; where: string }): Promise<void> {
  const { channel: sftp, free } = await openSession<SFTPWrapper>(l.gate, {
    deadlineMs: l.openMs,
    what: `the manager ${l.where} was asked to start SFTP`,
    start: (cb) => client.sftp((err, s) => cb(err, s)),
    close: (late) => late.end(),
  });
  try {
    const what = `the manager ${l.where} was writing ${u.remotePath}`;
    await withDeadline<true>(l.openMs, what, (cb) => sftp.writeFile(u.remotePath, u.data, { mode: u.mode }, (err) => cb(err ?? undefined, true)));
    // writeFile's mode applies on create only; make sure of it either way
    await withDeadline<true>(l.openMs, what, (cb) => sftp.chmod(u.remotePath, u.mode, (err) => cb(err ?? undefined, true)));
  } finally {
    sftp.end();
    free();
  }
}
