/**
 * Remote commands on the run's connection: each an exec channel, opened under the channel rules (ssh-channels.ts),
 * judged by its exit code, with a deadline of its own once it runs (convergence has its own waits). A channel that
 * closes without an exit code means the connection died.
 */
import type { Client as ClientType, ClientChannel } from 'ssh2';
import { remoteShellString, shellQuote, type Command } from '../commands/command.js';
import { ConnectionLost } from '../errors.js';
import type { RunResult } from './runner.js';
import { openSession, type ChannelGate } from './ssh-channels.js';

/** A manager whose sshd answers but whose docker daemon or swarm role is gone: the run goes on elsewhere. */
/** Of those, the answers of a manager whose swarm has no leader for now (an election): it may have one in seconds. */
export const NO_LEADER_NOW = /swarm does not have a leader|node lost leader status|raft: failed to process the request|rpc error: code = (?:Unavailable|DeadlineExceeded)/;
export const MANAGER_GONE = /Cannot connect to the Docker daemon|Is the docker daemon running\?|error during connect|swarm does not have a leader|node lost leader status|raft: failed to process the request|rpc error: code = (?:Unavailable|DeadlineExceeded)/;

export interface ExecLimits {
  gate: ChannelGate;
  /** the answer to a channel open (DEPLOY_SSH_TIMEOUT) */
  openMs: number;
  /** the command itself, once it runs */
  runMs: number;
  /** where the manager is, in words */
  where: string;
}

/** The exact string the manager's shell runs: owner-only files, the run's private docker config when there is one. */
export function execString(cmd: Command, dockerConfig: string | undefined): string {
  const env = dockerConfig ? `DOCKER_CONFIG=${shellQuote(dockerConfig)}; export DOCKER_CONFIG; ` : '';
  return `umask 077; ${env}${remoteShellString(cmd)}`;
}

function openExec(client: ClientType, line: string, l: ExecLimits): Promise<{ channel: ClientChannel; free: () => void }> {
  return openSession<ClientChannel>(l.gate, {
    deadlineMs: l.openMs,
    what: `the manager ${l.where} was asked to run a command`,
    start: (cb) => client.exec(line, (err, stream) => cb(err, stream)),
    close: (late) => late.close(),
  });
}

/** Runs one command; resolves with its exit code and output, rejects with ConnectionLost when the connection died. */
export async function execOn(client: ClientType, cmd: Command, dockerConfig: string | undefined, l: ExecLimits): Promise<RunResult> {
  const { channel, free } = await openExec(client, execString(cmd, dockerConfig), l);
  return new Promise<RunResult>((resolve, reject) => {
    const out: Buffer[] = [];
    const errOut: Buffer[] = [];
    const timer = setTimeout(() => {
      channel.close();
      finish(() => resolve({ exitCode: 124, stdout: '', stderr: `timed out after ${l.runMs / 1000}s on the manager` }));
    }, l.runMs);
    let done = false;
    const finish = (f: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      free();
      f();
    };
    channel.on('data', (d: Buffer) => out.push(d));
    channel.stderr.on('data', (d: Buffer) => errOut.push(d));
    channel.on('close', (code: number | null | undefined, signal?: string) => {
      const stdout = Buffer.concat(out).toString();
      const stderr = Buffer.concat(errOut).toString();
      if (code === null || code === undefined) {
        if (signal) return finish(() => resolve({ exitCode: 128, stdout, stderr: `${stderr}killed by ${signal}` }));
        return finish(() => reject(new ConnectionLost()));
      }
      finish(() => resolve({ exitCode: code, stdout, stderr }));
    });
    channel.end(cmd.stdin ? cmd.stdin.data : undefined);
  });
}

/**
 * Runs a command whose output is a stream (logs --follow): chunks go to the sinks as they come, with no deadline
 * once it runs; `stop` ends it. Resolves with the exit code (0 when stopped).
 */
export async function streamOn(client: ClientType, cmd: Command, dockerConfig: string | undefined, l: ExecLimits, sinks: { stdout: (b: Buffer) => void; stderr: (b: Buffer) => void }, stop: AbortSignal): Promise<number> {
  const { channel, free } = await openExec(client, execString(cmd, dockerConfig), l);
  return new Promise<number>((resolve, reject) => {
    const onStop = () => channel.close();
    stop.addEventListener('abort', onStop, { once: true });
    channel.on('data', sinks.stdout);
    channel.stderr.on('data', sinks.stderr);
    channel.on('close', (code: number | null | undefined) => {
      free();
      stop.removeEventListener('abort', onStop);
      if (stop.aborted) return resolve(0);
      if (code === null || code === undefined) return reject(new ConnectionLost());
      resolve(code);
    });
    channel.end();
  });
}
