import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The ~/.ssh/config settings that decide where, as whom and through which hops `ssh HOST` connects. */
export interface SshHostConfig {
  hostName?: string;
  port?: number;
  user?: string;
  identityFiles: string[];
  /** ProxyJump as written (`none` is returned as undefined) */
  proxyJump?: string;
  /** what ssh would do that this tool cannot do faithfully: refused, never ignored (`file:line: …`) */
  problems: string[];
}

export function expandHome(p: string): string {
  return p === '~' ? os.homedir() : p.startsWith('~/') ? path.join(os.homedir(), p.slice(2)) : p;
}

function globMatch(pattern: string, host: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return re.test(host);
}

/** ssh's pattern lists: comma- or space-separated, `!` negates and wins. */
function patternListMatches(patterns: string[], value: string): boolean {
  let matched = false;
  for (const p of patterns.flatMap((x) => x.split(',')).filter(Boolean)) {
    if (p.startsWith('!')) {
      if (globMatch(p.slice(1), value)) return false;
    } else if (globMatch(p, value)) matched = true;
  }
  return matched;
}

interface Line {
  file: string;
  line: number;
  key: string;
  value: string;
}

function splitLines(text: string, file: string): Line[] {
  const out: Line[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const m = /^(\S+?)(?:\s*=\s*|\s+)(.+)$/.exec(line);
    if (m) out.push({ file, line: i + 1, key: m[1]!.toLowerCase(), value: m[2]!.trim().replace(/^"(.*)"$/, '$1') });
  });
  return out;
}

/** The lines of a config file with its Include files spliced in (globs in the last path part). */
function readLines(file: string, depth = 0): Line[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return splitLines(text, file).flatMap((l) => {
    if (l.key !== 'include' || depth >= 8) return [l];
    return l.value.split(/\s+/).flatMap((pattern) => {
      const full = path.isAbsolute(expandHome(pattern)) ? expandHome(pattern) : path.join(os.homedir(), '.ssh', pattern);
      const dir = path.dirname(full);
      let names: string[] = [];
      try {
        names = fs.readdirSync(dir).filter((n) => globMatch(path.basename(full), n)).sort();
      } catch {
        names = [];
      }
      return names.flatMap((n) => readLines(path.join(dir, n), depth + 1));
    });
  });
}

/**
 * Evaluates a `Match` line for `host`. `all`, `host`, `originalhost` and `localuser` are decided here; a
 * block whose other criteria cannot be decided (exec, user, canonical, final, …) is refused — unless a
 * criterion that can be decided already rules it out (Match criteria must all hold).
 */
function matchBlock(l: Line, alias: string, hostName: string): { active: boolean; problem?: string } {
  const words = l.value.split(/\s+/);
  if (words.length === 1 && words[0]!.toLowerCase() === 'all') return { active: true };
  let undecided: string | undefined;
  for (let i = 0; i < words.length; i++) {
    const raw = words[i]!;
    const negated = raw.startsWith('!');
    const criterion = raw.replace(/^!/, '').toLowerCase();
    if (criterion === 'all') continue;
    const arg = words[i + 1];
    i++;
    let holds: boolean | undefined;
    if (criterion === 'host' && arg !== undefined) holds = patternListMatches([arg], hostName);
    else if (criterion === 'originalhost' && arg !== undefined) holds = patternListMatches([arg], alias);
    else if (criterion === 'localuser' && arg !== undefined) holds = patternListMatches([arg], os.userInfo().username);
    else undecided ??= raw;
    if (holds !== undefined && holds === negated) return { active: false };
  }
  if (undecided) {
    return {
      active: false,
      problem: `${l.file}:${l.line}: Match ${l.value}: honeydue-deploy cannot evaluate \`${undecided}\` (it supports Match all, host, originalhost and localuser) — rewrite the block as a Host block for the manager, or set the values in cluster.env`,
    };
  }
  return { active: true };
}

/** First value wins, as in ssh; IdentityFile accumulates. */
export function parseSshConfigLines(lines: Line[], host: string): SshHostConfig {
  const out: SshHostConfig = { identityFiles: [], problems: [] };
  let active = true;
  let proxyJumpSeen = false;
  for (const l of lines) {
    if (l.key === 'host') {
      active = patternListMatches(l.value.split(/\s+/), host);
      continue;
    }
    if (l.key === 'match') {
      const m = matchBlock(l, host, out.hostName ?? host);
      active = m.active;
      if (m.problem) out.problems.push(m.problem);
      continue;
    }
    if (!active) continue;
    if (l.key === 'hostname' && out.hostName === undefined) out.hostName = l.value.replace(/%h/g, host);
    else if (l.key === 'port' && out.port === undefined && /^\d+$/.test(l.value)) out.port = Number(l.value);
    else if (l.key === 'user' && out.user === undefined) out.user = l.value;
    else if (l.key === 'identityfile') out.identityFiles.push(expandHome(l.value.replace(/%d/g, os.homedir()).replace(/%h/g, host)));
    else if (l.key === 'proxyjump' && !proxyJumpSeen) {
      proxyJumpSeen = true;
      if (l.value.toLowerCase() !== 'none') out.proxyJump = l.value;
    } else if (l.key === 'proxycommand' && !proxyJumpSeen && l.value.toLowerCase() !== 'none') {
      out.problems.push(
        `${l.file}:${l.line}: ProxyCommand: honeydue-deploy connects with its own SSH client and cannot run a proxy command — use ProxyJump (or DEPLOY_SSH_JUMP in cluster.env) for a bastion`,
      );
    }
  }
  return out;
}

export function parseSshConfig(text: string, host: string, file = 'ssh config'): SshHostConfig {
  return parseSshConfigLines(splitLines(text, file), host);
}

export function sshConfigPath(): string {
  return path.join(os.homedir(), '.ssh', 'config');
}

export function readSshConfig(host: string, file = sshConfigPath()): SshHostConfig {
  return parseSshConfigLines(readLines(file), host);
}

export const DEFAULT_IDENTITY_FILES = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => path.join(os.homedir(), '.ssh', f));
