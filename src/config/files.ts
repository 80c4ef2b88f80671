import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The package's own folder: the nearest one above this module with a package.json (src/ under tsx, dist/ when built). */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}: the honeydue-deploy package is incomplete — reinstall it`);
    dir = up;
  }
  return dir;
}

/** The package's own templates folder. */
export const TEMPLATES_DIR = path.join(packageRoot(), 'templates') + path.sep;
export const PACKAGED_STACK_TEMPLATE = path.join(TEMPLATES_DIR, 'swarm-stack.yml');

export type EnvFileName = 'cluster.env' | 'registry.env' | 'prod.env';
export const ENV_FILES: readonly EnvFileName[] = ['cluster.env', 'registry.env', 'prod.env'];

export interface SecretSpec {
  /** the short name used in secret names: <stack>_<key>_<deploy_id> */
  key: 'postgres_password' | 'secret_key' | 'email_host_password' | 'fcm_server_key' | 'apns_auth_key';
  file: string;
  /** the stack template variable holding this secret's versioned name */
  variable: string;
}

export const SECRETS: readonly SecretSpec[] = [
  { key: 'postgres_password', file: 'secrets/postgres_password.txt', variable: 'POSTGRES_PASSWORD_SECRET' },
  { key: 'secret_key', file: 'secrets/secret_key.txt', variable: 'SECRET_KEY_SECRET' },
  { key: 'email_host_password', file: 'secrets/email_host_password.txt', variable: 'EMAIL_HOST_PASSWORD_SECRET' },
  { key: 'fcm_server_key', file: 'secrets/fcm_server_key.txt', variable: 'FCM_SERVER_KEY_SECRET' },
  { key: 'apns_auth_key', file: 'secrets/apns_auth_key.p8', variable: 'APNS_AUTH_KEY_SECRET' },
];

/** Every file the operator fills in, in the order they are listed to them. */
export const REQUIRED_FILES: readonly string[] = [...ENV_FILES, ...SECRETS.map((s) => s.file)];

export const OPTIONAL_STACK_FILE = 'swarm-stack.yml';

export function exampleOf(relative: string): string {
  return path.join(TEMPLATES_DIR, `${relative}.example`);
}

/** Swarm refuses secret data of 512000 bytes or more. */
export const SECRET_MAX_BYTES = 512_000;
export const PLACEHOLDER = /CHANGE_ME/;
