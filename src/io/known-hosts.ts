import crypto from 'node:crypto';
import fs from 'node:fs';

/** The name OpenSSH looks up in known_hosts: `host`, or `[host]:port` when the port is not 22. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${crypto.createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type is the first string inside the SSH public key blob. */
export function keyType(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const len = keyBlob.readUInt32BE(0);
  return keyBlob.subarray(4, 4 + len).toString('latin1');
}

function wildcardMatch(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return re.test(name);
}

function hashedMatch(entry: string, name: string): boolean {
  const [, magic, salt, hash] = entry.split('|');
  if (magic !== '1' || !salt || !hash) return false;
  const digest = crypto.createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
  return digest === hash;
}

export function hostMatches(patterns: string, name: string): boolean {
  if (patterns.startsWith('|')) return hashedMatch(patterns, name);
  let matched = false;
  for (const p of patterns.split(',')) {
    if (p.startsWith('!')) {
      if (wildcardMatch(p.slice(1), name)) return false;
    } else if (wildcardMatch(p, name)) {
      matched = true;
    }
  }
  return matched;
}

export type HostKeyVerdict =
  | { kind: 'trusted' }
  | { kind: 'unknown' }
  | { kind: 'changed'; line: number }
  | { kind: 'revoked'; line: number };

interface Entry {
  line: number;
  marker?: string;
  type: string;
  key: string;
}

/** The entries that name this host, as OpenSSH reads them; a line with an unknown marker is ignored. */
function entriesFor(knownHostsText: string, name: string): Entry[] {
  const out: Entry[] = [];
  knownHostsText.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    let fields = line.split(/\s+/);
    let marker: string | undefined;
    if (fields[0]!.startsWith('@')) {
      marker = fields[0];
      fields = fields.slice(1);
      // markers are case-sensitive in OpenSSH: @revoke, @REVOKED and the like make the line invalid
      if (marker !== '@revoked' && marker !== '@cert-authority') return;
    }
    const [patterns, type, key] = fields;
    if (!patterns || !type || !key || !hostMatches(patterns, name)) return;
    out.push({ line: i + 1, marker, type, key });
  });
  return out;
}

/**
 * OpenSSH's verdict: a key marked @revoked is refused wherever the line stands; a matching plain line trusts;
 * a host that is known (by a key of any type) but not by this key has CHANGED; otherwise it is unknown.
 */
export function verifyHostKey(knownHostsText: string, name: string, keyBlob: Buffer): HostKeyVerdict {
  const type = keyType(keyBlob);
  const b64 = keyBlob.toString('base64');
  const entries = entriesFor(knownHostsText, name);
  const revoked = entries.find((e) => e.marker === '@revoked' && e.key === b64);
  if (revoked) return { kind: 'revoked', line: revoked.line };
  const plain = entries.filter((e) => e.marker === undefined);
  if (plain.some((e) => e.type === type && e.key === b64)) return { kind: 'trusted' };
  const known = plain.find((e) => e.type === type) ?? plain[0];
  return known ? { kind: 'changed', line: known.line } : { kind: 'unknown' };
}

/** The host-key algorithms to offer: only those of the key types known_hosts holds for the host (all when none). */
export function knownKeyAlgorithms(knownHostsText: string, name: string): string[] | undefined {
  const types = [...new Set(entriesFor(knownHostsText, name).filter((e) => e.marker === undefined).map((e) => e.type))];
  if (!types.length) return undefined;
  const algorithms = types.flatMap((t) => (t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t])).filter((a) => SSH2_HOST_KEY_ALGORITHMS.has(a));
  return algorithms.length ? algorithms : undefined;
}

/** What the ssh2 client can negotiate; other types in known_hosts (FIDO, certificates) cannot be offered. */
const SSH2_HOST_KEY_ALGORITHMS = new Set(['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ssh-dss']);

export function readKnownHosts(path: string): string {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export type FileVerdict = { kind: 'trusted' } | { kind: 'unknown' } | { kind: 'changed' | 'revoked'; line: number; file: string };

/**
 * The verdict over several known_hosts files, as ssh reads UserKnownHostsFile and GlobalKnownHostsFile together:
 * a key @revoked in any file is refused; a key any file holds is trusted; a host known in some file by another key
 * has CHANGED; else it is unknown.
 */
export function verifyHostKeyIn(files: ReadonlyArray<{ file: string; text: string }>, name: string, keyBlob: Buffer): FileVerdict {
  const verdicts = files.map((f) => ({ file: f.file, v: verifyHostKey(f.text, name, keyBlob) }));
  const revoked = verdicts.find((x) => x.v.kind === 'revoked');
  if (revoked && 'line' in revoked.v) return { kind: 'revoked', line: revoked.v.line, file: revoked.file };
  if (verdicts.some((x) => x.v.kind === 'trusted')) return { kind: 'trusted' };
  const changed = verdicts.find((x) => x.v.kind === 'changed');
  if (changed && 'line' in changed.v) return { kind: 'changed', line: changed.v.line, file: changed.file };
  return { kind: 'unknown' };
}
