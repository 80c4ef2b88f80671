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

export function verifyHostKey(knownHostsText: string, name: string, keyBlob: Buffer): HostKeyVerdict {
  const type = keyType(keyBlob);
  const b64 = keyBlob.toString('base64');
  let changedLine = 0;
  const lines = knownHostsText.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line || line.startsWith('#')) continue;
    let fields = line.split(/\s+/);
    let marker: string | undefined;
    if (fields[0]!.startsWith('@')) {
      marker = fields[0];
      fields = fields.slice(1);
    }
    const [patterns, entryType, entryKey] = fields;
    if (!patterns || !entryType || !entryKey || marker === '@cert-authority') continue;
    if (!hostMatches(patterns, name)) continue;
    if (marker === '@revoked') {
      if (entryKey === b64) return { kind: 'revoked', line: i + 1 };
      continue;
    }
    if (entryType === type && entryKey === b64) return { kind: 'trusted' };
    if (entryType === type && !changedLine) changedLine = i + 1;
  }
  return changedLine ? { kind: 'changed', line: changedLine } : { kind: 'unknown' };
}

export function readKnownHosts(path: string): string {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
