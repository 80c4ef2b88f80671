/**
 * What a release record (a swarm config: readable by anyone who runs docker on a manager) may hold of a secret:
 * nothing that makes guessing it cheaper.
 *
 * - prod.env's secret-looking values (a key whose name says secret, or a value holding a URL's password) are
 *   withheld: the record keeps the key with an empty value and lists it in `withheld`. The folder a release is
 *   deployed from gets the value from the operator's prod.env of the day (the same value for a deploy; for a
 *   rollback, today's value: a credential rotated after an incident never comes back with an old release).
 * - Changes are told by digests that are slow and salted per record (scrypt, a random salt in each record): the
 *   same value in two records has two unrelated digests, and each guess costs scrypt's work, once per record.
 */
import crypto from 'node:crypto';
import { PreflightError } from '../errors.js';
import { isSecretValue } from '../ui/redact.js';

/** scrypt's cost: about 50 ms and 16 MiB a digest on a laptop; the record names it, so it can change later. */
export const DIGEST_SCHEME = 'scrypt:N=16384,r=8,p=1,len=32';
const SCRYPT = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

export interface SecretDigests {
  scheme: string;
  /** base64, random for each record */
  salt: string;
  /** secret key (postgres_password, …) or `env:KEY` (a withheld prod.env key) -> hex digest */
  values: Record<string, string>;
}

/**
 * prod.env keys whose values a record never holds: secret-looking names, values with a URL password, and every key
 * whose value comes from a password manager (secrets.env).
 */
export function withheldKeys(prodEnv: Record<string, string>, fromReferences: readonly string[] = []): string[] {
  return Object.entries(prodEnv)
    .filter(([k, v]) => isSecretValue(k, v) || fromReferences.includes(k))
    .map(([k]) => k)
    .sort();
}

/** docker's env-file text with the withheld keys' values left empty. */
export function recordEnv(envFile: string, withheld: readonly string[]): string {
  if (!withheld.length) return envFile;
  const keys = new Set(withheld);
  return envFile
    .split('\n')
    .map((line) => {
      const i = line.indexOf('=');
      return i > 0 && keys.has(line.slice(0, i)) ? `${line.slice(0, i)}=` : line;
    })
    .join('\n');
}

/**
 * The env file a recorded release is deployed with: its withheld keys filled from today's prod.env. A key today's
 * prod.env no longer sets stops the redeploy before anything changes, naming it.
 */
export function fillWithheld(record: { deployId: string; envFile?: string; withheld?: string[] }, prodEnv: Record<string, string>): string {
  const envFile = record.envFile ?? '';
  const withheld = record.withheld ?? [];
  if (!withheld.length) return envFile;
  const missing = withheld.filter((k) => prodEnv[k] === undefined);
  if (missing.length) {
    throw new PreflightError(
      `the release ${record.deployId} needs ${missing.join(', ')} from prod.env (its record keeps no secret value), and prod.env does not set ${missing.length === 1 ? 'it' : 'them'} now — add ${missing.length === 1 ? 'it' : 'them'} back to prod.env (or secrets.env) and run again`,
    );
  }
  const keys = new Set(withheld);
  return envFile
    .split('\n')
    .map((line) => {
      const i = line.indexOf('=');
      return i > 0 && keys.has(line.slice(0, i)) ? `${line.slice(0, i)}=${prodEnv[line.slice(0, i)]}` : line;
    })
    .join('\n');
}

function scrypt(value: Buffer, salt: Buffer): Promise<string> {
  return new Promise((resolve, reject) => crypto.scrypt(value, salt, 32, SCRYPT, (err, key) => (err ? reject(err) : resolve(key.toString('hex')))));
}

/** The digests of the given values, under `salt` (a record's own, to compare) or a new random one. */
export async function digestSecrets(values: Record<string, Buffer | string>, salt?: string): Promise<SecretDigests> {
  const s = salt ?? crypto.randomBytes(16).toString('base64');
  const saltBytes = Buffer.from(s, 'base64');
  const entries = await Promise.all(Object.entries(values).map(async ([k, v]) => [k, await scrypt(Buffer.isBuffer(v) ? v : Buffer.from(v), saltBytes)] as const));
  return { scheme: DIGEST_SCHEME, salt: s, values: Object.fromEntries(entries) };
}

/** What a release digests: its secret files' bytes and its withheld prod.env values (`env:KEY`). */
export function digestInputs(secrets: ReadonlyArray<{ key: string; data: Buffer }>, prodEnv: Record<string, string>, withheld: readonly string[]): Record<string, Buffer | string> {
  return { ...Object.fromEntries(secrets.map((s) => [s.key, s.data])), ...Object.fromEntries(withheld.map((k) => [`env:${k}`, prodEnv[k] ?? ''])) };
}
