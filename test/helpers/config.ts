/** A complete, valid deploy dir in a temp folder; tests change one thing and look at what happens. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './tmp.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = path.join(ROOT, 'dist', 'cli.js');

export const VALID: Record<string, Record<string, string>> = {
  'cluster.env': {
    DEPLOY_MANAGER_HOST: '127.0.0.1',
    DEPLOY_MANAGER_USER: 'deploy',
    DEPLOY_MANAGER_SSH_PORT: '2222',
    DEPLOY_STACK_NAME: 'honeydue',
    API_REPLICAS: '3',
    WORKER_REPLICAS: '1',
    ADMIN_REPLICAS: '1',
    DOZZLE_PORT: '9999',
    DEPLOY_HEALTHCHECK_URL: 'https://api.example.com/api/health/',
    DEPLOY_CONVERGE_TIMEOUT: '300',
    DEPLOY_HEALTHCHECK_TIMEOUT: '120',
  },
  'registry.env': {
    REGISTRY: 'registry.example.com',
    REGISTRY_NAMESPACE: 'honeydue',
    REGISTRY_USERNAME: 'deploy-bot',
    REGISTRY_TOKEN: 'tok-UNIQUE-registry-token-7781',
  },
  'prod.env': {
    DB_HOST: 'db.example.com',
    DB_NAME: 'honeydue',
    DB_USER: 'app',
    DB_SSLMODE: 'require',
    DB_MAX_OPEN_CONNS: '25',
    B2_ENDPOINT: 'https://s3.example.com',
    B2_KEY_ID: 'keyid-1234',
    B2_APP_KEY: 'b2-UNIQUE-app-key-9913',
    B2_BUCKET_NAME: 'uploads',
    EMAIL_HOST: 'smtp.example.com',
    EMAIL_HOST_USER: 'noreply',
    DEFAULT_FROM_EMAIL: 'noreply@example.com',
    APNS_KEY_ID: 'KEY123',
    APNS_TEAM_ID: 'TEAM45',
    APNS_TOPIC: 'com.example.honeydue',
  },
};

export const SECRET_VALUES: Record<string, Buffer> = {
  'secrets/postgres_password.txt': Buffer.from(`pg-UNIQUE-'q"uote $(whoami) ;\`id\`\n`),
  'secrets/secret_key.txt': Buffer.from('--sk-UNIQUE-leading-dash'),
  'secrets/email_host_password.txt': Buffer.from('smtp-UNIQUE-crlf\r\nline2\r\n'),
  'secrets/fcm_server_key.txt': Buffer.concat([Buffer.from('fcm-UNIQUE-'), Buffer.from([0, 1, 2, 255, 254, 10])]),
  'secrets/apns_auth_key.p8': Buffer.from('-----BEGIN PRIVATE KEY-----\napns-UNIQUE-line-one-abcdef\napns-UNIQUE-line-two-ghijkl\n-----END PRIVATE KEY-----\n'),
};

export function envText(values: Record<string, string>): string {
  return Object.entries(values).map(([k, v]) => `${k}=${v}\n`).join('');
}

export interface TempConfig {
  root: string;
  deployDir: string;
  write(file: string, values: Record<string, string | undefined>): void;
  path(rel: string): string;
}

/** root/deploy holds a valid configuration; `overrides` replace keys (undefined removes one). */
export function makeConfig(overrides: Partial<Record<string, Record<string, string | undefined>>> = {}): TempConfig {
  const root = tempDir('hd-unit-');
  const deployDir = path.join(root, 'deploy');
  fs.mkdirSync(path.join(deployDir, 'secrets'), { recursive: true });
  const write = (file: string, values: Record<string, string | undefined>) => {
    const merged: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...VALID[file], ...values })) if (v !== undefined) merged[k] = v;
    fs.writeFileSync(path.join(deployDir, file), envText(merged), { mode: 0o600 });
  };
  for (const file of Object.keys(VALID)) write(file, overrides[file] ?? {});
  for (const [rel, data] of Object.entries(SECRET_VALUES)) fs.writeFileSync(path.join(deployDir, rel), data, { mode: 0o600 });
  // the build context (the CLI runs in root): a real deploy checks that the Dockerfile exists
  fs.writeFileSync(path.join(root, 'Dockerfile'), 'FROM scratch AS api\nFROM scratch AS worker\nFROM scratch AS admin\n');
  // the deploy dir lies inside that context: its secrets must stay out of the build
  fs.writeFileSync(path.join(root, '.dockerignore'), '.git\n/deploy\n');
  return { root, deployDir, write, path: (rel) => path.join(deployDir, rel) };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: opts.cwd,
      env: { PATH: process.env.PATH, HOME: opts.cwd, CI: 'true', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
