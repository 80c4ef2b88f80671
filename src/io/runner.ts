import type { Command } from '../commands/command.js';

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Executes command values. Judged by exit code only: docker writes progress to stderr. */
export interface Runner {
  run(cmd: Command): Promise<RunResult>;
}

/** The last lines of stderr, for error messages. */
export function tail(text: string, lines = 12): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
