import fs from 'node:fs';
import path from 'node:path';
import dotenv from 'dotenv';
import { ConfigError } from '../errors.js';
import { writeGitignore } from './repository.js';
import { ENV_FILES, OPTIONAL_STACK_FILE, PACKAGED_STACK_TEMPLATE, PLACEHOLDER, REQUIRED_FILES, SECRETS, exampleOf, type EnvFileName, type SecretSpec } from './files.js';

export interface RawEnvFile {
  file: EnvFileName;
  path: string;
  /** values as written, with empty values removed */
  values: Record<string, string>;
  /** keys whose value is still the example's CHANGE_ME placeholder (not in `values`) */
  placeholders: Set<string>;
  /** every key as written, in file order, empty values kept */
  all: Record<string, string>;
  /** keys whose unquoted value dotenv read differently from what the line holds (e.g. cut at a `#`) */
  altered: string[];
  /** keys whose unquoted value holds ` #`: dotenv reads the rest of the line as a comment */
  commentCut: string[];
  /** keys set more than once, with their line numbers (1-based) */
  duplicates: Record<string, number[]>;
  /** the line (1-based) each key is set on last */
  lines: Record<string, number>;
}

/**
 * Unquoted values that dotenv changes: it cuts `KEY=abc#def` at the `#`, so a token or key holding a `#` would
 * silently be used in part. A `#` after white space is an ordinary comment and stays allowed.
 */
const ASSIGNMENT = /^\s*(?:export\s+)?([\w.-]+)\s*=\s*(.*)$/;

export function alteredValues(text: string, parsed: Record<string, string>): string[] {
  const altered: string[] = [];
  const dup = duplicateKeys(text);
  for (const line of text.split(/\r?\n/)) {
    const m = ASSIGNMENT.exec(line);
    // a key set twice is reported as such (its first value is not the one read, whatever it holds)
    if (!m || /^["'`]/.test(m[2]!) || dup[m[1]!]) continue;
    const meant = m[2]!.replace(/\s+#.*$/, '').trim();
    if (parsed[m[1]!] !== undefined && parsed[m[1]!] !== meant && !altered.includes(m[1]!)) altered.push(m[1]!);
  }
  return altered;
}

/**
 * Unquoted values holding ` #`: dotenv reads everything from there as a comment, so
 * `DEFAULT_FROM_EMAIL=honeyDue #1 <noreply@…>` is cut to `honeyDue` without a word. A value is quoted, or a
 * comment stands on its own line: then nothing is ambiguous.
 */
export function commentCutValues(text: string): string[] {
  const keys: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = ASSIGNMENT.exec(line);
    if (!m || /^["'`]/.test(m[2]!)) continue;
    if (/\S\s+#/.test(m[2]!) && !keys.includes(m[1]!)) keys.push(m[1]!);
  }
  return keys;
}

/** Keys assigned on more than one line, with the line numbers. */
export function duplicateKeys(text: string): Record<string, number[]> {
  const lines: Record<string, number[]> = {};
  text.split(/\r?\n/).forEach((line, i) => {
    const m = ASSIGNMENT.exec(line);
    if (m) (lines[m[1]!] ??= []).push(i + 1);
  });
  return Object.fromEntries(Object.entries(lines).filter(([, l]) => l.length > 1));
}

export interface RawSecretFile {
  spec: SecretSpec;
  path: string;
  exists: boolean;
  mode: number;
  size: number;
  data: Buffer;
  isPlaceholder: boolean;
  readError?: string;
}

export interface RawConfig {
  deployDir: string;
  env: Record<EnvFileName, RawEnvFile>;
  secrets: RawSecretFile[];
  stack: { path: string; text: string; packaged: boolean };
}

function kindOf(st: fs.Stats): string {
  if (st.isFile()) return 'a file';
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * Reads a config file that must be a regular file: a folder, a named pipe (which would block the read forever), a
 * socket or a device is bad input naming the file. `shown` is how the file is named in the message.
 */
export function readRegularFile(p: string, shown: string, what: string): Buffer {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch (err) {
    throw new ConfigError(`${shown}: (file): cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}) — ${what}`);
  }
  if (!st.isFile()) throw new ConfigError(`${shown}: (file): is ${kindOf(st)}, not a regular file — ${what}`);
  try {
    return fs.readFileSync(p);
  } catch (err) {
    throw new ConfigError(`${shown}: (file): cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}) — ${what}`);
  }
}

function shownPath(p: string): string {
  return path.relative(process.cwd(), p) || p;
}

/** The files a deploy dir needs that are not there (relative paths). */
export function missingFiles(deployDir: string, fromReferences: ReadonlySet<string> = new Set()): string[] {
  return REQUIRED_FILES.filter((rel) => !SECRETS.some((s) => s.file === rel && fromReferences.has(s.key)) && !fs.existsSync(path.join(deployDir, rel)));
}

/** Copies each missing file from its packaged example. Returns the files it created (relative paths). */
export function createMissingFiles(deployDir: string, fromReferences: ReadonlySet<string> = new Set(), opts: { gitignore?: boolean } = {}): string[] {
  const created: string[] = [];
  for (const rel of REQUIRED_FILES) {
    if (SECRETS.some((s) => s.file === rel && fromReferences.has(s.key))) continue;
    const target = path.join(deployDir, rel);
    if (fs.existsSync(target)) continue;
    const folder = path.dirname(target);
    if (fs.existsSync(folder) && !fs.statSync(folder).isDirectory()) {
      throw new ConfigError(`${shownPath(folder)}: (file): is ${kindOf(fs.statSync(folder))}, not a folder — it must be the folder of the secret files (move it away; \`honeydue-deploy init\` then creates the folder with the examples)`);
    }
    fs.mkdirSync(folder, { recursive: true, mode: 0o700 });
    fs.copyFileSync(exampleOf(rel), target, fs.constants.COPYFILE_EXCL);
    // env files hold the registry token and B2 keys; secret files are secrets: owner-only from the start
    fs.chmodSync(target, 0o600);
    created.push(rel);
  }
  // a deploy dir being set up gets its .gitignore too (an existing one is never touched)
  if (opts.gitignore !== false && created.length && writeGitignore(deployDir)) created.push('.gitignore');
  return created;
}

/** What the operator must fill in, per created file, for the "created from the example" message. */
export function whatToFill(rel: string): string {
  if (rel === '.gitignore') return 'keeps the env files and the secrets out of git';
  const text = fs.readFileSync(exampleOf(rel), 'utf8');
  if (rel.startsWith('secrets/')) return 'replace the placeholder with the real value';
  const keys = Object.entries(dotenv.parse(text))
    .filter(([, v]) => PLACEHOLDER.test(v))
    .map(([k]) => k);
  return keys.length ? `fill in ${keys.join(', ')}` : 'review the values';
}

export function ensureDeployDir(deployDir: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(deployDir);
  } catch {
    throw new ConfigError(
      `${deployDir}: the deploy directory does not exist — create it with \`honeydue-deploy init --deploy-dir ${deployDir}\` or pass --deploy-dir`,
    );
  }
  if (!stat.isDirectory()) throw new ConfigError(`${deployDir}: is not a directory — pass the deploy directory with --deploy-dir`);
}

function readEnvFile(deployDir: string, file: EnvFileName): RawEnvFile {
  const p = path.join(deployDir, file);
  const text = readRegularFile(p, shownPath(p), `put the ${file} settings in a regular file (see ${file}.example)`).toString('utf8');
  const parsed = dotenv.parse(text);
  const example = dotenv.parse(fs.readFileSync(exampleOf(file)));
  const values: Record<string, string> = {};
  const placeholders = new Set<string>();
  for (const [key, value] of Object.entries(parsed)) {
    if (value === '') continue;
    if (PLACEHOLDER.test(value) && example[key] === value) {
      placeholders.add(key);
      continue;
    }
    values[key] = value;
  }
  const lines: Record<string, number> = {};
  text.split('\n').forEach((l, i) => {
    const m = /^\s*(?:export\s+)?([\w.-]+)\s*=/.exec(l);
    if (m) lines[m[1]!] = i + 1;
  });
  return { file, path: p, values, placeholders, all: parsed, altered: alteredValues(text, parsed), commentCut: commentCutValues(text), duplicates: duplicateKeys(text), lines };
}

function readSecretFile(deployDir: string, spec: SecretSpec): RawSecretFile {
  const p = path.join(deployDir, spec.file);
  const base = { spec, path: p, exists: false, mode: 0, size: 0, data: Buffer.alloc(0), isPlaceholder: false };
  let stat: fs.Stats;
  try {
    stat = fs.statSync(p);
  } catch {
    return base;
  }
  const info = { ...base, exists: true, mode: stat.mode & 0o777, size: stat.size };
  if (!stat.isFile()) return { ...info, readError: 'is not a regular file' };
  let data: Buffer;
  try {
    data = fs.readFileSync(p);
  } catch (err) {
    return { ...info, readError: `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  const example = fs.readFileSync(exampleOf(spec.file));
  return { ...info, data, isPlaceholder: data.equals(example) };
}

/** Reads everything the deploy needs from the deploy dir. No network, no docker. */
export function loadRawConfig(deployDir: string): RawConfig {
  const env = Object.fromEntries(ENV_FILES.map((f) => [f, readEnvFile(deployDir, f)])) as Record<EnvFileName, RawEnvFile>;
  const secrets = SECRETS.map((s) => readSecretFile(deployDir, s));
  const own = path.join(deployDir, OPTIONAL_STACK_FILE);
  const stackPath = fs.existsSync(own) ? own : PACKAGED_STACK_TEMPLATE;
  const text = readRegularFile(stackPath, shownPath(stackPath), 'your own stack file must be a regular file (or remove it to use the packaged template)').toString('utf8');
  return { deployDir, env, secrets, stack: { path: stackPath, text, packaged: stackPath === PACKAGED_STACK_TEMPLATE } };
}
