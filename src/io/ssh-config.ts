import { execFile, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * How `ssh HOST` would connect, as OpenSSH resolves it: `ssh -G` itself when it can describe the operator's own
 * situation, else this module's reader, which follows OpenSSH's rules (first value wins, Include where it stands,
 * Host/Match blocks, %-tokens) and is checked against `ssh -G` over a corpus of configs in the unit tests.
 */
export interface SshHostConfig {
  /** the name asked for (an alias, a host name, an address) */
  alias: string;
  hostName: string;
  port: number;
  user: string;
  /** in order; ssh's default keys when the config names none */
  identityFiles: string[];
  identitiesOnly: boolean;
  /** IdentityAgent as resolved: a socket path, `none`, `SSH_AUTH_SOCK` or `$VAR`; undefined when unset */
  identityAgent?: string;
  userKnownHostsFiles: string[];
  globalKnownHostsFiles: string[];
  hostKeyAlias?: string;
  /** ProxyJump as written; undefined when unset or `none` */
  proxyJump?: string;
  serverAliveInterval: number;
  serverAliveCountMax: number;
  /** where each value came from: `file:line`, `ssh -G`, `command line`, or absent for ssh's default */
  sources: Partial<Record<SourcedKey, string>>;
  /** what ssh would do that this tool cannot do faithfully: refused, never ignored */
  problems: string[];
  /** who resolved it */
  via: 'ssh -G' | 'reader';
}

export type SourcedKey = 'hostName' | 'port' | 'user' | 'identityFiles' | 'identitiesOnly' | 'identityAgent' | 'userKnownHostsFiles' | 'hostKeyAlias' | 'proxyJump' | 'serverAliveInterval';

export interface ResolveOptions {
  /** the user's home as ssh sees it (`~`, `%d`, where ~/.ssh/config is) */
  home: string;
  /** like `ssh -F FILE`: only this file is read (not /etc/ssh/ssh_config) */
  configFile?: string;
  /** the system-wide file read after the user's (default /etc/ssh/ssh_config); tests point it elsewhere */
  systemFile?: string;
  /** `-l`/`-p` on ssh's command line: they win over the config */
  user?: string;
  port?: number;
}

export function expandHome(p: string, home = os.homedir()): string {
  return p === '~' ? home : p.startsWith('~/') ? path.join(home, p.slice(2)) : p;
}

// ---- the reader -------------------------------------------------------------------------------------------

function globRegExp(pattern: string, flags = ''): RegExp {
  return new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, flags);
}

/**
 * ssh's pattern lists: comma-separated (Host takes several words too), `!` negates and wins. Host patterns are
 * case-sensitive; Match host/originalhost compare without case (OpenSSH's match_hostname).
 */
function patternListMatches(patterns: string[], value: string, ignoreCase = false): boolean {
  let matched = false;
  const flags = ignoreCase ? 'i' : '';
  for (const p of patterns.flatMap((x) => x.split(',')).filter(Boolean)) {
    if (p.startsWith('!')) {
      if (globRegExp(p.slice(1), flags).test(value)) return false;
    } else if (globRegExp(p, flags).test(value)) matched = true;
  }
  return matched;
}

interface Line {
  file: string;
  line: number;
  key: string;
  args: string[];
}

/** One config line into words as OpenSSH splits it: quotes group, a word starting with # ends the line. */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (i >= text.length || text[i] === '#') break;
    let word = '';
    while (i < text.length && !/\s/.test(text[i]!)) {
      const c = text[i]!;
      if (c === '"' || c === "'") {
        const end = text.indexOf(c, i + 1);
        if (end < 0) {
          word += text.slice(i + 1);
          i = text.length;
          break;
        }
        word += text.slice(i + 1, end);
        i = end + 1;
      } else if (c === '\\' && i + 1 < text.length && /["'\\\s]/.test(text[i + 1]!)) {
        word += text[i + 1];
        i += 2;
      } else {
        word += c;
        i++;
      }
    }
    words.push(word);
  }
  return words;
}

function splitLines(text: string, file: string): Line[] {
  const out: Line[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').trim();
    if (!line || line.startsWith('#')) return;
    // the keyword ends at whitespace or `=` (`Port=22`, `Port = 22`)
    const m = /^([^\s=]+)\s*(?:=\s*)?(.*)$/.exec(line);
    if (!m) return;
    out.push({ file, line: i + 1, key: m[1]!.toLowerCase(), args: splitWords(m[2]!) });
  });
  return out;
}

/** Every file a glob names, sorted as glob(3) does; `*`/`?` may stand in any part of the path. */
function globFiles(pattern: string): string[] {
  const parts = pattern.split('/');
  let found = [parts[0] === '' ? '/' : '.'];
  for (const part of parts.slice(parts[0] === '' ? 1 : 0)) {
    if (!part) continue;
    if (!/[*?[]/.test(part)) {
      found = found.map((d) => path.join(d, part)).filter((p) => fs.existsSync(p));
      continue;
    }
    const re = globRegExp(part);
    found = found.flatMap((d) => {
      try {
        return fs.readdirSync(d).filter((n) => !n.startsWith('.') && re.test(n)).sort().map((n) => path.join(d, n));
      } catch {
        return [];
      }
    });
  }
  return found;
}

const ONE_VALUE = new Set(['hostname', 'port', 'user', 'identitiesonly', 'identityagent', 'userknownhostsfile', 'globalknownhostsfile', 'hostkeyalias', 'serveraliveinterval', 'serveralivecountmax', 'pkcs11provider', 'knownhostscommand']);

interface Collected {
  first: Map<string, { args: string[]; at: string }>;
  identityFiles: Array<{ value: string; at: string }>;
  certificateFiles: Array<{ value: string; at: string }>;
  /** ProxyJump or ProxyCommand, whichever is met first */
  proxy?: { key: 'proxyjump' | 'proxycommand'; value: string; at: string };
  problems: string[];
}

interface Walk {
  alias: string;
  opts: ResolveOptions;
  c: Collected;
  /** the remote user known so far (`Match user`) */
  user: () => string;
}

function matchActive(l: Line, w: Walk): boolean {
  const words = l.args;
  if (words.length === 1 && words[0]!.toLowerCase() === 'all') return true;
  let undecided: string | undefined;
  for (let i = 0; i < words.length; i++) {
    const raw = words[i]!;
    const negated = raw.startsWith('!');
    const criterion = raw.replace(/^!/, '').toLowerCase();
    if (criterion === 'all') continue;
    const arg = words[++i];
    let holds: boolean | undefined;
    const hostName = (w.c.first.get('hostname')?.args[0] ?? w.alias).replace(/%h/g, w.alias);
    if (arg === undefined) undecided ??= raw;
    else if (criterion === 'host') holds = patternListMatches([arg], hostName, true);
    else if (criterion === 'originalhost') holds = patternListMatches([arg], w.alias, true);
    else if (criterion === 'localuser') holds = patternListMatches([arg], os.userInfo().username);
    else if (criterion === 'user') holds = patternListMatches([arg], w.user());
    else undecided ??= raw;
    if (holds !== undefined && holds === negated) return false;
  }
  if (undecided) {
    w.c.problems.push(
      `${l.file}:${l.line}: Match ${l.args.join(' ')}: honeydue-deploy's own reader cannot evaluate \`${undecided}\` (it evaluates Match all, host, originalhost, user and localuser; OpenSSH's \`ssh -G\` evaluates the rest when HOME is your account's home) — rewrite the block as a Host block for the manager, or set the values in cluster.env`,
    );
    return false;
  }
  return true;
}

/** Reads one file's lines into `w`; Host/Match decide what applies; Include splices files in where it stands. */
function walk(file: string, w: Walk, system: boolean, active: boolean, depth: number): void {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return;
  }
  for (const l of splitLines(text, file)) {
    const at = `${l.file}:${l.line}`;
    if (l.key === 'host') {
      active = patternListMatches(l.args, w.alias);
      continue;
    }
    if (l.key === 'match') {
      active = matchActive(l, w);
      continue;
    }
    if (l.key === 'include') {
      // an Include in a block that does not apply reads nothing; after it, the block goes on as before
      if (!active) continue;
      if (depth >= 16) {
        w.c.problems.push(`${at}: Include: nested more than 16 deep — ssh refuses this too`);
        continue;
      }
      for (const arg of l.args) {
        const p = expandHome(arg, w.opts.home);
        const full = path.isAbsolute(p) ? p : path.join(system ? '/etc/ssh' : path.join(w.opts.home, '.ssh'), p);
        for (const f of globFiles(full)) walk(f, w, system, true, depth + 1);
      }
      continue;
    }
    if (!active || l.args.length === 0) continue;
    const value = l.args.join(' ');
    if (ONE_VALUE.has(l.key)) {
      if (!w.c.first.has(l.key)) w.c.first.set(l.key, { args: l.args, at });
    } else if (l.key === 'identityfile') w.c.identityFiles.push({ value, at });
    else if (l.key === 'certificatefile') w.c.certificateFiles.push({ value, at });
    else if ((l.key === 'proxyjump' || l.key === 'proxycommand') && !w.c.proxy) w.c.proxy = { key: l.key, value, at };
  }
}

/** ssh's keys when the config names none (OpenSSH 9). */
const DEFAULT_KEYS = ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk', 'id_xmss', 'id_dsa'];

interface Tokens {
  home: string;
  hostName: string;
  port: number;
  user: string;
  alias: string;
  hostKeyAlias?: string;
  proxyJump?: string;
}

/** OpenSSH's %-tokens of IdentityFile, CertificateFile, IdentityAgent and UserKnownHostsFile, and `~`. */
export function expandTokens(value: string, t: Tokens): string {
  const localHost = os.hostname();
  const table: Record<string, () => string> = {
    '%': () => '%',
    C: () => crypto.createHash('sha1').update(`${localHost}${t.hostName}${t.port}${t.user}${t.proxyJump ?? ''}`).digest('hex'),
    d: () => t.home,
    h: () => t.hostName,
    i: () => String(os.userInfo().uid),
    j: () => t.proxyJump ?? '',
    k: () => t.hostKeyAlias ?? t.alias,
    L: () => localHost.split('.')[0]!,
    l: () => localHost,
    n: () => t.alias,
    p: () => String(t.port),
    r: () => t.user,
    u: () => os.userInfo().username,
  };
  return expandHome(value.replace(/%(.)/g, (all, k: string) => (table[k] ? table[k]!() : all)), t.home);
}

function yes(v: string | undefined): boolean {
  return v !== undefined && /^(yes|true)$/i.test(v);
}

/** The tool's own reading of the config files, the way OpenSSH 9 reads them. */
export function readSshConfig(alias: string, opts: ResolveOptions): SshHostConfig {
  const c: Collected = { first: new Map(), identityFiles: [], certificateFiles: [], problems: [] };
  const localUser = os.userInfo().username;
  const w: Walk = { alias, opts, c, user: () => opts.user ?? c.first.get('user')?.args[0] ?? localUser };
  if (opts.configFile) walk(opts.configFile, w, false, true, 0);
  else {
    walk(path.join(opts.home, '.ssh', 'config'), w, false, true, 0);
    walk(opts.systemFile ?? '/etc/ssh/ssh_config', w, true, true, 0);
  }
  const get = (k: string) => c.first.get(k);
  const sources: SshHostConfig['sources'] = {};
  const take = (k: string, key: SourcedKey): string | undefined => {
    const v = get(k);
    if (v) sources[key] = v.at;
    return v?.args.join(' ');
  };
  // ssh lowercases the host name it connects to
  const hostName = (take('hostname', 'hostName') ?? alias).replace(/%(.)/g, (all, k: string) => (k === '%' ? '%' : k === 'h' ? alias : all)).toLowerCase();
  let port = 22;
  if (opts.port !== undefined) {
    port = opts.port;
    sources.port = 'command line';
  } else {
    const p = take('port', 'port');
    if (p !== undefined && /^\d+$/.test(p)) port = Number(p);
  }
  let user = localUser;
  if (opts.user !== undefined) {
    user = opts.user;
    sources.user = 'command line';
  } else {
    user = take('user', 'user') ?? localUser;
  }
  const proxyJump = c.proxy?.key === 'proxyjump' && c.proxy.value.toLowerCase() !== 'none' ? c.proxy.value : undefined;
  if (c.proxy?.key === 'proxyjump') sources.proxyJump = c.proxy.at;
  const hostKeyAlias = take('hostkeyalias', 'hostKeyAlias');
  const t: Tokens = { home: opts.home, hostName, port, user, alias, hostKeyAlias, proxyJump };
  if (c.identityFiles.length) sources.identityFiles = c.identityFiles.map((f) => f.at).join(', ');
  const identityFiles = (c.identityFiles.length ? c.identityFiles.map((f) => f.value) : DEFAULT_KEYS.map((k) => `~/.ssh/${k}`)).map((f) => expandTokens(f, t));
  const agent = take('identityagent', 'identityAgent');
  const known = get('userknownhostsfile');
  if (known) sources.userKnownHostsFiles = known.at;
  const problems = [...c.problems];
  if (c.proxy?.key === 'proxycommand' && c.proxy.value.toLowerCase() !== 'none') problems.push(refusal('ProxyCommand', c.proxy.value, c.proxy.at));
  for (const f of c.certificateFiles) problems.push(refusal('CertificateFile', expandTokens(f.value, t), f.at));
  for (const k of ['pkcs11provider', 'knownhostscommand'] as const) {
    const v = get(k);
    if (v && v.args[0]!.toLowerCase() !== 'none') problems.push(refusal(k === 'pkcs11provider' ? 'PKCS11Provider' : 'KnownHostsCommand', v.args.join(' '), v.at));
  }
  const interval = take('serveraliveinterval', 'serverAliveInterval');
  const countMax = get('serveralivecountmax')?.args[0];
  return {
    alias,
    hostName,
    port,
    user,
    identityFiles,
    identitiesOnly: yes(take('identitiesonly', 'identitiesOnly')),
    identityAgent: agent === undefined ? undefined : /^(none|SSH_AUTH_SOCK|\$.*)$/.test(agent) ? agent : expandTokens(agent, t),
    userKnownHostsFiles: (known?.args ?? ['~/.ssh/known_hosts', '~/.ssh/known_hosts2']).map((f) => expandTokens(f, t)),
    globalKnownHostsFiles: (get('globalknownhostsfile')?.args ?? ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']).map((f) => expandTokens(f, t)),
    hostKeyAlias,
    proxyJump,
    serverAliveInterval: interval !== undefined && /^\d+$/.test(interval) ? Number(interval) : 0,
    serverAliveCountMax: countMax !== undefined && /^\d+$/.test(countMax) ? Number(countMax) : 3,
    sources,
    problems,
    via: 'reader',
  };
}

/** What the ssh2 client cannot do as ssh would: named with its value and where it is set. */
function refusal(option: string, value: string, at: string): string {
  const what: Record<string, string> = {
    ProxyCommand: 'honeydue-deploy connects with its own SSH client and cannot run a proxy command — use ProxyJump (or DEPLOY_SSH_JUMP in cluster.env) for a bastion',
    CertificateFile: 'honeydue-deploy\'s SSH client cannot log in with an SSH certificate — give the deploy user a plain key (DEPLOY_SSH_KEY, or an IdentityFile the manager\'s authorized_keys holds)',
    PKCS11Provider: 'honeydue-deploy\'s SSH client cannot use a PKCS#11 token directly — load its keys into an agent (ssh-add -s) and use the agent',
    KnownHostsCommand: 'honeydue-deploy checks host keys against known_hosts files only — put the host keys in a file and name it in UserKnownHostsFile (or DEPLOY_KNOWN_HOSTS)',
  };
  return `${at}: ${option} ${value}: ${what[option]}`;
}

// ---- ssh -G -------------------------------------------------------------------------------------------------

/** `ssh -G` output: one `key value` per line; repeated keys (identityfile) in order. */
export function parseSshG(out: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of out.split('\n')) {
    const i = line.indexOf(' ');
    if (i <= 0) continue;
    const k = line.slice(0, i).toLowerCase();
    m.set(k, [...(m.get(k) ?? []), line.slice(i + 1)]);
  }
  return m;
}

/** `ssh -G`'s argv for a host, with ssh's command-line options for what cluster.env sets. */
function sshGArgs(alias: string, opts: ResolveOptions): string[] {
  return ['-G', ...(opts.configFile ? ['-F', opts.configFile] : []), ...(opts.user !== undefined ? ['-l', opts.user] : []), ...(opts.port !== undefined ? ['-p', String(opts.port)] : []), '--', alias];
}

/** Asks OpenSSH: undefined when there is no `ssh` to ask; throws what ssh says about a config it refuses. */
function askSsh(alias: string, opts: ResolveOptions, ahead?: { status: number | null; stdout: string; stderr: string; missing: boolean }): Map<string, string[]> | undefined {
  const args = sshGArgs(alias, opts);
  const r = ahead ?? (() => {
    const x = spawnSync('ssh', args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
    return { status: x.status, stdout: x.stdout ?? '', stderr: x.stderr || String(x.error ?? ''), missing: (x.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT' };
  })();
  if (r.missing) return undefined;
  if (r.status !== 0) {
    const why = r.stderr.trim().split('\n').filter((l) => !/Pseudo-terminal/.test(l)).join('; ');
    throw new SshConfigError(`\`ssh ${args.join(' ')}\` refused your SSH configuration: ${why || `exit ${r.status}`} — fix it (your own ssh would fail the same way)`);
  }
  return parseSshG(r.stdout);
}

export class SshConfigError extends Error {}

/** `ssh -G`'s answer as the tool's settings; each value's source found by the reader where it agrees. */
function fromSshG(alias: string, g: Map<string, string[]>, opts: ResolveOptions): SshHostConfig {
  const one = (k: string) => g.get(k)?.[0];
  let mine: SshHostConfig | undefined;
  try {
    mine = readSshConfig(alias, opts);
  } catch {
    mine = undefined;
  }
  const hostName = one('hostname') ?? alias;
  const port = Number(one('port') ?? 22);
  const user = one('user') ?? os.userInfo().username;
  const proxyJump = one('proxyjump');
  const hostKeyAlias = one('hostkeyalias');
  const t: Tokens = { home: opts.home, hostName, port, user, alias, hostKeyAlias, proxyJump };
  const agent = one('identityagent');
  const out: SshHostConfig = {
    alias,
    hostName,
    port,
    user,
    identityFiles: (g.get('identityfile') ?? []).map((f) => expandTokens(f, t)),
    identitiesOnly: yes(one('identitiesonly')),
    identityAgent: agent,
    userKnownHostsFiles: (one('userknownhostsfile') ?? '').split(' ').filter(Boolean),
    globalKnownHostsFiles: (one('globalknownhostsfile') ?? '').split(' ').filter(Boolean),
    hostKeyAlias,
    proxyJump: proxyJump && proxyJump.toLowerCase() !== 'none' ? proxyJump : undefined,
    serverAliveInterval: Number(one('serveraliveinterval') ?? 0) || 0,
    serverAliveCountMax: Number(one('serveralivecountmax') ?? 3) || 3,
    sources: {},
    problems: [],
    via: 'ssh -G',
  };
  // where a value came from: the reader names the file and line when it reads the same; else ssh said so
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const defaults: Partial<Record<SourcedKey, unknown>> = {
    hostName: alias,
    port: 22,
    user: os.userInfo().username,
    identityFiles: DEFAULT_KEYS.map((k) => path.join(opts.home, '.ssh', k)),
    identitiesOnly: false,
    identityAgent: undefined,
    userKnownHostsFiles: [path.join(opts.home, '.ssh', 'known_hosts'), path.join(opts.home, '.ssh', 'known_hosts2')],
    hostKeyAlias: undefined,
    proxyJump: undefined,
    serverAliveInterval: 0,
  };
  for (const key of Object.keys(defaults) as SourcedKey[]) {
    if (mine?.sources[key] && same(mine[key], out[key])) out.sources[key] = mine.sources[key];
    else if (key === 'port' && opts.port !== undefined) out.sources.port = 'command line';
    else if (key === 'user' && opts.user !== undefined) out.sources.user = 'command line';
    else if (!same(defaults[key], out[key])) out.sources[key] = 'ssh -G';
  }
  // what this client cannot do: found in ssh's own answer; the reader names the line when it can
  const at = (option: string) => mine?.problems.find((p) => p.includes(`: ${option} `))?.split(`: ${option} `)[0] ?? 'your ssh config (ssh -G)';
  const proxyCommand = one('proxycommand');
  if (proxyCommand && proxyCommand.toLowerCase() !== 'none') out.problems.push(refusal('ProxyCommand', proxyCommand, at('ProxyCommand')));
  for (const f of g.get('certificatefile') ?? []) out.problems.push(refusal('CertificateFile', expandTokens(f, t), at('CertificateFile')));
  const pkcs = one('pkcs11provider');
  if (pkcs && pkcs.toLowerCase() !== 'none') out.problems.push(refusal('PKCS11Provider', pkcs, at('PKCS11Provider')));
  const khc = one('knownhostscommand');
  if (khc && khc.toLowerCase() !== 'none') out.problems.push(refusal('KnownHostsCommand', khc, at('KnownHostsCommand')));
  return out;
}

export interface Resolver {
  /** why `ssh -G` is not the one asked (no ssh; HOME is not the account's home), or undefined when it is */
  readerReason?: string;
  resolve(alias: string, cli?: { user?: string; port?: number }): SshHostConfig;
  /** asks `ssh -G` ahead, without blocking (while other probes run): `resolve` then answers from what it said */
  warm(alias: string, cli?: { user?: string; port?: number }): Promise<void>;
}

/** `ssh -G` answers asked ahead (by warm), by the same key as the cache: the exit code, stdout and stderr */
const asked = new Map<string, { status: number | null; stdout: string; stderr: string; missing: boolean }>();

const cache = new Map<string, SshHostConfig>();

/**
 * How `ssh` resolves hosts for this operator: `ssh -G` (the operator's own OpenSSH) when HOME is the account's home
 * (ssh reads the account's home, not $HOME) or a config file is named; else the tool's reader over $HOME/.ssh/config.
 */
export function sshResolver(env: NodeJS.ProcessEnv = process.env, configFile?: string): Resolver {
  const home = os.homedir();
  const accountHome = os.userInfo().homedir;
  let readerReason: string | undefined =
    !configFile && path.resolve(home) !== path.resolve(accountHome) ? `HOME (${home}) is not your account's home (${accountHome}), which ssh would read` : undefined;
  const opts = (cli: { user?: string; port?: number }): ResolveOptions => ({ home: readerReason ? home : accountHome, configFile: configFile ? expandHome(configFile, home) : undefined, ...cli });
  return {
    get readerReason() {
      return readerReason;
    },
    resolve(alias, cli = {}) {
      const o = opts(cli);
      const key = JSON.stringify([alias, o, readerReason, env.PATH]);
      const hit = cache.get(key);
      if (hit) return hit;
      let found: SshHostConfig | undefined;
      if (!readerReason) {
        const g = askSsh(alias, o, asked.get(key));
        if (g) found = fromSshG(alias, g, o);
        else {
          readerReason = 'no OpenSSH client (`ssh`) is installed to ask';
          found = readSshConfig(alias, { ...o, home });
        }
      } else found = readSshConfig(alias, o);
      cache.set(key, found);
      return found;
    },
    warm(alias, cli = {}) {
      const o = opts(cli);
      const key = JSON.stringify([alias, o, readerReason, env.PATH]);
      if (readerReason || cache.has(key) || asked.has(key)) return Promise.resolve();
      return new Promise((resolve) => {
        execFile('ssh', sshGArgs(alias, o), { encoding: 'utf8', timeout: 10_000 }, (err, stdout, stderr) => {
          const code = (err as (NodeJS.ErrnoException & { code?: string | number }) | null)?.code;
          asked.set(key, { status: err ? (typeof code === 'number' ? code : 255) : 0, stdout, stderr: stderr || (err ? String(err.message) : ''), missing: code === 'ENOENT' });
          resolve();
        }).stdin?.end();
      });
    },
  };
}
