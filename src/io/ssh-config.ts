import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The few ~/.ssh/config settings that decide where and as whom `ssh HOST` connects. */
export interface SshHostConfig {
  hostName?: string;
  port?: number;
  user?: string;
  identityFiles: string[];
}

export function expandHome(p: string): string {
  return p === '~' ? os.homedir() : p.startsWith('~/') ? path.join(os.homedir(), p.slice(2)) : p;
}

function globMatch(pattern: string, host: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return re.test(host);
}

function hostLineMatches(patterns: string[], host: string): boolean {
  let matched = false;
  for (const p of patterns) {
    if (p.startsWith('!')) {
      if (globMatch(p.slice(1), host)) return false;
    } else if (globMatch(p, host)) matched = true;
  }
  return matched;
}

/** First value wins, as in ssh; IdentityFile accumulates. `Match` blocks are not evaluated (skipped). */
export function parseSshConfig(text: string, host: string): SshHostConfig {
  const out: SshHostConfig = { identityFiles: [] };
  let active = true;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(\S+?)(?:\s*=\s*|\s+)(.+)$/.exec(line);
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    const value = m[2]!.trim().replace(/^"(.*)"$/, '$1');
    if (key === 'host') {
      active = hostLineMatches(value.split(/\s+/), host);
      continue;
    }
    if (key === 'match') {
      active = false;
      continue;
    }
    if (!active) continue;
    if (key === 'hostname' && out.hostName === undefined) out.hostName = value.replace(/%h/g, host);
    else if (key === 'port' && out.port === undefined && /^\d+$/.test(value)) out.port = Number(value);
    else if (key === 'user' && out.user === undefined) out.user = value;
    else if (key === 'identityfile') out.identityFiles.push(expandHome(value));
  }
  return out;
}

export function readSshConfig(host: string, file = path.join(os.homedir(), '.ssh', 'config')): SshHostConfig {
  try {
    return parseSshConfig(fs.readFileSync(file, 'utf8'), host);
  } catch {
    return { identityFiles: [] };
  }
}

export const DEFAULT_IDENTITY_FILES = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => path.join(os.homedir(), '.ssh', f));
