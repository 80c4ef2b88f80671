/**
 * A private docker configuration for each run, on the laptop: a 0700 folder in the temp dir that DOCKER_CONFIG
 * points at. The registry login lives there and dies with the run, so an operator's own `docker login` is never
 * touched, and two deploys by one user never share (or log out) each other's credential. Everything the user's
 * configuration provides besides credentials is carried over: CLI plugins (buildx), contexts, buildx builders,
 * and config.json without `auths`, `credsStore` and `credHelpers`.
 *
 * docker's CLI picks a credential helper by itself when config.json names none and holds no `auths` entry
 * (`docker-credential-osxkeychain` on a Mac, `pass` or `secretservice` on Linux, when installed): the run's token
 * would land in the operator's keychain. So the run's config.json always holds one `auths` entry, a name no
 * registry can have: docker then keeps the run's login in this file, whatever helpers are installed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const PREFIX = 'honeydue-deploy-docker-';
const CREDENTIAL_KEYS = ['auths', 'credsStore', 'credHelpers'];
/** An `auths` entry no registry can match (.invalid is reserved): it keeps docker from choosing a credential helper. */
export const FILE_STORE_PLACEHOLDER = 'honeydue-deploy.invalid';
/** Linked, not copied: they hold no credentials and may be large (buildx state). */
const CARRIED_OVER = ['cli-plugins', 'contexts', 'buildx'];

export function userDockerConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG || path.join(env.HOME || os.homedir(), '.docker');
}

/**
 * config.json as the user has it, without credentials, plus the placeholder `auths` entry that keeps the run's
 * login in the file (never in an OS credential store).
 */
export function withoutCredentials(text: string | undefined): string {
  let json: Record<string, unknown> = {};
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    json = {};
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) json = {};
  for (const k of CREDENTIAL_KEYS) delete json[k];
  json.auths = { [FILE_STORE_PLACEHOLDER]: {} };
  return `${JSON.stringify(json, null, 2)}\n`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Per-run folders left by runs that were killed (their process is gone): removed, credential and all. */
export function removeStaleLocalConfigs(tmp = os.tmpdir()): string[] {
  const removed: string[] = [];
  for (const name of fs.readdirSync(tmp)) {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(name);
    if (!m || alive(Number(m[1]))) continue;
    try {
      fs.rmSync(path.join(tmp, name), { recursive: true, force: true });
      removed.push(path.join(tmp, name));
    } catch {
      // another user's folder (a shared temp dir): not ours to remove
    }
  }
  return removed;
}

export function createLocalDockerConfig(env: NodeJS.ProcessEnv = process.env, tmp = os.tmpdir()): string {
  const dir = fs.mkdtempSync(path.join(tmp, `${PREFIX}${process.pid}-`));
  fs.chmodSync(dir, 0o700);
  const source = userDockerConfigDir(env);
  let text: string | undefined;
  try {
    text = fs.readFileSync(path.join(source, 'config.json'), 'utf8');
  } catch {
    text = undefined;
  }
  fs.writeFileSync(path.join(dir, 'config.json'), withoutCredentials(text), { mode: 0o600 });
  for (const sub of CARRIED_OVER) {
    if (fs.existsSync(path.join(source, sub))) fs.symlinkSync(path.join(source, sub), path.join(dir, sub));
  }
  return dir;
}

export function removeLocalDockerConfig(dir: string | undefined): void {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
