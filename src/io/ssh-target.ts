/**
 * Where the run's SSH goes, resolved as OpenSSH resolves it (ssh-config.ts: `ssh -G`, or the reader): each endpoint
 * (a jump host or the manager) with its host, port, user, keys, agent and known_hosts files. No network here.
 */
import fs from 'node:fs';
import { shellLine, shellQuote } from '../commands/command.js';
import { ConfigError } from '../errors.js';
import { knownHostsName, readKnownHosts } from './known-hosts.js';
import { expandHome, sshResolver, SshConfigError, type Resolver, type SshHostConfig } from './ssh-config.js';

/** One SSH server on the way: a jump host or the manager itself. */
export interface SshEndpoint {
  /** as configured (DEPLOY_MANAGER_HOST, a DEPLOY_SSH_JUMP hop), maybe an ~/.ssh/config alias */
  alias: string;
  host: string;
  port: number;
  username: string;
  /** where the host's key should be added (the first UserKnownHostsFile, or DEPLOY_KNOWN_HOSTS) */
  knownHostsPath: string;
  /** every known_hosts file the key is looked up in, as ssh does (user files, then the global ones) */
  knownHostsFiles?: string[];
  /** UserKnownHostsFile (or DEPLOY_KNOWN_HOSTS): the files a printed `ssh` command names */
  userKnownHostsFiles?: string[];
  /** HostKeyAlias: the name looked up in known_hosts instead of host/[host]:port */
  hostKeyAlias?: string;
  /** keys to try, in order, after the explicit key and the agent */
  identityFiles: string[];
  /** IdentitiesOnly: only the IdentityFile keys, also when they sit in the agent */
  identitiesOnly?: boolean;
  explicitKey?: string;
  agentSocket?: string;
  /** ServerAliveInterval (s) / ServerAliveCountMax when the ssh config sets them */
  serverAlive?: { intervalSeconds: number; countMax: number };
  /** where each setting came from, for the plan */
  sources?: Partial<Record<'host' | 'port' | 'username' | 'identityFiles' | 'identityAgent' | 'knownHosts' | 'hostKeyAlias' | 'jump', string>>;
}

/** The name ssh looks the host key up by: HostKeyAlias, else `host` or `[host]:port`. */
export function hostKeyName(e: Pick<SshEndpoint, 'host' | 'port' | 'hostKeyAlias'>): string {
  return e.hostKeyAlias ?? knownHostsName(e.host, e.port);
}

/** Every known_hosts text for an endpoint, with the file each came from. */
export function knownHostsTexts(e: SshEndpoint): Array<{ file: string; text: string }> {
  return (e.knownHostsFiles ?? [e.knownHostsPath]).map((file) => ({ file, text: readKnownHosts(file) }));
}


export interface SshTarget extends SshEndpoint {
  /** jump hosts, in order (like `ssh -J`): each is reached through the one before it */
  jumps: SshEndpoint[];
}

export interface TargetInput {
  host: string;
  user: string;
  /** undefined when cluster.env leaves it at its default: ~/.ssh/config may then set it */
  port?: number;
  key?: string;
  knownHosts?: string;
  /** DEPLOY_SSH_JUMP: `[user@]host[:port]`, comma-separated; wins over ~/.ssh/config's ProxyJump */
  jump?: string;
  /** which setting gave the port (an entry's own port in DEPLOY_MANAGER_HOST, or DEPLOY_MANAGER_SSH_PORT) */
  portFrom?: string;
  /** DEPLOY_SSH_CONFIG: the ssh config file to read instead of ~/.ssh/config (as `ssh -F`) */
  sshConfig?: string;
}

/** `[user@]host[:port]` (also `ssh://…` and `[v6]:port`), as `ssh -J` takes it. */
export function parseHop(spec: string): { user?: string; host: string; port?: number } | undefined {
  const m = /^(?:ssh:\/\/)?(?:([^@\s:/]+)@)?(\[[0-9a-fA-F:.]+\]|[^@\s:/[\]]+)(?::(\d{1,5}))?\/?$/.exec(spec.trim());
  if (!m) return undefined;
  const port = m[3] === undefined ? undefined : Number(m[3]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return { user: m[1], host: m[2]!.replace(/^\[|\]$/g, ''), port };
}

interface Shared {
  key?: string;
  knownHosts?: string;
  env: NodeJS.ProcessEnv;
  resolver: Resolver;
  problems: string[];
}

/** The agent socket ssh would use: IdentityAgent (a path, `SSH_AUTH_SOCK`, `$VAR`, `none`), else SSH_AUTH_SOCK. */
function agentSocketOf(identityAgent: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (identityAgent === undefined || identityAgent === 'SSH_AUTH_SOCK') return env.SSH_AUTH_SOCK || undefined;
  if (identityAgent.toLowerCase() === 'none') return undefined;
  if (identityAgent.startsWith('$')) return env[identityAgent.slice(1).replace(/^\{|\}$/g, '')] || undefined;
  return identityAgent;
}

function endpoint(alias: string, cli: { user?: string; port?: number }, cliFrom: { user: string; port: string }, s: Shared): { e: SshEndpoint; conf: SshHostConfig } {
  let conf: SshHostConfig;
  try {
    conf = s.resolver.resolve(alias, cli);
  } catch (err) {
    if (err instanceof SshConfigError) throw new ConfigError([err.message]);
    throw err;
  }
  s.problems.push(...conf.problems);
  const src = conf.sources;
  const knownHostsFiles = s.knownHosts ? [expandHome(s.knownHosts)] : [...conf.userKnownHostsFiles, ...conf.globalKnownHostsFiles];
  return {
    conf,
    e: {
      alias,
      host: conf.hostName,
      port: conf.port,
      username: conf.user,
      knownHostsPath: knownHostsFiles[0]!,
      knownHostsFiles,
      userKnownHostsFiles: s.knownHosts ? knownHostsFiles : conf.userKnownHostsFiles,
      hostKeyAlias: conf.hostKeyAlias,
      identityFiles: conf.identityFiles,
      identitiesOnly: conf.identitiesOnly,
      explicitKey: s.key ? expandHome(s.key) : undefined,
      agentSocket: agentSocketOf(conf.identityAgent, s.env),
      serverAlive: conf.serverAliveInterval > 0 ? { intervalSeconds: conf.serverAliveInterval, countMax: conf.serverAliveCountMax } : undefined,
      sources: {
        host: src.hostName,
        port: cli.port !== undefined ? cliFrom.port : src.port,
        username: cli.user !== undefined ? cliFrom.user : src.user,
        identityFiles: s.key ? 'cluster.env DEPLOY_SSH_KEY' : src.identityFiles,
        identityAgent: src.identityAgent,
        knownHosts: s.knownHosts ? 'cluster.env DEPLOY_KNOWN_HOSTS' : src.userKnownHostsFiles,
        hostKeyAlias: src.hostKeyAlias,
      },
    },
  };
}

function hopKey(h: { user?: string; host: string; port?: number }): string {
  return `${h.user ?? ''}@${h.host}:${h.port ?? ''}`;
}

function showKey(k: string): string {
  return k.replace(/^@/, '').replace(/:$/, '');
}

/**
 * A jump list as ssh runs it: `ssh -J a,b HOST` reaches b through `-J a`, so b's own ProxyJump is overridden; a
 * single hop is reached through its own ProxyJump, if its config has one (a jump host with its own jump host).
 */
function jumpChain(spec: string, origin: string, s: Shared, seen: readonly string[]): SshEndpoint[] {
  const specs = spec.split(',').map((x) => x.trim());
  const hops = specs.map((x) => ({ x, hop: parseHop(x) }));
  const bad = hops.find((h) => !h.hop);
  if (bad) {
    s.problems.push(`${origin}: "${bad.x}" is not a jump host — write [user@]host[:port], several separated by commas (as for ssh -J)`);
    return [];
  }
  const last = hops.at(-1)!.hop!;
  // the same hop, as written, met again on the way: a loop ssh would follow until it fails
  const key = hopKey(last);
  if (seen.includes(key) || seen.length > 8) {
    s.problems.push(`${origin}: the jump hosts go round in a loop (${[...seen, key].map(showKey).join(' → ')}) — ssh would never connect; fix ProxyJump`);
    return [];
  }
  const { e, conf } = endpoint(last.host, { user: last.user, port: last.port }, { user: origin, port: origin }, s);
  e.sources = { ...e.sources, jump: origin };
  const before =
    hops.length > 1
      ? jumpChain(specs.slice(0, -1).join(','), origin, s, [...seen, key])
      : conf.proxyJump
        ? jumpChain(conf.proxyJump, `${conf.sources.proxyJump ?? 'ssh -G'}: ProxyJump of ${last.host}`, s, [...seen, key])
        : [];
  return [...before, e];
}

/**
 * Resolves where `ssh` would connect, as OpenSSH does (ssh-config.ts: `ssh -G`, or the reader): HostName, Port,
 * User, IdentityFile, IdentitiesOnly, IdentityAgent, UserKnownHostsFile, HostKeyAlias, ProxyJump (chains),
 * ServerAlive*; cluster.env wins where set. What ssh would do that this client cannot (ProxyCommand,
 * CertificateFile, …) is an error, never silently ignored.
 */
export function resolveTarget(input: TargetInput, env: NodeJS.ProcessEnv = process.env, resolver: Resolver = sshResolver(env, input.sshConfig)): SshTarget {
  const s: Shared = { key: input.key, knownHosts: input.knownHosts, env, resolver, problems: [] };
  const { e: manager, conf } = endpoint(input.host, { user: input.user || undefined, port: input.port }, { user: 'cluster.env DEPLOY_MANAGER_USER', port: input.portFrom ?? 'cluster.env DEPLOY_MANAGER_SSH_PORT' }, s);
  const fromCluster = input.jump !== undefined && input.jump.trim() !== '';
  const chain = fromCluster ? input.jump!.trim() : conf.proxyJump;
  const origin = fromCluster ? 'cluster.env: DEPLOY_SSH_JUMP' : `${conf.sources.proxyJump ?? 'ssh -G'}: ProxyJump`;
  const jumps = chain && chain.toLowerCase() !== 'none' ? jumpChain(chain, origin, s, [hopKey({ host: input.host, port: input.port })]) : [];
  if (fromCluster) manager.sources = { ...manager.sources, jump: 'cluster.env DEPLOY_SSH_JUMP' };
  else if (conf.proxyJump) manager.sources = { ...manager.sources, jump: conf.sources.proxyJump ?? 'ssh -G' };
  if (s.problems.length) throw new ConfigError([...new Set(s.problems)]);
  return { ...manager, jumps };
}

/** The known_hosts files that exist (the first one, where a key would be added, when none does yet). */
export function shownFiles(t: SshEndpoint): string {
  const files = (t.knownHostsFiles ?? [t.knownHostsPath]).filter((f) => fs.existsSync(f));
  return files.length > 1 ? files.join(', ') : (files[0] ?? t.knownHostsPath);
}

/**
 * The command that adds the host's key to its known_hosts file (named by HostKeyAlias when one is set), quoted as
 * every printed command is: a path with a space, an alias with a `/`, work as pasted.
 */
export function keyscanLine(t: SshEndpoint): string {
  const scan = shellLine(['ssh-keyscan', '-p', String(t.port), t.host]);
  const file = shellQuote(t.knownHostsPath);
  return t.hostKeyAlias ? `${scan} | ${shellLine(['awk', '-v', `alias=${t.hostKeyAlias}`, '{ $1 = alias; print }'])} >> ${file}` : `${scan} >> ${file}`;
}
