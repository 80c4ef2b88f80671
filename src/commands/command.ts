/**
 * Every command the tool runs is a value: what to run, where, and what goes to its stdin. Secret bytes only
 * ever travel as stdin marked `secret`, so printing a command (the plan, an error) can never show them.
 */
export type Where = 'local' | 'manager';

export interface Stdin {
  /** secret stdin is shown as `[redacted: label]`; other stdin as its label */
  secret: boolean;
  label: string;
  data: Buffer | string;
}

export interface Command {
  where: Where;
  argv: readonly string[];
  stdin?: Stdin;
  /** remote: `cd` here first (relative paths are relative to the deploy user's home) */
  cwd?: string;
  /** local only: extra environment (never secrets) */
  env?: Readonly<Record<string, string>>;
}

/** A file written over SFTP. Shown in the plan by path, mode and size, never by content. */
export interface Upload {
  kind: 'upload';
  remotePath: string;
  mode: number;
  data: Buffer | string;
  label: string;
}

export function local(argv: readonly string[], extra: Omit<Command, 'where' | 'argv'> = {}): Command {
  return { where: 'local', argv, ...extra };
}

export function onManager(argv: readonly string[], extra: Omit<Command, 'where' | 'argv' | 'env'> = {}): Command {
  return { where: 'manager', argv, ...extra };
}

/**
 * One remote command that prints several parts with a separator line between them (one round trip for several
 * looks): `sh -c 'PART1\necho "$2"\nPART2…' sh ARG SEPARATOR`, each part reading ARG as $1. splitParts reads it.
 */
export function partsCommand(parts: readonly string[], arg: string, separator: string): Command {
  return onManager(['sh', '-c', parts.join('\necho "$2"\n'), 'sh', arg, separator]);
}

/** The parts of a partsCommand's output (all of it as one part when no separator came). */
export function splitParts(stdout: string, separator: string): string[] {
  return stdout.split(`${separator}\n`);
}

export function secretStdin(label: string, data: Buffer | string): Stdin {
  return { secret: true, label, data };
}

const SAFE_WORD = /^[A-Za-z0-9_\/.,:=@%+^-]+$/;

/**
 * POSIX single-quote quoting. The manager's login shell may be dash, so nothing bash-only (like $'…') is
 * used. Any byte sequence survives: a single quote is closed, escaped, and reopened.
 */
export function shellQuote(word: string): string {
  if (word !== '' && SAFE_WORD.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function shellLine(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

/** The exact string handed to the manager's shell over SSH. */
export function remoteShellString(cmd: Command): string {
  const line = shellLine(cmd.argv);
  return cmd.cwd ? `cd ${shellQuote(cmd.cwd)} && ${line}` : line;
}

/**
 * A command for a person to run by hand (in the "run these by hand" list): the very string the tool itself
 * would execute, with the same quoting — never a second, hand-assembled copy.
 */
export function byHand(cmd: Command): string {
  return cmd.where === 'manager' ? remoteShellString(cmd) : shellLine(cmd.argv);
}

/** How a command is shown to people: in the plan, in progress lines and in errors. */
export function display(cmd: Command): string {
  const envPart = cmd.env
    ? Object.entries(cmd.env)
        .map(([k, v]) => `${k}=${shellQuote(v)} `)
        .join('')
    : '';
  const body = cmd.where === 'manager' ? remoteShellString(cmd) : `${envPart}${shellLine(cmd.argv)}`;
  const input = cmd.stdin ? ` < ${cmd.stdin.secret ? `[redacted: ${cmd.stdin.label}]` : cmd.stdin.label}` : '';
  return `${cmd.where === 'manager' ? 'manager' : 'local'}$ ${body}${input}`;
}

export function displayUpload(u: Upload): string {
  const size = typeof u.data === 'string' ? Buffer.byteLength(u.data) : u.data.length;
  return `sftp$ put ${u.label} -> ${u.remotePath} (mode ${u.mode.toString(8).padStart(4, '0')}, ${size} bytes)`;
}
