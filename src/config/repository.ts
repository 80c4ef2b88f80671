/**
 * The deploy dir may live inside the app repository (the seed's own layout). Then nothing secret may be
 * committed, and nothing secret may reach a build: `docker build` sends the whole context to the builder, and
 * a Dockerfile's `COPY . .` bakes it into a layer and the build cache.
 */
import fs from 'node:fs';
import path from 'node:path';
import { gitFilterKeys, gitShortSha, gitStatus, gitTracked } from '../commands/git.js';
import type { Runner } from '../io/runner.js';
import { ENV_FILES, SECRETS } from './files.js';

/** The files of a deploy dir that hold credentials or secrets. */
export const SENSITIVE_FILES: readonly string[] = [...ENV_FILES, ...SECRETS.map((s) => s.file)];

/** What `init` writes as deploy/.gitignore: the real values and anything the tool may write stay out of git. */
export const DEPLOY_GITIGNORE = `# Written by honeydue-deploy init. Real values never go into git: the env files hold the registry token
# and storage keys, secrets/ the swarm secrets. Your own swarm-stack.yml and hooks/ may be committed.
cluster.env
registry.env
prod.env
secrets/
audit.log
`;

/**
 * deploy/.gitignore of a team whose secret values live in a password manager (`init --secrets-from`): the env files,
 * secrets.env and the *.age files are shared through git; plain secret files never are.
 */
export const TEAM_GITIGNORE = `# Written by honeydue-deploy init --secrets-from. This deploy dir is shared through git: cluster.env, registry.env
# (without its token), prod.env (its secret keys left empty), secrets.env (references, never values) and secrets/*.age
# (encrypted) hold no secret value. A plain secret file would: it never goes into git (the tool refuses one tracked).
secrets/*.txt
secrets/*.p8
audit.log
`;

/** Writes deploy/.gitignore unless there is one. Returns whether it wrote it. */
export function writeGitignore(deployDir: string, text: string = DEPLOY_GITIGNORE): boolean {
  const file = path.join(deployDir, '.gitignore');
  if (fs.existsSync(file)) return false;
  fs.writeFileSync(file, text, { mode: 0o644 });
  return true;
}

function shown(p: string): string {
  return path.relative(process.cwd(), p) || p;
}

/** Secret and env files of the deploy dir that git tracks (committed or staged), relative to it. */
export async function trackedSecretFiles(deployDir: string, runner: Runner): Promise<string[]> {
  const r = await runner.run(gitTracked(deployDir, SENSITIVE_FILES));
  if (r.exitCode !== 0) return []; // not a git repository
  return r.stdout.split('\0').filter(Boolean);
}

/**
 * The tracked files that hold a secret value, each an error: a secret file always; an env file when it holds a
 * literal secret (`literal`: its keys that do) — one whose secrets are references in secrets.env may be committed.
 */
export function trackedSecretProblems(deployDir: string, tracked: readonly string[], literal: Partial<Record<string, string[]>>): string[] {
  return tracked.flatMap((rel) => {
    const file = shown(path.join(deployDir, rel));
    if (rel.startsWith('secrets/')) {
      const key = rel.replace(/^secrets\//, '').replace(/\.(txt|p8)$/, '');
      return [`${file}: (file): is tracked by git, so everyone with the repository has the secret — run \`git rm --cached ${file}\`, commit, rotate the value if it was ever pushed, and name its source in secrets.env instead (${key}=op://…, pass:…, age:…)`];
    }
    const keys = literal[rel] ?? [];
    if (!keys.length) return [];
    return [`${file}: (file): is tracked by git and holds the value of ${keys.join(', ')}, so everyone with the repository has ${keys.length === 1 ? 'it' : 'them'} — move ${keys.length === 1 ? 'it' : 'them'} into secrets.env as a reference (op://…, pass:…, age:…, cmd:…) and leave ${keys.length === 1 ? 'it' : 'them'} empty in ${rel}; rotate ${keys.length === 1 ? 'it' : 'them'} if ever pushed (or \`git rm --cached ${file}\`)`];
  });
}

export interface GitState {
  sha?: string;
  dirty: boolean;
}

/** Reads git in the build context (read-only, no repository code runs). No repository: sha undefined. */
export async function readGit(context: string, runner: Runner): Promise<GitState> {
  // side by side: all read-only, and outside a repository all fail; status waits for the filter names (no
  // program the repository configures may run)
  const status = runner.run(gitFilterKeys(context)).then((keys) => runner.run(gitStatus(context, keys.stdout.split('\n').map((l) => l.trim()).filter(Boolean))));
  const [head, st] = await Promise.all([runner.run(gitShortSha(context)), status]);
  if (head.exitCode !== 0) return { dirty: false };
  return { sha: head.stdout.trim(), dirty: st.stdout.trim() !== '' };
}

// ---- .dockerignore, with the semantics of docker's pattern matcher ----

export interface IgnorePattern {
  exclusion: boolean;
  re: RegExp;
}

function escapeRe(c: string): string {
  return c.replace(/[.+^${}()|[\]\\*?]/g, '\\$&');
}

/** docker's pattern syntax: `*` within a path part, `?` one character, `**` any number of parts, `[...]`, `\` escapes. */
function compile(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') i++;
        re += i + 1 >= pattern.length ? '.*' : '(.*/)?';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '\\') re += escapeRe(pattern[++i] ?? '\\');
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end === -1) re += '\\[';
      else {
        re += `[${pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += escapeRe(c);
  }
  return new RegExp(`${re}$`);
}

function clean(p: string): string {
  const parts: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts.join('/') || '.';
}

export function parseDockerignore(text: string): IgnorePattern[] {
  const patterns: IgnorePattern[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const exclusion = line.startsWith('!');
    if (exclusion) line = line.slice(1).trim();
    if (!line) continue;
    patterns.push({ exclusion, re: compile(clean(line)) });
  }
  return patterns;
}

/** Whether docker leaves `file` (relative to the context, with /) out of the build context. */
export function isIgnored(patterns: IgnorePattern[], file: string): boolean {
  const parts = clean(file).split('/');
  let matched = false;
  for (const p of patterns) {
    if (p.exclusion !== matched) continue;
    let match = p.re.test(parts.join('/'));
    for (let i = 1; !match && i < parts.length; i++) match = p.re.test(parts.slice(0, i).join('/'));
    if (match) matched = !p.exclusion;
  }
  return matched;
}

/** BuildKit reads <Dockerfile>.dockerignore beside the Dockerfile first, then <context>/.dockerignore. */
export function dockerignoreFile(context: string, dockerfile: string): string {
  const own = `${dockerfile}.dockerignore`;
  return fs.existsSync(own) ? own : path.join(context, '.dockerignore');
}

/**
 * When the deploy dir lies inside the build context, its secret and env files must be excluded by the
 * context's .dockerignore. Returns the problem, with the exact line to add, or undefined.
 */
export function deployDirInBuildContext(deployDir: string, context: string, dockerfile: string): string | undefined {
  const rel = path.relative(path.resolve(context), path.resolve(deployDir)).split(path.sep).join('/');
  if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  const ignoreFile = dockerignoreFile(context, dockerfile);
  const text = fs.existsSync(ignoreFile) ? fs.readFileSync(ignoreFile, 'utf8') : '';
  const patterns = parseDockerignore(text);
  const exposed = SENSITIVE_FILES.map((f) => (rel === '' ? f : `${rel}/${f}`)).filter((f) => !isIgnored(patterns, f));
  if (!exposed.length) return undefined;
  const line = rel === '' ? 'cluster.env`, `registry.env`, `prod.env` and `secrets' : `/${rel}`;
  return `${shown(ignoreFile)}: (file): the deploy dir ${shown(deployDir)} is inside the build context and ${exposed.length === SENSITIVE_FILES.length ? 'none' : 'not all'} of its secret files are excluded (${exposed.slice(0, 2).join(', ')}${exposed.length > 2 ? ', …' : ''}): docker build would send them to the builder and a COPY . . would bake them into the image — add the line \`${line}\` to ${shown(ignoreFile)}`;
}
