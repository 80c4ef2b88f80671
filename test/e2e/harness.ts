/**
 * The real sandbox, driven the way an operator would: the built CLI (dist/cli.js) against a dockerd swarm,
 * sshd and an authenticated registry on 127.0.0.1 (scripts/sandbox.sh). State is checked with docker itself.
 */
import { spawn, execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { healthUrl, readSandboxState, SANDBOX_STATE, sandboxTarget, writeFixtureApp, writeFixtureDeployDir, type SandboxTarget } from '../fixtures/sandbox-deploy.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = path.join(ROOT, 'dist', 'cli.js');
const STATE_FILE = SANDBOX_STATE;

export interface Sandbox extends SandboxTarget {
  dir: string;
  hostKey: string;
  sshdLog: string;
  sshdConfig: string;
  sshdPid: string;
  registryPid: string;
  registryConfig: string;
  userHome: string;
}

/** undefined + a reason when the sandbox is not there; with CI=true that is a failure, not a skip. */
/** The sandbox for a benchmark: undefined, never an error, when there is none (a bench never fails on a missing one). */
export function sandboxIfAny(): Sandbox | undefined {
  try {
    return loadSandbox().sandbox;
  } catch {
    return undefined;
  }
}

export function loadSandbox(): { sandbox?: Sandbox; reason?: string } {
  const fail = (reason: string) => {
    if (process.env.CI === 'true') throw new Error(`the e2e sandbox is required in CI but ${reason} — run \`bash scripts/sandbox.sh up\` as root`);
    return { reason };
  };
  if (process.getuid?.() !== 0) return fail('the tests are not running as root');
  if (!fs.existsSync(STATE_FILE)) return fail(`${STATE_FILE} does not exist (sandbox not provisioned)`);
  const kv = readSandboxState(STATE_FILE);
  const docker = spawnSync('docker', ['info', '--format', '{{.Swarm.ControlAvailable}}'], { encoding: 'utf8' });
  if (docker.status !== 0 || docker.stdout.trim() !== 'true') return fail('dockerd is not running as a swarm manager');
  const user = kv.HD_SANDBOX_USER!;
  return {
    sandbox: {
      dir: kv.HD_SANDBOX_DIR!,
      ...sandboxTarget(kv),
      hostKey: kv.HD_SANDBOX_HOST_KEY!,
      sshdLog: kv.HD_SANDBOX_SSHD_LOG!,
      sshdConfig: kv.HD_SANDBOX_SSHD_CONFIG!,
      sshdPid: kv.HD_SANDBOX_SSHD_PID!,
      registryPid: kv.HD_SANDBOX_REGISTRY_PID!,
      registryConfig: kv.HD_SANDBOX_REGISTRY_CONFIG!,
      userHome: execFileSync('getent', ['passwd', user], { encoding: 'utf8' }).split(':')[5]!,
    },
  };
}

/** Secret values chosen to break anything that is not byte-exact or that leaks through a shell or a log. */
export function distinctiveSecrets(mark: string): Record<string, Buffer> {
  return {
    'postgres_password.txt': Buffer.from(`pg-${mark}-p@ss'w"rd $(touch /tmp/pwned-${mark}) ;\`id\` && echo $HOME\n\n`),
    'secret_key.txt': Buffer.from(`--sk-${mark}-leading-dash-no-newline`),
    'email_host_password.txt': Buffer.from(`smtp-${mark}-crlf\r\nsecond line\r\n`),
    'fcm_server_key.txt': Buffer.concat([Buffer.from(`fcm-${mark}-`), crypto.randomBytes(64), Buffer.from([0, 255, 10, 13, 0])]),
    'apns_auth_key.p8': Buffer.from(`-----BEGIN PRIVATE KEY-----\nMIGTAgEAMBMGByqGSM49-${mark}-AgEGCCqGSM49AwEHBHkwdwIBAQQg\nline2-${mark}-abcdefghijklmnopqrstuvwxyz0123456789\n-----END PRIVATE KEY-----\n`),
  };
}

export interface Fixture {
  stack: string;
  root: string;
  deployDir: string;
  context: string;
  dockerConfig: string;
  home: string;
  apiPort: number;
  remoteDir: string;
  remoteDirAbs: string;
  secrets: Record<string, Buffer>;
  healthUrl: string;
  env: NodeJS.ProcessEnv;
  sandbox: Sandbox;
}

export interface FixtureOptions {
  stack: string;
  apiPort: number;
  registryToken?: string;
  registry?: string;
  clusterExtra?: Record<string, string>;
  convergeTimeout?: number;
  /** false: the laptop has no buildx (the classic docker build + push path) */
  buildx?: boolean;
}

/** Where scripts/install-buildx.sh puts the plugin: no docker CLI looks there unless a config links it. */
export const BUILDX_PLUGINS = process.env.HD_BUILDX_DIR ?? '/opt/honeydue-buildx/cli-plugins';

export function makeFixture(sb: Sandbox, o: FixtureOptions): Fixture {
  removeStack(o.stack, path.join(sb.userHome, `e2e/${o.stack}`));
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `hd-e2e-${o.stack}-`));
  const deployDir = path.join(root, 'deploy');
  const context = path.join(root, 'app');
  const dockerConfig = path.join(root, 'docker-laptop');
  const home = path.join(root, 'home');
  for (const d of [dockerConfig, home]) fs.mkdirSync(d, { recursive: true, mode: 0o700 });
  // the laptop has buildx, as production laptops do (scripts/install-buildx.sh); `buildx: false` hides it
  if (o.buildx !== false) {
    if (fs.existsSync(path.join(BUILDX_PLUGINS, 'docker-buildx'))) fs.symlinkSync(BUILDX_PLUGINS, path.join(dockerConfig, 'cli-plugins'));
    else if (process.env.CI === 'true') throw new Error(`${BUILDX_PLUGINS}/docker-buildx is missing — run scripts/install-buildx.sh`);
  }
  writeFixtureApp(context);
  const remoteDir = `e2e/${o.stack}`;
  const secrets = distinctiveSecrets(o.stack);
  writeFixtureDeployDir(deployDir, sb, { ...o, remoteDir, secrets, prodExtra: { SHELL_TRAP: '$(touch /tmp/pwned-env);`id`' } });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    DOCKER_CONFIG: dockerConfig,
    CI: 'true',
    LANG: 'C.UTF-8',
    // a test group's own temporary folder (scripts/run-tests.mjs): its runs' private folders stay in it
    ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
  };
  return {
    stack: o.stack, root, deployDir, context, dockerConfig, home, apiPort: o.apiPort, remoteDir,
    remoteDirAbs: path.join(sb.userHome, remoteDir), secrets, healthUrl: healthUrl(o.apiPort), env, sandbox: sb,
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  output: string;
}

export interface CliRun {
  child: ReturnType<typeof spawn>;
  done: Promise<CliResult>;
  /** resolves when the output first matches */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
}

/** `cli`: another build of the tool (the upgrade test runs the previous version). */
export function startCli(fx: Fixture, args: string[], extraEnv: NodeJS.ProcessEnv = {}, cli = CLI): CliRun {
  const child = spawn(process.execPath, [cli, ...args, '--deploy-dir', fx.deployDir], {
    env: { ...fx.env, ...extraEnv },
    cwd: fx.root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ re: RegExp; resolve: () => void }> = [];
  const onData = () => {
    for (const w of [...waiters]) {
      if (w.re.test(stdout + stderr)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); onData(); });
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); onData(); });
  const done = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr, output: stdout + stderr })));
  return {
    child,
    done,
    waitFor: (re, timeoutMs = 120_000) =>
      new Promise<void>((resolve, reject) => {
        if (re.test(stdout + stderr)) return resolve();
        const t = setTimeout(() => reject(new Error(`timed out waiting for ${re} in:\n${stdout}${stderr}`)), timeoutMs);
        waiters.push({ re, resolve: () => { clearTimeout(t); resolve(); } });
        void done.then(() => { clearTimeout(t); if (!re.test(stdout + stderr)) reject(new Error(`the CLI exited before ${re} appeared:\n${stdout}${stderr}`)); });
      }),
  };
}

/**
 * dockerd 20.10 now and then fails to start a container that has secrets — "unable to remount dir as readonly:
 * mount tmpfs:…/mounts/secrets …: device or resource busy" — a race inside docker, not the tool's doing (the tool
 * then reports the failed update and rolls back, as it should). Likewise a node just promoted to manager that
 * refuses a task for a moment: "cannot create a swarm scoped network when swarm is not active". A run that failed
 * showing one of these messages is run once more, and the log says so.
 */
const DOCKERD_SECRET_MOUNT_RACE = /unable to remount dir as readonly: mount tmpfs:\S*\/mounts\/secrets.*device or resource busy|cannot create a swarm scoped network when swarm is not active/;

export async function runCli(fx: Fixture, args: string[], extraEnv: NodeJS.ProcessEnv = {}, cli = CLI): Promise<CliResult> {
  const first = await startCli(fx, args, extraEnv, cli).done;
  if (first.code === 0 || !DOCKERD_SECRET_MOUNT_RACE.test(first.output)) return first;
  process.stderr.write(`e2e: dockerd's secret-mount race failed \`${args.join(' ')}\` (stack ${fx.stack}); running it once more\n`);
  return startCli(fx, args, extraEnv, cli).done;
}

export function docker(args: string[], opts: { input?: Buffer | string; allowFail?: boolean } = {}): string {
  const r = spawnSync('docker', args, { input: opts.input, encoding: 'utf8', env: { ...process.env, DOCKER_CONFIG: path.join(os.tmpdir(), 'hd-e2e-root-docker') } });
  if (r.status !== 0 && !opts.allowFail) throw new Error(`docker ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

export function dockerBuffer(args: string[]): Buffer {
  return execFileSync('docker', args, { maxBuffer: 16 * 1024 * 1024 });
}

export function serviceImage(stack: string, service: string): string {
  return docker(['service', 'inspect', `${stack}_${service}`, '--format', '{{.Spec.TaskTemplate.ContainerSpec.Image}}']).trim().replace(/@sha256:.*/, '');
}

export function runningContainer(stack: string, service: string): string {
  return docker(['ps', '--filter', `label=com.docker.swarm.service.name=${stack}_${service}`, '--filter', 'status=running', '--format', '{{.ID}}']).trim().split('\n')[0]!;
}

export function secretNames(stack: string): string[] {
  return docker(['secret', 'ls', '--format', '{{.Name}}']).split('\n').filter((n) => n.startsWith(`${stack}_`)).sort();
}

export function sha256(data: Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

export async function httpBody(url: string): Promise<{ status: number; body: string } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return { status: res.status, body: await res.text() };
  } catch {
    return undefined;
  }
}

export function acceptedLogins(sb: Sandbox): number {
  try {
    return fs.readFileSync(sb.sshdLog, 'utf8').split('\n').filter((l) => l.includes(`Accepted publickey for ${sb.user}`)).length;
  } catch {
    return 0;
  }
}

export function remoteFile(fx: Fixture, rel: string): string | undefined {
  try {
    return fs.readFileSync(path.join(fx.remoteDirAbs, rel), 'utf8');
  } catch {
    return undefined;
  }
}

export type DockerFn = (args: string[], opts?: { allowFail?: boolean }) => string;

/** The tool's objects of a stack in the swarm (configs labelled with the stack), of one kind or all, data decoded. */
export function storeObjects(stack: string, kind?: 'lock' | 'release' | 'mark' | 'audit', run: DockerFn = docker): Array<{ name: string; labels: Record<string, string>; data: string }> {
  const ids = run(['config', 'ls', '-q', '--filter', `label=com.honeydue.deploy.stack=${stack}`, ...(kind ? ['--filter', `label=com.honeydue.deploy.kind=${kind}`] : [])]).split('\n').filter(Boolean);
  if (!ids.length) return [];
  // in the order the cluster wrote them (the Raft index), never by a time a laptop wrote
  return run(['config', 'inspect', '--format', '{{.Version.Index}} {{json .Spec}}', ...ids]).split('\n').filter(Boolean).map((l) => {
    const at = l.indexOf(' ');
    const spec = JSON.parse(l.slice(at + 1)) as { Name: string; Labels: Record<string, string>; Data: string };
    return { index: Number(l.slice(0, at)), name: spec.Name, labels: spec.Labels, data: Buffer.from(spec.Data, 'base64').toString('utf8') };
  }).sort((a, b) => a.index - b.index).map(({ index: _index, ...o }) => o);
}

/** The known-good release the swarm's newest mark names (the newest by the cluster's order of writes). */
export function currentId(stack: string, run: DockerFn = docker): string | undefined {
  const marks = storeObjects(stack, 'mark', run).map((o) => JSON.parse(o.data) as { deployId: string });
  return marks.at(-1)?.deployId;
}

/** A release's record in the swarm. */
export function storedRelease(stack: string, id: string, run: DockerFn = docker): Record<string, unknown> | undefined {
  const o = storeObjects(stack, 'release', run).find((x) => x.labels['com.honeydue.deploy.id'] === id);
  return o ? (JSON.parse(o.data) as Record<string, unknown>) : undefined;
}

/** The cluster's deploy lock of a stack: its owner record, or undefined when free. */
export function lockOwner(stack: string, run: DockerFn = docker): string | undefined {
  return storeObjects(stack, 'lock', run)[0]?.data;
}

/** Removes the tool's objects of a stack from the swarm. */
export function removeStore(stack: string, run: DockerFn = docker): void {
  const names = storeObjects(stack, undefined, run).map((o) => o.name);
  if (names.length) run(['config', 'rm', ...names], { allowFail: true });
}

export function registryCredentialsLeft(fx: Fixture): { laptop: boolean; manager: boolean } {
  const has = (file: string) => {
    try {
      const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { auths?: Record<string, unknown> };
      return Object.keys(json.auths ?? {}).some((k) => k.includes(fx.sandbox.registry));
    } catch {
      return false;
    }
  };
  return { laptop: has(path.join(fx.dockerConfig, 'config.json')), manager: has(path.join(fx.sandbox.userHome, '.docker', 'config.json')) };
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/**
 * Removes a stack from the loopback swarm with everything of it: its services (waiting until its containers and
 * networks are gone), its secrets, the tool's objects and its remote dir. Before a test (what a run of the suite
 * stopped part way left: a killed CI job, a machine restart) and after it.
 */
function removeStack(stack: string, remoteDirAbs: string): void {
  const label = `label=com.docker.stack.namespace=${stack}`;
  const has = (args: string[]) => docker(args, { allowFail: true }).trim() !== '';
  const left = () => has(['ps', '-a', '--filter', label, '-q']) || has(['network', 'ls', '--filter', label, '-q']);
  if (has(['service', 'ls', '-q', '--filter', label]) || left()) docker(['stack', 'rm', stack], { allowFail: true });
  const wait = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 60 && left(); i++) Atomics.wait(wait, 0, 0, 500);
  const secrets = secretNames(stack);
  if (secrets.length) docker(['secret', 'rm', ...secrets], { allowFail: true });
  removeStore(stack);
  fs.rmSync(remoteDirAbs, { recursive: true, force: true });
}

/** Removes everything a test created: the stack, its secrets, its remote dir, its temp dir. */
export async function cleanup(fx: Fixture): Promise<void> {
  removeStack(fx.stack, fx.remoteDirAbs);
  fs.rmSync(fx.root, { recursive: true, force: true });
}

/** The laptop's audit log of the fixture's user (HOME is the fixture's), one record per line. */
export function localAuditLines(fx: Fixture): Array<Record<string, unknown>> {
  const file = path.join(fx.home, '.local', 'state', 'honeydue-deploy', 'audit.log');
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The audit trail of the fixture's stack in the swarm, oldest first. */
export function auditLines(fx: Fixture): Array<Record<string, unknown>> {
  return storeObjects(fx.stack, 'audit').map((o) => JSON.parse(o.data) as Record<string, unknown>);
}

function alive(pidFile: string): boolean {
  try {
    process.kill(Number(fs.readFileSync(pidFile, 'utf8').trim()), 0);
    return true;
  } catch {
    return false;
  }
}

async function waitPort(port: number, up: boolean): Promise<void> {
  const net = await import('node:net');
  for (let i = 0; i < 100; i++) {
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (open === up) return;
    await sleep(100);
  }
  throw new Error(`port ${port} did not go ${up ? 'up' : 'down'}`);
}

/** Stops a daemon and waits until the process is gone (a draining process still counts as running). */
async function stopDaemon(pidFile: string, port: number): Promise<void> {
  if (alive(pidFile)) {
    const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 50 && alive(pidFile); i++) await sleep(100);
    if (alive(pidFile)) process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 50 && alive(pidFile); i++) await sleep(100);
  }
  await waitPort(port, false);
}

export async function stopSshd(sb: Sandbox): Promise<void> {
  await stopDaemon(sb.sshdPid, sb.sshPort);
}

export async function startSshd(sb: Sandbox): Promise<void> {
  if (!alive(sb.sshdPid)) execFileSync('/usr/sbin/sshd', ['-f', sb.sshdConfig, '-E', sb.sshdLog]);
  await waitPort(sb.sshPort, true);
}

/** Kills the per-connection sshd processes of the deploy user: the tool's connection drops. */
export function cutSessions(sb: Sandbox): void {
  spawnSync('pkill', ['-KILL', '-u', sb.user, '-f', `sshd: ${sb.user}`]);
}

export async function stopRegistry(sb: Sandbox): Promise<void> {
  await stopDaemon(sb.registryPid, Number(sb.registry.split(':')[1]));
}

export async function startRegistry(sb: Sandbox): Promise<void> {
  if (!alive(sb.registryPid)) {
    const child = spawn('docker-registry', ['serve', sb.registryConfig], { detached: true, stdio: 'ignore' });
    fs.writeFileSync(sb.registryPid, String(child.pid));
    child.unref();
  }
  await waitPort(Number(sb.registry.split(':')[1]), true);
}

/**
 * A real HTTP proxy in front of the registry that refuses the blob uploads of one repository: pushes of
 * the other images go through, so the push fails halfway.
 */
export async function startFailingRegistryProxy(sb: Sandbox, refuse: RegExp): Promise<{ address: string; close: () => void }> {
  const http = await import('node:http');
  const [host, port] = sb.registry.split(':');
  const server = http.createServer((req, res) => {
    if (refuse.test(req.url ?? '') && req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNKNOWN","message":"refused by the test proxy"}]}');
      req.resume();
      return;
    }
    const upstream = http.request({ host, port: Number(port), method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = `127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}`;
  return { address, close: () => server.close() };
}

/** Every command line seen on this machine while a run goes on, sampled every 25 ms, with the run's result. */
export async function sampleArgvDuring(run: CliRun): Promise<{ result: CliResult; seen: Set<string> }> {
  const seen = new Set<string>();
  const sampler = setInterval(() => {
    for (const l of allCommandLines()) seen.add(l);
  }, 25);
  const result = await run.done;
  clearInterval(sampler);
  return { result, seen };
}

/** Every command line on this machine right now (to prove no secret is ever in an argv). */
export function allCommandLines(): string[] {
  const out: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      out.push(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' '));
    } catch {
      /* gone */
    }
  }
  return out;
}
