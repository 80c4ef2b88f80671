/**
 * The bad-input matrix: each case is a valid configuration with one thing wrong. The real CLI must print the
 * exact one-line problem (file, key, what to do), exit 2, and never open a connection: the manager address
 * points at a local listener that counts connection attempts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEPLOY_GITIGNORE } from '../../src/config/repository.js';
import { makeConfig, runCli, SECRET_VALUES, type TempConfig } from '../helpers/config.js';

let listener: net.Server;
let port = 0;
let connections = 0;

before(async () => {
  listener = net.createServer((s) => {
    connections += 1;
    s.destroy();
  });
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  port = (listener.address() as net.AddressInfo).port;
});
after(() => listener.close());

interface Case {
  name: string;
  setup?: (c: TempConfig) => void;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** exact line expected on stderr (a pattern where the line holds a timestamp) */
  line: string | RegExp;
}

function ownStack(c: TempConfig, edit: (text: string) => string): void {
  const template = fs.readFileSync(path.join(import.meta.dirname, '../../templates/swarm-stack.yml'), 'utf8');
  fs.writeFileSync(c.path('swarm-stack.yml'), edit(template));
}

const cases: Case[] = [
  { name: 'missing manager host', setup: (c) => c.write('cluster.env', { DEPLOY_MANAGER_HOST: undefined }), line: "deploy/cluster.env: DEPLOY_MANAGER_HOST: is not set — set it to the manager's host name, IP or ~/.ssh/config alias" },
  { name: 'placeholder manager host', setup: (c) => c.write('cluster.env', { DEPLOY_MANAGER_HOST: 'CHANGE_ME-manager-host' }), line: "deploy/cluster.env: DEPLOY_MANAGER_HOST: is still the example placeholder — set it to the manager's host name, IP or ~/.ssh/config alias" },
  { name: 'missing manager user', setup: (c) => c.write('cluster.env', { DEPLOY_MANAGER_USER: undefined }), line: 'deploy/cluster.env: DEPLOY_MANAGER_USER: is not set — set it to the SSH user on the manager (in the docker group)' },
  { name: 'port not a number', setup: (c) => c.write('cluster.env', { DEPLOY_MANAGER_SSH_PORT: 'ssh' }), line: 'deploy/cluster.env: DEPLOY_MANAGER_SSH_PORT: "ssh" is not a port — use a whole number from 1 to 65535' },
  { name: 'port zero', setup: (c) => c.write('cluster.env', { DEPLOY_MANAGER_SSH_PORT: '0' }), line: 'deploy/cluster.env: DEPLOY_MANAGER_SSH_PORT: "0" is not a port — use a whole number from 1 to 65535' },
  { name: 'port too large', setup: (c) => c.write('cluster.env', { DOZZLE_PORT: '70000' }), line: 'deploy/cluster.env: DOZZLE_PORT: "70000" is not a port — use a whole number from 1 to 65535' },
  { name: 'negative replicas', setup: (c) => c.write('cluster.env', { ADMIN_REPLICAS: '-1' }), line: 'deploy/cluster.env: ADMIN_REPLICAS: "-1" is not a replica count — use a whole number, 0 or more' },
  { name: 'fractional replicas', setup: (c) => c.write('cluster.env', { API_REPLICAS: '1.5' }), line: 'deploy/cluster.env: API_REPLICAS: "1.5" is not a replica count — use a whole number, 0 or more' },
  { name: 'two workers', setup: (c) => c.write('cluster.env', { WORKER_REPLICAS: '2' }), line: 'deploy/cluster.env: WORKER_REPLICAS: 2 replicas would each run the cron scheduler and enqueue the same periodic jobs (duplicate digests and emails) — keep WORKER_REPLICAS=1' },
  { name: 'zero timeout', setup: (c) => c.write('cluster.env', { DEPLOY_CONVERGE_TIMEOUT: '0' }), line: 'deploy/cluster.env: DEPLOY_CONVERGE_TIMEOUT: "0" is not a timeout — use a whole number of seconds greater than 0' },
  { name: 'timeout in words', setup: (c) => c.write('cluster.env', { DEPLOY_HEALTHCHECK_TIMEOUT: 'ten' }), line: 'deploy/cluster.env: DEPLOY_HEALTHCHECK_TIMEOUT: "ten" is not a timeout — use a whole number of seconds greater than 0' },
  { name: 'health URL not http', setup: (c) => c.write('cluster.env', { DEPLOY_HEALTHCHECK_URL: 'ftp://api.example.com/health' }), line: 'deploy/cluster.env: DEPLOY_HEALTHCHECK_URL: "ftp://api.example.com/health" is not an http(s) URL — use a full http(s) URL such as https://api.example.com/api/health/' },
  { name: 'bad stack name', setup: (c) => c.write('cluster.env', { DEPLOY_STACK_NAME: 'Honey Due' }), line: 'deploy/cluster.env: DEPLOY_STACK_NAME: "Honey Due" is not a stack name — use up to 30 lowercase letters, digits, _ or -, starting with a letter or digit' },
  { name: 'misspelt key', setup: (c) => c.write('cluster.env', { API_REPLICA: '2' }), line: 'deploy/cluster.env: API_REPLICA: is not a setting of cluster.env — did you mean API_REPLICAS?' },
  { name: 'an unknown key far from any', setup: (c) => c.write('cluster.env', { SOMETHING_ELSE: '2' }), line: 'deploy/cluster.env: SOMETHING_ELSE: is not a setting of cluster.env — remove it or fix its spelling' },
  { name: 'credentials in a bad value are not echoed', setup: (c) => c.write('registry.env', { REGISTRY: 'https://bot:hunter2pass@registry.example.com' }), line: 'deploy/registry.env: REGISTRY: "https://[redacted]@registry.example.com" is not a registry host — write host[:port] without a scheme or path, e.g. registry.example.com or 127.0.0.1:5000' },
  { name: 'registry with a scheme', setup: (c) => c.write('registry.env', { REGISTRY: 'https://registry.example.com' }), line: 'deploy/registry.env: REGISTRY: "https://registry.example.com" is not a registry host — write host[:port] without a scheme or path, e.g. registry.example.com or 127.0.0.1:5000' },
  { name: 'missing registry token', setup: (c) => c.write('registry.env', { REGISTRY_TOKEN: undefined }), line: 'deploy/registry.env: REGISTRY_TOKEN: is not set — set it to a registry token with push and pull rights' },
  { name: 'placeholder registry token', setup: (c) => c.write('registry.env', { REGISTRY_TOKEN: 'CHANGE_ME-registry-token' }), line: 'deploy/registry.env: REGISTRY_TOKEN: is still the example placeholder — set it to a registry token with push and pull rights' },
  { name: 'bad namespace', setup: (c) => c.write('registry.env', { REGISTRY_NAMESPACE: 'My Team' }), line: 'deploy/registry.env: REGISTRY_NAMESPACE: "My Team" is not a registry namespace — use lowercase path components such as myteam or org/team' },
  {
    name: 'partial B2',
    setup: (c) => c.write('prod.env', { B2_APP_KEY: undefined, B2_BUCKET_NAME: undefined }),
    line: 'deploy/prod.env: B2_APP_KEY, B2_BUCKET_NAME: missing while B2_ENDPOINT, B2_KEY_ID are set — set all four B2_* for S3-compatible storage, or clear all four to use the local uploads volume',
  },
  { name: 'sslmode disable', setup: (c) => c.write('prod.env', { DB_SSLMODE: 'disable' }), line: 'deploy/prod.env: DB_SSLMODE: "disable" lets the database connection fall back to plain text — use require (Neon) or verify-full' },
  { name: 'sslmode missing', setup: (c) => c.write('prod.env', { DB_SSLMODE: undefined }), line: 'deploy/prod.env: DB_SSLMODE: is not set — set it to require (Neon), verify-ca or verify-full; never leave the database connection unencrypted' },
  { name: 'sslmode empty', setup: (c) => c.write('prod.env', { DB_SSLMODE: '' }), line: 'deploy/prod.env: DB_SSLMODE: is not set — set it to require (Neon), verify-ca or verify-full; never leave the database connection unencrypted' },
  { name: 'B2 endpoint over http', setup: (c) => c.write('prod.env', { B2_ENDPOINT: 'http://s3.example.com' }), line: 'deploy/prod.env: B2_ENDPOINT: "http://s3.example.com" is not an https URL — uploads must travel encrypted: use the https endpoint, e.g. https://s3.eu-central-003.backblazeb2.com' },
  { name: 'unknown sslmode', setup: (c) => c.write('prod.env', { DB_SSLMODE: 'always' }), line: 'deploy/prod.env: DB_SSLMODE: "always" is not an sslmode — use require, verify-ca or verify-full' },
  { name: 'pool size not a number', setup: (c) => c.write('prod.env', { DB_MAX_OPEN_CONNS: 'lots' }), line: 'deploy/prod.env: DB_MAX_OPEN_CONNS: "lots" is not a valid connection count — use a whole number greater than 0' },
  { name: 'lifetime not a duration', setup: (c) => c.write('prod.env', { DB_MAX_LIFETIME: '10 minutes' }), line: 'deploy/prod.env: DB_MAX_LIFETIME: "10 minutes" is not a duration — write it like 600s, 10m or 1h30m' },
  { name: 'missing database host', setup: (c) => c.write('prod.env', { DB_HOST: undefined }), line: 'deploy/prod.env: DB_HOST: is not set — set it to the Postgres host (e.g. the Neon endpoint)' },
  { name: 'a secret in prod.env', setup: (c) => c.write('prod.env', { SECRET_KEY: 'oops' }), line: 'deploy/prod.env: SECRET_KEY: secrets do not belong in prod.env — put it in secrets/secret_key.txt and remove the line' },
  { name: 'a multi-line env value', setup: (c) => fs.appendFileSync(c.path('prod.env'), 'GREETING="hello\\nworld"\n'), line: "deploy/prod.env: GREETING: spans several lines, which docker's env files cannot carry — put it on one line (or make it a secret file)" },
  { name: 'empty secret file', setup: (c) => fs.writeFileSync(c.path('secrets/secret_key.txt'), '', { mode: 0o600 }), line: 'deploy/secrets/secret_key.txt: (file): is empty — put the secret_key value in it' },
  {
    name: 'secret still the example',
    setup: (c) => fs.writeFileSync(c.path('secrets/fcm_server_key.txt'), fs.readFileSync(path.join(import.meta.dirname, '../../templates/secrets/fcm_server_key.txt.example')), { mode: 0o600 }),
    line: 'deploy/secrets/fcm_server_key.txt: (file): is still the example placeholder — replace it with the real fcm_server_key value',
  },
  { name: 'oversized secret', setup: (c) => fs.writeFileSync(c.path('secrets/apns_auth_key.p8'), Buffer.alloc(512_000, 65), { mode: 0o600 }), line: 'deploy/secrets/apns_auth_key.p8: (file): is 512000 bytes; swarm secrets must be under 500 KB (512000 bytes) — shrink it' },
  { name: 'world-readable secret', setup: (c) => fs.chmodSync(c.path('secrets/postgres_password.txt'), 0o644), line: 'deploy/secrets/postgres_password.txt: (file): is readable by group or others (mode 0644) — run `chmod 600 deploy/secrets/postgres_password.txt`' },
  {
    name: 'unreadable secret (a folder)',
    setup: (c) => {
      fs.rmSync(c.path('secrets/email_host_password.txt'));
      fs.mkdirSync(c.path('secrets/email_host_password.txt'), { mode: 0o700 });
    },
    line: 'deploy/secrets/email_host_password.txt: (file): is not a regular file — make it a regular file the deploying user can read',
  },
  {
    name: 'missing secret file is created from the example',
    setup: (c) => fs.rmSync(c.path('secrets/fcm_server_key.txt')),
    line: 'deploy/secrets/fcm_server_key.txt: created from the example — replace the placeholder with the real value, then run again',
  },
  {
    name: 'a stack-file variable neither provided nor defaulted',
    setup: (c) => ownStack(c, (t) => t.replace('${API_IMAGE}', '${API_IMAGE_REF}')),
    line: 'deploy/swarm-stack.yml:48: services.api.image: ${API_IMAGE_REF}: API_IMAGE_REF is neither a variable honeydue-deploy provides nor given a default — give it one (${API_IMAGE_REF:-value}) or remove it',
  },
  {
    name: 'a required stack-file variable',
    setup: (c) => ownStack(c, (t) => t.replace('PORT: "8000"', 'PORT: "8000"\n      REGION: ${REGION:?set REGION in the stack file}')),
    line: 'deploy/swarm-stack.yml:54: services.api.environment.REGION: ${REGION:?set REGION in the stack file}: required variable REGION is missing a value: set REGION in the stack file',
  },
  { name: 'host_ip in a port', setup: (c) => ownStack(c, (t) => t.replace('        published: 8000\n', '        published: 8000\n        host_ip: 127.0.0.1\n')), line: 'deploy/swarm-stack.yml: host_ip: docker stack deploy rejects host_ip in ports — attach the service to the external host network and listen on 127.0.0.1 instead' },
  { name: 'a stack file docker rejects', setup: (c) => ownStack(c, (t) => t.replace('stop_grace_period: 60s', 'stop_grace_period: [60s]')), line: 'deploy/swarm-stack.yml: services.api.stop_grace_period must be a string — docker stack deploy would reject this; fix the stack file' },
  { name: 'stack file that is not YAML', setup: (c) => fs.writeFileSync(c.path('swarm-stack.yml'), 'services:\n  api: [unclosed\n'), line: 'deploy/swarm-stack.yml: Flow sequence in block collection must be sufficiently indented and end with a ] at line 3, column 1: — fix the YAML syntax' },
  { name: 'bad boolean in the environment', env: { DRY_RUN: 'maybe' }, line: 'environment: DRY_RUN: "maybe" is not a yes/no value — use 1, true or yes to turn it on, 0, false or no to turn it off' },
  { name: 'bad SKIP_BUILD', env: { SKIP_BUILD: 'y' }, line: 'environment: SKIP_BUILD: "y" is not a yes/no value — use 1, true or yes to turn it on, 0, false or no to turn it off' },
  { name: 'keep-secrets below 2', args: ['--keep-secrets', '1'], line: 'command line: --keep-secrets: "1" must be a whole number of at least 2 — rolling back needs the previous version of every secret' },
  { name: 'SECRET_KEEP_VERSIONS not a number', env: { SECRET_KEEP_VERSIONS: 'three' }, line: 'environment: SECRET_KEEP_VERSIONS: "three" must be a whole number of at least 2 — rolling back needs the previous version of every secret' },
  { name: 'a bad tag', args: ['--tag', 'v1 final!'], line: 'command line: --tag: "v1 final!" is not a valid image tag — use letters, digits, _, . and -, starting with a letter, digit or _, at most 128 characters' },
  { name: 'a tag too long for secret names', args: ['--tag', 'release-candidate-2026-11-27-hotfix'], line: /^command line: --tag: makes the secret name honeydue_email_host_password_release-candidate-2026-11-27-hotfix_\d{14} 79 characters long; docker allows 64 — use a shorter tag or DEPLOY_STACK_NAME$/ },
  { name: 'skip-build with push-latest', args: ['--skip-build', '--push-latest'], line: 'command line: --push-latest: conflicts with SKIP_BUILD (--skip-build): nothing is built or pushed, so no :latest tag can be pushed — drop one of the two' },
  { name: '--json on a real deploy', args: ['--json'], line: 'command line: --json: only applies to the plan — use `honeydue-deploy plan --json` or add --dry-run' },
  { name: 'malformed build argument', args: ['--build-arg', 'NOEQUALS'], line: 'command line: --build-arg: "NOEQUALS" is not KEY=VALUE — write build arguments as NAME=value' },
  { name: 'negative lock wait', env: { DEPLOY_LOCK_WAIT: '-5' }, line: 'environment: DEPLOY_LOCK_WAIT: "-5" is not a number of seconds — use a whole number, 0 or more' },
  {
    name: 'the deploy dir inside the build context without a .dockerignore line',
    setup: (c) => fs.rmSync(path.join(c.root, '.dockerignore')),
    line: '.dockerignore: (file): the deploy dir deploy is inside the build context and none of its secret files are excluded (deploy/cluster.env, deploy/registry.env, …): docker build would send them to the builder and a COPY . . would bake them into the image — add the line `/deploy` to .dockerignore',
  },
  {
    name: 'a .dockerignore that lets the secrets back in',
    setup: (c) => fs.appendFileSync(path.join(c.root, '.dockerignore'), '!deploy/secrets\n'),
    line: '.dockerignore: (file): the deploy dir deploy is inside the build context and not all of its secret files are excluded (deploy/secrets/postgres_password.txt, deploy/secrets/secret_key.txt, …): docker build would send them to the builder and a COPY . . would bake them into the image — add the line `/deploy` to .dockerignore',
  },
  {
    name: 'a secret file tracked by git',
    setup: (c) => {
      execFileSync('git', ['init', '-q', c.root]);
      execFileSync('git', ['-C', c.root, 'add', '-f', 'deploy/secrets/secret_key.txt']);
    },
    line: 'deploy/secrets/secret_key.txt: (file): is tracked by git, so everyone with the repository has the secret — run `git rm --cached deploy/secrets/secret_key.txt`, commit, rotate the value if it was ever pushed, and name its source in secrets.env instead (secret_key=op://…, pass:…, age:…)',
  },
  {
    name: 'an unquoted # in the registry token',
    setup: (c) => c.write('registry.env', { REGISTRY_TOKEN: 'dckr_pat_AbC#dEf123' }),
    line: 'deploy/registry.env: REGISTRY_TOKEN: the value holds a # that the env-file syntax reads as the start of a comment, so only the part before it would be used — put the value in quotes: REGISTRY_TOKEN="…"',
  },
  {
    name: 'an unquoted # in the B2 application key',
    setup: (c) => c.write('prod.env', { B2_APP_KEY: 'K005Zq9#x7Lw' }),
    line: 'deploy/prod.env: B2_APP_KEY: the value holds a # that the env-file syntax reads as the start of a comment, so only the part before it would be used — put the value in quotes: B2_APP_KEY="…"',
  },
  { name: 'registry.env readable by others', setup: (c) => fs.chmodSync(c.path('registry.env'), 0o644), line: 'deploy/registry.env: (file): is readable by group or others (mode 0644) and holds REGISTRY_TOKEN — run `chmod 600 deploy/registry.env` (or take it from a password manager through secrets.env)' },
  { name: 'prod.env readable by the group', setup: (c) => fs.chmodSync(c.path('prod.env'), 0o640), line: 'deploy/prod.env: (file): is readable by group or others (mode 0640) and holds B2_APP_KEY — run `chmod 600 deploy/prod.env` (or take it from a password manager through secrets.env)' },
  {
    name: 'a secret too short to redact',
    setup: (c) => fs.writeFileSync(c.path('secrets/secret_key.txt'), 'abc\n', { mode: 0o600 }),
    line: 'deploy/secrets/secret_key.txt: (file): is shorter than 6 characters, too short to be redacted reliably from the output — use a real, longer credential',
  },
  { name: 'a build context that does not exist', args: ['--context', 'no-such-app'], line: 'command line: --context: no-such-app is not a folder — point it at the honeyDue API repository (the one with the Dockerfile), or use SKIP_BUILD' },
  { name: 'a Dockerfile that does not exist', env: { DOCKERFILE: 'deploy/Dockerfile.missing' }, line: 'environment: DOCKERFILE: deploy/Dockerfile.missing does not exist — the build needs a Dockerfile with the targets api, worker and admin' },
  {
    name: 'prod.env that is a named pipe (would block the read forever)',
    setup: (c) => {
      fs.rmSync(c.path('prod.env'));
      execFileSync('mkfifo', ['-m', '600', c.path('prod.env')]);
    },
    line: 'deploy/prod.env: (file): is a named pipe (FIFO), not a regular file — put the prod.env settings in a regular file (see prod.env.example)',
  },
  {
    name: 'cluster.env that is a folder',
    setup: (c) => {
      fs.rmSync(c.path('cluster.env'));
      fs.mkdirSync(c.path('cluster.env'));
    },
    line: 'deploy/cluster.env: (file): is a folder, not a regular file — put the cluster.env settings in a regular file (see cluster.env.example)',
  },
  {
    name: 'an own swarm-stack.yml that is a folder',
    setup: (c) => fs.mkdirSync(c.path('swarm-stack.yml')),
    line: 'deploy/swarm-stack.yml: (file): is a folder, not a regular file — your own stack file must be a regular file (or remove it to use the packaged template)',
  },
  {
    name: 'secrets that is a file, not a folder',
    setup: (c) => {
      fs.rmSync(c.path('secrets'), { recursive: true });
      fs.writeFileSync(c.path('secrets'), 'x', { mode: 0o600 });
    },
    line: 'deploy/secrets: (file): is a file, not a folder — it must be the folder of the secret files (move it away; `honeydue-deploy init` then creates the folder with the examples)',
  },
  {
    name: 'a key set twice (an override appended at the end), even with the same value',
    setup: (c) => fs.appendFileSync(c.path('cluster.env'), 'API_REPLICAS=3\n'),
    line: /^deploy\/cluster\.env: API_REPLICAS: is set twice, on lines \d+ and \d+ — keep one line \(only the last one, line \d+, would be used\)$/,
  },
  {
    name: 'an unquoted value holding " #" (dotenv would cut it there)',
    setup: (c) => c.write('prod.env', { DEFAULT_FROM_EMAIL: 'honeyDue #1 <noreply@honeydue.example>' }),
    line: 'deploy/prod.env: DEFAULT_FROM_EMAIL: the value holds " #", which the env-file syntax reads as the start of a comment, so only the part before it would be used — if the # belongs to the value, put the value in quotes: DEFAULT_FROM_EMAIL="…"; if it is a comment, put it on a line of its own',
  },
  {
    name: 'a prod.env key one typo away from one the tool reads (DB_MAX_OPEN_CONN)',
    setup: (c) => c.write('prod.env', { DB_MAX_OPEN_CONNS: undefined, DB_MAX_OPEN_CONN: '5' }),
    line: 'deploy/prod.env: DB_MAX_OPEN_CONN: is not a key the stack or the tool reads — did you mean DB_MAX_OPEN_CONNS? (as written, DB_MAX_OPEN_CONNS stays at its default)',
  },
  {
    name: 'a prod.env key one typo away from one the stack reads (EMAIL_PROT)',
    setup: (c) => c.write('prod.env', { EMAIL_PROT: '587' }),
    line: 'deploy/prod.env: EMAIL_PROT: is not a key the stack or the tool reads — did you mean EMAIL_PORT? (as written, EMAIL_PORT stays at its default)',
  },
  {
    name: 'a misspelled cluster.env key gets a suggestion',
    setup: (c) => c.write('cluster.env', { DEPLOY_CONVERGE_TIMEOUT: undefined, DEPLOY_CONVERGE_TIMEOTU: '300' }),
    line: 'deploy/cluster.env: DEPLOY_CONVERGE_TIMEOTU: is not a setting of cluster.env — did you mean DEPLOY_CONVERGE_TIMEOUT?',
  },
  {
    name: 'a ${…} in a cluster.env value that the tool does not fill in',
    setup: (c) => c.write('cluster.env', { DEPLOY_HEALTHCHECK_EXPECT: '${GIT_SHA}' }),
    line: 'deploy/cluster.env: DEPLOY_HEALTHCHECK_EXPECT: ${GIT_SHA} is not filled in by the tool and would be kept as written — use ${DEPLOY_TAG} or ${DEPLOY_ID}, or write the value out',
  },
  { name: 'deploy dir that does not exist', args: ['--deploy-dir', 'nowhere'], line: 'nowhere: the deploy directory does not exist — create it with `honeydue-deploy init --deploy-dir nowhere` or pass --deploy-dir' },
];

describe('bad input: exact one-line problem, exit 2, no connection', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const cfg = makeConfig({ 'cluster.env': { DEPLOY_MANAGER_SSH_PORT: String(port) } });
      c.setup?.(cfg);
      const before = connections;
      const r = await runCli(['--deploy-dir', 'deploy', ...(c.args?.some((a) => a === '--tag') ? [] : ['--tag', 't1']), ...(c.args ?? [])], { cwd: cfg.root, env: c.env });
      const lines = r.stderr.split('\n');
      const found = typeof c.line === 'string' ? lines.includes(c.line) : lines.some((l) => (c.line as RegExp).test(l));
      assert.ok(found, `expected line:\n${c.line}\ngot stderr:\n${r.stderr}\nstdout:\n${r.stdout}`);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      // the last line says what happened (on stderr in --json mode, where stdout is the JSON document alone)
      const result = (r.stdout + r.stderr).split('\n').filter((l) => l.startsWith('result:')).pop();
      assert.match(result ?? '', /^result: stopped before changing anything \(exit 2\): .*nothing on the cluster was touched$/);
      assert.equal(connections, before, 'no connection may be attempted');
      for (const data of Object.values(SECRET_VALUES)) assert.ok(!(r.stdout + r.stderr).includes(data.toString('utf8').split('\n')[0]!.trim()), 'a secret value was printed');
      fs.rmSync(cfg.root, { recursive: true, force: true });
    });
  }

  it('a plan writes nothing: a missing file is named, with init to create it, exit 2 (DRY_RUN alike)', async () => {
    const cfg = makeConfig();
    fs.rmSync(cfg.path('secrets/fcm_server_key.txt'));
    for (const r of [await runCli(['plan', '--deploy-dir', 'deploy', '--tag', 't1'], { cwd: cfg.root }), await runCli(['--deploy-dir', 'deploy', '--tag', 't1'], { cwd: cfg.root, env: { DRY_RUN: '1' } })]) {
      assert.equal(r.code, 2, r.stderr);
      assert.ok(r.stderr.includes('deploy/secrets/fcm_server_key.txt: does not exist — `honeydue-deploy init` creates it from the example (a real deploy copies it and stops); then replace the placeholder with the real value'), r.stderr);
      assert.equal(fs.existsSync(cfg.path('secrets/fcm_server_key.txt')), false);
    }
  });

  it('an empty deploy dir: every file is created from its example, listed, exit 2', async () => {
    const cfg = makeConfig();
    const empty = path.join(cfg.root, 'fresh');
    fs.mkdirSync(empty);
    const r = await runCli(['--deploy-dir', 'fresh', '--tag', 't1'], { cwd: cfg.root });
    assert.equal(r.code, 2, r.stderr);
    const expected = [
      'fresh/cluster.env: created from the example — fill in DEPLOY_MANAGER_HOST, then run again',
      'fresh/registry.env: created from the example — fill in REGISTRY, REGISTRY_USERNAME, REGISTRY_TOKEN, then run again',
      'fresh/prod.env: created from the example — fill in DB_HOST, DB_NAME, DB_USER, EMAIL_HOST, EMAIL_HOST_USER, DEFAULT_FROM_EMAIL, APNS_KEY_ID, APNS_TEAM_ID, APNS_TOPIC, then run again',
      'fresh/secrets/postgres_password.txt: created from the example — replace the placeholder with the real value, then run again',
      'fresh/secrets/secret_key.txt: created from the example — replace the placeholder with the real value, then run again',
      'fresh/secrets/email_host_password.txt: created from the example — replace the placeholder with the real value, then run again',
      'fresh/secrets/fcm_server_key.txt: created from the example — replace the placeholder with the real value, then run again',
      'fresh/secrets/apns_auth_key.p8: created from the example — replace the placeholder with the real value, then run again',
      'fresh/.gitignore: created — keeps the env files and the secrets out of git',
    ];
    assert.deepEqual(r.stderr.trim().split('\n'), expected);
    for (const f of ['cluster.env', 'secrets/apns_auth_key.p8']) assert.equal(fs.statSync(path.join(empty, f)).mode & 0o777, 0o600);
    // a second run now reports the placeholders as unset, every problem at once
    const again = await runCli(['--deploy-dir', 'fresh', '--tag', 't1'], { cwd: cfg.root });
    assert.equal(again.code, 2);
    assert.ok(again.stderr.includes('fresh/cluster.env: DEPLOY_MANAGER_HOST: is still the example placeholder'));
    assert.ok(again.stderr.includes('fresh/secrets/apns_auth_key.p8: (file): is still the example placeholder'));
    assert.ok(again.stderr.split('\n').length > 10, 'all problems are reported at once');
  });

  it('init creates the files and exits 0 without deploying', async () => {
    const cfg = makeConfig();
    const r = await runCli(['init', '--deploy-dir', 'newdir'], { cwd: cfg.root });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(fs.existsSync(path.join(cfg.root, 'newdir/secrets/apns_auth_key.p8')));
    assert.match(r.stdout, /^created newdir\/cluster.env — fill in DEPLOY_MANAGER_HOST$/m);
    assert.match(r.stdout, /^created newdir\/.gitignore — keeps the env files and the secrets out of git$/m);
    assert.equal(fs.readFileSync(path.join(cfg.root, 'newdir/.gitignore'), 'utf8'), DEPLOY_GITIGNORE);
    // newdir lies inside the build context (.) and the .dockerignore does not exclude it: init says what to add
    assert.match(r.stdout, /^warning: the deploy dir newdir is inside the build context .* add the line `\/newdir` to \.dockerignore$/m);
    assert.match(r.stdout.trim().split('\n').pop()!, /^result: ok \(exit 0\): created 13 file\(s\) in newdir/);
    // the hooks' samples: commented, not executable, so never run
    for (const name of ['pre-deploy', 'post-deploy', 'pre-rollback', 'post-rollback']) {
      const sample = path.join(cfg.root, 'newdir/hooks', `${name}.sample`);
      assert.equal(fs.statSync(sample).mode & 0o111, 0, `${name}.sample is not executable`);
      assert.match(fs.readFileSync(sample, 'utf8'), new RegExp(`^#!/bin/sh\n# honeydue-deploy ${name} hook`));
      assert.match(r.stdout, new RegExp(`^created newdir/hooks/${name}\\.sample — a commented sample \\(not run\\): rename it to ${name} and chmod \\+x it to use it$`, 'm'));
    }
  });

  it('the README quick start: a dry run of the demo deploy dir with the fixture app exits 0', async () => {
    const root = path.join(import.meta.dirname, '../..');
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    const line = /^npm ci && (DRY_RUN=1 npx --no-install honeydue-deploy .*?)\s+#/m.exec(readme)?.[1];
    assert.equal(line, 'DRY_RUN=1 npx --no-install honeydue-deploy --deploy-dir examples/demo --context test/fixtures/app');
    const r = await runCli(['--deploy-dir', 'examples/demo', '--context', 'test/fixtures/app'], { cwd: root, env: { DRY_RUN: '1' } });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^DRY RUN — the plan for deploying/m);
  });

  it('an unknown option is a usage error: exit 2', async () => {
    const cfg = makeConfig();
    const r = await runCli(['--deploy-dir', 'deploy', '--bogus'], { cwd: cfg.root });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown option '--bogus'/);
  });

  it('--help shows the dry-run-first, real deploy and SKIP_BUILD examples and the exit codes', async () => {
    const cfg = makeConfig();
    const r = await runCli(['--help'], { cwd: cfg.root });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /DRY_RUN=1 npx --no-install honeydue-deploy/);
    assert.match(r.stdout, /SKIP_BUILD=1 DEPLOY_TAG=abc1234 npx --no-install honeydue-deploy/);
    assert.match(r.stdout, /130 +interrupted/);
    const deployHelp = await runCli(['deploy', '--help'], { cwd: cfg.root });
    for (const flag of ['--dry-run', '--skip-build', '--skip-healthcheck', '--tag', '--push-latest', '--keep-secrets', '--deploy-dir', '--context', '--lock-wait']) {
      assert.ok(deployHelp.stdout.includes(flag), flag);
    }
  });

  it('docker checks an own stack file; the packaged template is shown as checked by the test suite', async () => {
    // a docker in front of the real one that notes each command it is asked to run
    const cfg = makeConfig();
    const bin = path.join(cfg.root, 'bin');
    fs.mkdirSync(bin);
    const log = path.join(cfg.root, 'docker.log');
    fs.writeFileSync(path.join(bin, 'docker'), `#!/bin/sh\necho "$*" >> '${log}'\nexit 0\n`, { mode: 0o755 });
    const env = { PATH: `${bin}:${process.env.PATH}` };
    const packaged = await runCli(['plan', '--deploy-dir', 'deploy', '--tag', 't1', '--skip-build'], { cwd: cfg.root, env });
    assert.equal(packaged.code, 0, packaged.stdout + packaged.stderr);
    assert.match(packaged.stdout, /^Rendered stack file \(packaged template: checked against docker's schema by the test suite, every value typed as docker types it\)/m);
    assert.ok(!fs.existsSync(log) || !/stack config/.test(fs.readFileSync(log, 'utf8')), 'no docker stack config for the packaged template');
    ownStack(cfg, (t) => t);
    const own = await runCli(['plan', '--deploy-dir', 'deploy', '--tag', 't1', '--skip-build'], { cwd: cfg.root, env });
    assert.equal(own.code, 0, own.stdout + own.stderr);
    assert.match(own.stdout, /^Rendered stack file \(deploy\/swarm-stack\.yml: checked with `docker stack config` on this machine\)/m);
    assert.match(fs.readFileSync(log, 'utf8'), /^stack config -c .*swarm-stack\.yml$/m);
  });
});

describe('DRY_RUN means the same for every command that changes something: a plan, no connection', () => {
  for (const [name, args, env] of [
    ['DRY_RUN=1 rollback', ['rollback'], { DRY_RUN: '1' }],
    ['rollback --dry-run to a chosen release', ['rollback', 'abc1234_20261127101112', '--dry-run'], {}],
    ['DRY_RUN=1 unlock --force', ['unlock', '--force'], { DRY_RUN: '1' }],
  ] as const) {
    it(name, async () => {
      const cfg = makeConfig({ 'cluster.env': { DEPLOY_MANAGER_SSH_PORT: String(port) } });
      const before = connections;
      const r = await runCli([...args, '--deploy-dir', 'deploy'], { cwd: cfg.root, env });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(connections, before, 'no connection may be attempted');
      assert.match(r.stdout + r.stderr, /^DRY RUN — the plan for /m);
      assert.match(r.stdout + r.stderr, /result: ok \(exit 0\): dry run: nothing was changed; the serving release is unchanged$/m);
      if (args[0] === 'rollback') {
        assert.match(r.stdout, /manager\$ cd (?:'honeydue-deploy\/honeydue\/releases\/[^']+'|honeydue-deploy\/honeydue\/releases\/\S+) && docker stack deploy --with-registry-auth --prune -c swarm-stack\.yml honeydue/);
        assert.match(r.stdout, /manager\$ docker config create .* 'honeydue_hd-mark_<time>' - < known-good mark \(rollback\)/);
        if (args[1]?.startsWith('abc')) assert.match(r.stdout, /cd honeydue-deploy\/honeydue\/releases\/abc1234_20261127101112 && docker stack deploy/);
      } else {
        assert.match(r.stdout, /manager\$ docker config rm honeydue_hd-lock/);
      }
      fs.rmSync(cfg.root, { recursive: true, force: true });
    });
  }
});

describe('what a plan says about the configuration', () => {
  it('prod.env keys nothing reads are listed; an environment variable named like a cluster.env setting is said to be ignored', async () => {
    const cfg = makeConfig({ 'prod.env': { SENTRY_DSN: 'https://abcdef@sentry.example.com/1' } });
    const r = await runCli(['plan', '--deploy-dir', 'deploy', '--tag', 't1'], { cwd: cfg.root, env: { DEPLOY_MANAGER_HOST: '10.0.0.9' } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^prod\.env keys neither the stack nor the tool reads \(passed to the services as written\): SENTRY_DSN$/m);
    assert.match(r.stdout + r.stderr, /environment: DEPLOY_MANAGER_HOST: is set, but deploy\/cluster\.env decides \(the environment does not override the deploy dir's files\) — set it in cluster\.env, or unset it/);
    fs.rmSync(cfg.root, { recursive: true, force: true });
  });
});

describe('the command line says what was meant', () => {
  it('a misspelled command: "is not a command — did you mean status?", exit 2, nothing deployed', async () => {
    const cfg = makeConfig({ 'cluster.env': { DEPLOY_MANAGER_SSH_PORT: String(port) } });
    const before = connections;
    for (const [word, meant] of [['staus', 'status'], ['rollbak', 'rollback'], ['relases', 'releases']]) {
      const r = await runCli([word!, '--deploy-dir', 'deploy'], { cwd: cfg.root });
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.ok(r.stderr.includes(`command line: ${word}: is not a command — did you mean ${meant}? (\`honeydue-deploy --help\` lists the commands; the deploy itself takes no arguments)`), r.stderr);
    }
    assert.equal(connections, before);
    fs.rmSync(cfg.root, { recursive: true, force: true });
  });
  it('the top-level help shows the deploy\'s flags; plan --help offers no --dry-run / --no-dry-run (a plan is one)', async () => {
    const cfg = makeConfig();
    const top = await runCli(['--help'], { cwd: cfg.root });
    assert.match(top.stdout, /Deploy options[\s\S]*--skip-build[\s\S]*--tag <tag>[\s\S]*--ssh-timeout <seconds>/);
    const plan = await runCli(['plan', '--help'], { cwd: cfg.root });
    assert.doesNotMatch(plan.stdout, /--no-dry-run|--dry-run /);
    fs.rmSync(cfg.root, { recursive: true, force: true });
  });
  it('init from a subfolder of the app repository: the .dockerignore line and the next command are right for where it runs', async () => {
    const cfg = makeConfig();
    const repo = path.join(cfg.root, 'repo');
    fs.mkdirSync(path.join(repo, 'tools'), { recursive: true });
    execFileSync('git', ['init', '-q', repo]);
    fs.writeFileSync(path.join(repo, 'Dockerfile'), 'FROM scratch AS api\n');
    const r = await runCli(['init'], { cwd: path.join(repo, 'tools') });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /add the line `\/tools\/deploy` to \.\.\/\.dockerignore/);
    assert.match(r.stdout + r.stderr, /then run `npx --no-install honeydue-deploy plan --deploy-dir deploy --context \.\.`/);
    fs.rmSync(cfg.root, { recursive: true, force: true });
  });
});

describe('read-only commands and prod.env', () => {
  it('a prod.env problem a read-only command does not need is said, not in its way; the deploy still stops on it', async () => {
    // a partial B2 configuration: a deploy stops; status goes on
    const cfg = makeConfig({ 'cluster.env': { DEPLOY_MANAGER_SSH_PORT: String(port) }, 'prod.env': { B2_BUCKET_NAME: undefined } });
    const deploy = await runCli(['plan', '--deploy-dir', 'deploy', '--tag', 't1'], { cwd: cfg.root });
    assert.equal(deploy.code, 2);
    assert.match(deploy.stderr, /^deploy\/prod\.env: B2_BUCKET_NAME: /m);
    const status = await runCli(['status', '--deploy-dir', 'deploy'], { cwd: cfg.root, env: { DEPLOY_SSH_TIMEOUT: '3' } });
    assert.match(status.stdout + status.stderr, /warning: deploy\/prod\.env: B2_BUCKET_NAME: .*\(not needed here; a deploy stops on it\)/);
    // past the configuration: it went on to log in (and there is no key here)
    assert.match(status.stderr, /cannot log in: no private key found/);
    fs.rmSync(cfg.root, { recursive: true, force: true });
  });
});
