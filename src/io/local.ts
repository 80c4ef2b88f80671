import { execa } from 'execa';
import type { Command } from '../commands/command.js';
import type { RunResult, Runner } from './runner.js';

/** Runs command values on the laptop with execa: argv as given, no shell, stdin from the value. */
export class LocalRunner implements Runner {
  /** environment for every command of the run (DOCKER_CONFIG once the run has its private docker config) */
  env: Record<string, string> = {};

  async run(cmd: Command, opts: { cancel?: AbortSignal } = {}): Promise<RunResult> {
    if (cmd.where !== 'local') throw new Error(`LocalRunner cannot run a ${cmd.where} command`);
    const [program, ...args] = cmd.argv;
    const result = await execa(program!, args, {
      reject: false,
      cwd: cmd.cwd,
      env: { ...this.env, ...cmd.env },
      extendEnv: true,
      stripFinalNewline: false,
      ...(opts.cancel ? { cancelSignal: opts.cancel } : {}),
      ...(cmd.stdin ? { input: cmd.stdin.data } : { stdin: 'ignore' as const }),
    });
    if (result.exitCode === undefined) {
      // could not start (e.g. docker not installed) or killed by a signal
      const why = (result as { code?: string }).code === 'ENOENT' ? `${program} is not installed or not on PATH` : result.shortMessage;
      return { exitCode: 127, stdout: String(result.stdout ?? ''), stderr: `${String(result.stderr ?? '')}${why}` };
    }
    return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
  }
}
