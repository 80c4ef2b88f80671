/**
 * secrets.env: where each secret value comes from, one `NAME=REFERENCE` a line — a file the whole team can commit,
 * since it holds no value. NAME is one of the five secret names, REGISTRY_TOKEN, or a prod.env key; REFERENCE is
 *
 *   op://VAULT/ITEM/FIELD   1Password, through its CLI (`op read`)
 *   pass:PATH               the standard Unix password manager (`pass show PATH`)
 *   age:FILE                a file encrypted with age, relative to the deploy dir (`age --decrypt -i IDENTITY FILE`)
 *   cmd:PROGRAM ARGS…       any program, run without a shell; its standard output is the value
 *
 * Pure: parsing and checking, no program is run here (resolve.ts runs them).
 */
import dotenv from 'dotenv';
import fs from 'node:fs';
import path from 'node:path';
import { closest } from '../edit-distance.js';
import { SECRETS } from '../config/files.js';
import { splitCommandLine } from '../config/shell-words.js';
import type { RawConfig } from '../config/load.js';

export const SECRETS_ENV = 'secrets.env';

/** What stands in a value's place until it is fetched: never a value, never redacted, never sent anywhere. */
export const REFERENCE_STANDIN = '<from secrets.env>';

export type SourceKind = 'op' | 'pass' | 'age' | 'cmd';

export interface Reference {
  /** the name as written: a secret key, REGISTRY_TOKEN or a prod.env key */
  name: string;
  /** where its value goes */
  target: 'secret' | 'registry' | 'prod';
  /** the reference as written (never a value) */
  ref: string;
  kind: SourceKind;
  /** the program and its arguments (the reference may be in argv; a value never is) */
  argv: string[];
  /** age: the encrypted file (absolute) */
  file?: string;
  /** the line in secrets.env */
  line: number;
}

/** The program each kind runs, and what to do when it is missing or refuses. */
export const PROGRAMS: Record<Exclude<SourceKind, 'cmd'>, { program: string; install: string; signIn: string }> = {
  op: { program: 'op', install: 'install the 1Password CLI (op)', signIn: 'sign in with `op signin` (or unlock the 1Password app with CLI integration on, or set OP_SERVICE_ACCOUNT_TOKEN), and check the vault, item and field names (`op read` the reference yourself)' },
  pass: { program: 'pass', install: 'install pass (the standard Unix password manager) and gnupg', signIn: 'check that the entry exists (`pass ls`), that the store is initialised (`pass init GPG-ID`) and that your GPG key can decrypt it (gpg-agent unlocked; PASSWORD_STORE_DIR, GNUPGHOME)' },
  age: { program: 'age', install: 'install age', signIn: 'check that your age identity (DEPLOY_AGE_IDENTITY, default ~/.config/age/keys.txt) is one of the file\'s recipients' },
};

/** A name a reference may fill: the five secrets, the registry token, a prod.env key. */
function targetOf(name: string, prodKeys: readonly string[]): Reference['target'] | undefined {
  if (SECRETS.some((s) => s.key === name)) return 'secret';
  if (name === 'REGISTRY_TOKEN') return 'registry';
  if (prodKeys.includes(name)) return 'prod';
  return undefined;
}

/** One reference, or what is wrong with it. */
export function parseReference(ref: string, deployDir: string, ageIdentity: string): { kind: SourceKind; argv: string[]; file?: string } | { problem: string } {
  if (ref.startsWith('op://')) {
    const parts = ref.slice('op://'.length).split('/');
    if (parts.length < 3 || parts.length > 4 || parts.some((p) => p.trim() === '')) return { problem: `"${ref}" is not a 1Password reference — write op://VAULT/ITEM/FIELD (or op://VAULT/ITEM/SECTION/FIELD)` };
    return { kind: 'op', argv: ['op', 'read', ref] };
  }
  if (ref.startsWith('pass:')) {
    const p = ref.slice('pass:'.length);
    if (!p || p.startsWith('/') || p.split('/').includes('..') || /\s/.test(p) || p.startsWith('-')) return { problem: `"${ref}" is not a pass entry — write pass:PATH, the entry's name as \`pass ls\` shows it (e.g. pass:honeydue/postgres_password)` };
    return { kind: 'pass', argv: ['pass', 'show', p] };
  }
  if (ref.startsWith('age:')) {
    const f = ref.slice('age:'.length);
    if (!f || f.startsWith('-')) return { problem: `"${ref}" is not an age file — write age:FILE, a file encrypted with age, relative to the deploy dir (e.g. age:secrets/postgres_password.age)` };
    const file = path.resolve(deployDir, f);
    return { kind: 'age', argv: ['age', '--decrypt', '-i', ageIdentity, file], file };
  }
  if (ref.startsWith('cmd:')) {
    const split = splitCommandLine(ref.slice('cmd:'.length));
    if ('problem' in split) return { problem: `"${ref}": the command ${split.problem}` };
    if (!split.words.length) return { problem: `"${ref}" names no program — write cmd:PROGRAM ARGS… (run without a shell; its standard output is the value)` };
    return { kind: 'cmd', argv: split.words };
  }
  const scheme = /^([a-z]+):/i.exec(ref)?.[1];
  const meant = scheme ? closest(scheme.toLowerCase(), ['op', 'pass', 'age', 'cmd']) : undefined;
  return { problem: `"${ref}" is not a reference — write op://VAULT/ITEM/FIELD, pass:PATH, age:FILE or cmd:PROGRAM ARGS…${meant ? ` (did you mean ${meant}:?)` : ''}` };
}

/** The secret names secrets.env gives a line to (names only, nothing checked: readReferences does that). */
export function referencedSecrets(deployDir: string): Set<string> {
  const file = path.join(deployDir, SECRETS_ENV);
  if (!fs.existsSync(file)) return new Set();
  return new Set(Object.keys(dotenv.parse(fs.readFileSync(file))).filter((n) => SECRETS.some((s) => s.key === n)));
}

export interface ReferenceFile {
  path: string;
  refs: Reference[];
  problems: string[];
}

/**
 * secrets.env of a deploy dir, checked: every name known (with did-you-mean), every reference well formed, an
 * `age:` file present. Absent: no references.
 */
export function readReferences(deployDir: string, prodKeys: readonly string[], ageIdentity: string, shownPath: (p: string) => string): ReferenceFile {
  const file = path.join(deployDir, SECRETS_ENV);
  if (!fs.existsSync(file)) return { path: file, refs: [], problems: [] };
  const shown = shownPath(file);
  const text = fs.readFileSync(file, 'utf8');
  const parsed = dotenv.parse(text);
  const lineOf = (name: string) => text.split('\n').findIndex((l) => new RegExp(`^\\s*(export\\s+)?${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*=`).test(l)) + 1;
  const refs: Reference[] = [];
  const problems: string[] = [];
  const names = [...SECRETS.map((s) => s.key), 'REGISTRY_TOKEN', ...prodKeys];
  for (const [name, ref] of Object.entries(parsed)) {
    const target = targetOf(name, prodKeys);
    if (!target) {
      const meant = closest(name, names, (k) => (k.length >= 6 ? 2 : 1)) ?? closest(name.toLowerCase(), SECRETS.map((s) => s.key));
      problems.push(`${shown}: ${name}: is not a secret name, REGISTRY_TOKEN or a prod.env key — ${meant ? `did you mean ${meant}?` : `name one of ${SECRETS.map((s) => s.key).join(', ')}, REGISTRY_TOKEN, or a key of prod.env (left empty there)`}`);
      continue;
    }
    if (!ref.trim()) {
      problems.push(`${shown}: ${name}: has no reference — write op://VAULT/ITEM/FIELD, pass:PATH, age:FILE or cmd:PROGRAM ARGS…, or remove the line`);
      continue;
    }
    const r = parseReference(ref.trim(), deployDir, ageIdentity);
    if ('problem' in r) {
      problems.push(`${shown}: ${name}: ${r.problem}`);
      continue;
    }
    if (r.kind === 'age' && !fs.existsSync(r.file!)) problems.push(`${shown}: ${name}: the age file ${shownPath(r.file!)} does not exist — encrypt the value into it (\`age -r RECIPIENT -o ${shownPath(r.file!)}\`) or fix the path`);
    refs.push({ name, target, ref: ref.trim(), kind: r.kind, argv: r.argv, ...(r.file ? { file: r.file } : {}), line: lineOf(name) });
  }
  return { path: file, refs, problems };
}

/** The trailing newline a password manager's CLI ends its output with (exactly one `\n` or `\r\n`), removed; age's plaintext is kept byte for byte. */
export function valueOf(kind: SourceKind, out: Buffer): Buffer {
  if (kind === 'age') return out;
  if (out.length >= 2 && out[out.length - 2] === 0x0d && out[out.length - 1] === 0x0a) return out.subarray(0, out.length - 2);
  if (out.length >= 1 && out[out.length - 1] === 0x0a) return out.subarray(0, out.length - 1);
  return out;
}

/**
 * Puts the references into the raw configuration: a name given both ways (a file or a literal value, and a
 * reference) is a problem; otherwise the secret's file is not needed and the registry token's or prod.env key's
 * place holds REFERENCE_STANDIN until the value is fetched. Returns the problems.
 */
export function applyReferences(raw: RawConfig, refs: ReferenceFile): string[] {
  const problems: string[] = [];
  const shownRefs = path.relative(process.cwd(), refs.path) || refs.path;
  for (const r of refs.refs) {
    if (r.target === 'secret') {
      const s = raw.secrets.find((x) => x.spec.key === r.name);
      if (s?.exists && !s.isPlaceholder) problems.push(`${shownRefs}: ${r.name}: is given both ways, in ${path.relative(process.cwd(), s.path) || s.path} and here — keep one (remove the file to take the value from ${r.ref})`);
      raw.secrets = raw.secrets.filter((x) => x.spec.key !== r.name);
      continue;
    }
    const file = raw.env[r.target === 'registry' ? 'registry.env' : 'prod.env'];
    const shownFile = path.relative(process.cwd(), file.path) || file.path;
    if (file.values[r.name] !== undefined) {
      problems.push(`${shownRefs}: ${r.name}: is given both ways, in ${shownFile} and here — keep one (leave it out of ${shownFile}, or empty there, to take the value from ${r.ref})`);
      continue;
    }
    file.placeholders.delete(r.name);
    file.values[r.name] = REFERENCE_STANDIN;
    file.all[r.name] = REFERENCE_STANDIN;
  }
  return problems;
}
