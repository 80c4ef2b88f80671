/**
 * `honeydue-deploy logs SERVICE [--since D] [--tail N] [--follow]`: `docker service logs` through the one SSH
 * connection. Every secret value of the deploy dir is redacted from the stream, line by line, before it reaches
 * the terminal (a line is held until it is complete, so a secret split across two chunks is still caught).
 */
import { serviceLogs, stackServiceNames } from '../commands/stack.js';
import type { Flags } from '../config/settings.js';
import { ConfigError, EXIT } from '../errors.js';
import { execChecked, manager } from '../steps/context.js';
import { StringDecoder } from 'node:string_decoder';
import type { Redactor } from '../ui/redact.js';
import type { Reporter } from '../ui/reporter.js';
import { finalLine, type ActionResult } from '../result.js';
import { openCtx } from './session.js';

export interface LogFlags extends Flags {
  since?: string;
  tail?: string;
  follow?: boolean;
}

/** Whole lines, redacted, to `out`; the rest waits for its newline (or for `flush`). */
export function redactingLineWriter(redactor: Redactor, out: (text: string) => void): { write: (b: Buffer) => void; flush: () => void } {
  let pending = '';
  // a character whose bytes fall across two chunks is decoded once it is whole
  const decoder = new StringDecoder('utf8');
  return {
    write: (b) => {
      pending += decoder.write(b);
      const end = pending.lastIndexOf('\n');
      if (end === -1) return;
      out(redactor.redact(pending.slice(0, end + 1)));
      pending = pending.slice(end + 1);
    },
    flush: () => {
      pending += decoder.end();
      if (pending) out(redactor.redact(pending));
      pending = '';
    },
  };
}

export function logOptionProblems(o: LogFlags): string[] {
  const problems: string[] = [];
  if (o.since !== undefined && !/^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$|^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$|^\d+$/.test(o.since)) {
    problems.push(`command line: --since: "${o.since}" is not a time — write a duration like 10m or 2h, or a date like 2026-11-28T08:00:00Z`);
  }
  if (o.tail !== undefined && !/^(\d+|all)$/.test(o.tail)) problems.push(`command line: --tail: "${o.tail}" is not a line count — write a whole number or all`);
  return problems;
}

export async function logsAction(service: string, flags: LogFlags, env: NodeJS.ProcessEnv, reporter: Reporter): Promise<ActionResult> {
  const problems = logOptionProblems(flags);
  if (problems.length) throw new ConfigError(problems);
  const ctx = await openCtx(flags, env, reporter, 'logs', { fetchSecrets: true });
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const stack = ctx.release.stackName;
    const names = (await execChecked(ctx, stackServiceNames(stack), 'listing the stack services')).stdout.split('\n').map((l) => l.trim()).filter((l) => l.startsWith(`${stack}_`));
    const full = `${stack}_${service}`;
    if (!names.includes(full)) {
      throw new ConfigError(`command line: SERVICE: ${service} is not a service of the stack ${stack} — use one of ${names.map((n) => n.slice(stack.length + 1)).join(', ') || '(none: the stack is not deployed)'}`);
    }
    const out = redactingLineWriter(reporter.redactor, (t) => process.stdout.write(t));
    const err = redactingLineWriter(reporter.redactor, (t) => process.stderr.write(t));
    const code = await manager(ctx).stream(serviceLogs(full, flags), { stdout: out.write, stderr: err.write }, stop.signal);
    out.flush();
    err.flush();
    if (code !== 0) return { exitCode: EXIT.rolledBack, finalLine: finalLine(EXIT.rolledBack, `docker service logs exited ${code}`, 'failed') };
    return { exitCode: EXIT.ok, finalLine: finalLine(EXIT.ok, `${stop.signal.aborted ? 'stopped' : 'end of'} the logs of ${full}; nothing was changed`) };
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    ctx.session?.close();
  }
}
