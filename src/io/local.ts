import { execa } from 'execa';
import type { Command } from '../commands/command.js';
import type { RunResult, Runner } from './runner.js';

/** How long the output of a process that exited may still come, from a child it left holding its pipes. */
const EXITED_GRACE_MS = 300;

/** Runs command values on the laptop with execa: argv as given, no shell, stdin from the value. */
export class LocalRunner implements Runner {
  /** environment for every command of the run (DOCKER_CONFIG once the run has its private docker config) */
  env: Record<string, string> = {};

  /**
   * opts.env replaces the environment whole (a hook gets exactly what it is given); opts.onLine sees each line of
   * output as it comes; opts.timeoutMs ends the process (SIGTERM, SIGKILL 5 s later) and the result says so.
   */
  async run(cmd: Command, opts: { cancel?: AbortSignal; env?: Record<string, string>; onLine?: (line: string) => void; timeoutMs?: number; bytes?: boolean } = {}): Promise<RunResult & { timedOut?: boolean; stdoutBytes?: Buffer }> {
    if (cmd.where !== 'local') throw new Error(`LocalRunner cannot run a ${cmd.where} command`);
    const [program, ...args] = cmd.argv;
    // with a timeout the command runs in a process group of its own, and the whole group is stopped (a hook's
    // `sleep` must not hold its output open after the hook itself is gone)
    const group = opts.timeoutMs !== undefined;
    const child = execa(program!, args, {
      reject: false,
      cwd: cmd.cwd,
      env: opts.env ?? { ...this.env, ...cmd.env },
      extendEnv: opts.env === undefined,
      stripFinalNewline: false,
      // a secret fetched from a password manager may be any bytes: kept as they are
      ...(opts.bytes ? { encoding: 'buffer' as const } : {}),
      ...(group ? { detached: true } : {}),
      ...(opts.cancel && !group ? { cancelSignal: opts.cancel } : {}),
      ...(cmd.stdin ? { input: cmd.stdin.data } : { stdin: 'ignore' as const }),
    });
    let timedOut = false;
    const timers: NodeJS.Timeout[] = [];
    const stopGroup = () => {
      const kill = (sig: NodeJS.Signals) => {
        try {
          if (child.pid) process.kill(-child.pid, sig);
        } catch {
          // already gone
        }
      };
      kill('SIGTERM');
      timers.push(setTimeout(() => kill('SIGKILL'), 5_000));
    };
    if (group) {
      timers.push(setTimeout(() => {
        timedOut = true;
        stopGroup();
      }, opts.timeoutMs));
      opts.cancel?.addEventListener('abort', stopGroup, { once: true });
    }
    if (opts.onLine) {
      const onLine = opts.onLine;
      for (const stream of [child.stdout, child.stderr]) {
        let rest = '';
        stream?.on('data', (d: Buffer) => {
          const lines = (rest + d.toString()).split('\n');
          rest = lines.pop() ?? '';
          for (const l of lines) onLine(l);
        });
        stream?.on('end', () => rest && onLine(rest));
      }
    }
    // a process that exited is judged by its exit code at once: a child it left running (`setsid sleep 25 &`) may keep
    // the output pipes open, and is not waited for (its pipes are closed after a moment for the last lines)
    let exitedEarly: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const result = group
      ? await Promise.race([
          child,
          new Promise<undefined>((resolve) =>
            child.once('exit', (code, signal) => {
              const grace = setTimeout(() => {
                exitedEarly = { code, signal };
                for (const stream of [child.stdout, child.stderr]) stream?.destroy();
                resolve(undefined);
              }, EXITED_GRACE_MS);
              void child.finally(() => clearTimeout(grace));
            }),
          ),
        ])
      : await child;
    for (const t of timers) clearTimeout(t);
    if (result === undefined) {
      opts.cancel?.removeEventListener('abort', stopGroup);
      const e = exitedEarly!;
      if (timedOut) return { exitCode: 124, stdout: '', stderr: '', timedOut: true };
      return { exitCode: e.code ?? 128, stdout: '', stderr: e.signal ? `killed by ${e.signal}` : '' };
    }
    opts.cancel?.removeEventListener('abort', stopGroup);
    const text = (v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : String(v ?? ''));
    if (timedOut) return { exitCode: 124, stdout: opts.bytes ? '' : text(result.stdout), stderr: text(result.stderr), timedOut: true };
    if (result.exitCode === undefined) {
      // could not start (e.g. docker not installed) or killed by a signal
      const why = (result as { code?: string }).code === 'ENOENT' ? `${program} is not installed or not on PATH` : result.shortMessage;
      return { exitCode: 127, stdout: opts.bytes ? '' : text(result.stdout), stderr: `${text(result.stderr)}${why}` };
    }
    if (opts.bytes) {
      const out = Buffer.from(result.stdout as unknown as Uint8Array);
      return { exitCode: result.exitCode, stdout: '', stdoutBytes: out, stderr: Buffer.from(result.stderr as unknown as Uint8Array).toString('utf8') };
    }
    return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
  }
}
