/**
 * Exit codes mean one thing each. The top level (cli.ts) maps every error class to exactly one of them.
 */
export const EXIT = {
  /** the new release is serving and healthy (or a dry run / init finished) */
  ok: 0,
  /** the deploy failed and the previous release is serving again */
  rolledBack: 1,
  /** configuration, usage or preflight error: nothing on the cluster was touched */
  config: 2,
  /** the deploy failed and the previous state could not be restored: manual attention needed */
  needsAttention: 3,
  /** interrupted by SIGINT/SIGTERM */
  interrupted: 130,
} as const;

/** Bad configuration or usage. Each problem is one line: `FILE: KEY: what is wrong — what to do`. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[] | string) {
    const list = Array.isArray(problems) ? problems : [problems];
    super(list.join('\n'));
    this.name = 'ConfigError';
    this.problems = list;
  }
}

/** Something checked before the cluster is changed failed (ssh, host key, swarm, registry, images). */
export class PreflightError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PreflightError';
  }
}

/** A command the pipeline depends on exited non-zero. Carries what an operator needs to see. */
export class CommandFailed extends Error {
  readonly display: string;
  readonly exitCode: number;
  readonly stderrTail: string;
  constructor(display: string, exitCode: number, stderrTail: string, what?: string) {
    super(`${what ?? 'command failed'}: \`${display}\` exited ${exitCode}${stderrTail ? `\n${stderrTail}` : ''}`);
    this.name = 'CommandFailed';
    this.display = display;
    this.exitCode = exitCode;
    this.stderrTail = stderrTail;
  }
}

/** The SSH connection to the manager went away mid-run. */
export class ConnectionLost extends Error {
  constructor(message = 'the SSH connection to the manager was lost') {
    super(message);
    this.name = 'ConnectionLost';
  }
}

/** A deploy step failed after the cluster was changed (stack deploy, convergence, health). */
export class DeployFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeployFailed';
  }
}

/** SIGINT or SIGTERM arrived; raised at the next safe point. */
export class Interrupted extends Error {
  readonly signal: string;
  constructor(signal: string) {
    super(`interrupted by ${signal}`);
    this.name = 'Interrupted';
    this.signal = signal;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
