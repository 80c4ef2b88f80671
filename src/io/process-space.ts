/**
 * Which process space a run lives in, so that a lock left by a run that is provably gone can be told from one that
 * is still going. A process id means something only on the machine, boot and (Linux) pid namespace that gave it
 * out: the space is all three in one string. Two runs in the same space can ask the kernel whether the other's
 * pid still runs; a run in any other space never can (another laptop, a container, the same laptop after a
 * reboot), and then nothing is concluded.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

export interface SpaceProbe {
  platform: NodeJS.Platform;
  hostname: () => string;
  read: (file: string) => string | undefined;
  readlink: (file: string) => string | undefined;
  bootTime: () => string | undefined;
}

const realProbe: SpaceProbe = {
  platform: process.platform,
  hostname: () => os.hostname(),
  read: (file) => {
    try {
      return fs.readFileSync(file, 'utf8').trim();
    } catch {
      return undefined;
    }
  },
  readlink: (file) => {
    try {
      return fs.readlinkSync(file);
    } catch {
      return undefined;
    }
  },
  bootTime: () => {
    try {
      // "{ sec = 1764650000, usec = 123456 } Wed Dec  2 ..." — to the microsecond, so two Macs never share it
      return /sec = (\d+), usec = (\d+)/.exec(execFileSync('sysctl', ['-n', 'kern.boottime'], { encoding: 'utf8', timeout: 2000 }))?.slice(1).join('.');
    } catch {
      return undefined;
    }
  },
};

/** This process's space, or undefined where it cannot be named (then no lock is ever judged gone). */
export function processSpace(probe: SpaceProbe = realProbe): string | undefined {
  const host = probe.hostname();
  if (!host) return undefined;
  if (probe.platform === 'linux') {
    const boot = probe.read('/proc/sys/kernel/random/boot_id');
    const pidns = probe.readlink('/proc/self/ns/pid');
    return boot && pidns ? `linux ${host} boot ${boot} ${pidns}` : undefined;
  }
  if (probe.platform === 'darwin') {
    const boot = probe.bootTime();
    return boot ? `darwin ${host} boot ${boot}` : undefined;
  }
  return undefined;
}

let cached: string | undefined | null = null;
export function thisProcessSpace(): string | undefined {
  if (cached === null) cached = processSpace();
  return cached;
}

/** Whether a pid runs in this process's space: a signal 0 that is refused for permission still found a process. */
export function pidRuns(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Why the run that wrote `holder` is certainly gone, or undefined when that cannot be known: only a run of this
 * very process space whose pid no longer runs (and is not this process).
 */
export function goneHolder(holder: { pid: number; space?: string }, here: string | undefined = thisProcessSpace(), runs: (pid: number) => boolean = pidRuns): string | undefined {
  if (!here || holder.space !== here) return undefined;
  if (holder.pid === process.pid || runs(holder.pid)) return undefined;
  return `its process (pid ${holder.pid}) ran on this machine and is no longer running`;
}
