/**
 * What the tests on the three-node sandbox share (scripts/multinode.sh): its nodes as the state file names them,
 * waiting for a number of managers to be settled, and removing what a test's stack left on the swarm.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { readSandboxState } from '../fixtures/sandbox-deploy.js';
import { removeStore, sleep, ROOT } from './harness.js';

export const MULTINODE = path.join(ROOT, 'scripts/multinode.sh');

export interface ThreeNode {
  ns: string;
  addr: string;
  sock: string;
  pid: string;
  hostname: string;
  /** the deploy user's home as that node's sshd sees it */
  home: string;
}

export type Docker = (args: string[], opts?: { allowFail?: boolean }) => string;

export function threeNodes(state: Record<string, string> | undefined): ThreeNode[] {
  return (state?.HD_MN_NODES ?? '').trim().split(/\s+/).filter(Boolean).map((spec, i) => {
    const [ns, addr, sock, pid] = spec.split(':');
    return { ns: ns!, addr: addr!, sock: sock!, pid: pid!, hostname: `hdnode${i + 1}`, home: (state?.HD_MN_SSHD_HOMES ?? '').split(' ')[i]! };
  });
}

/** Each node's own view: in the swarm, and a manager (control available) exactly when it should be. */
function nodeSettled(node: ThreeNode, manager: boolean): boolean {
  const r = spawnSync('docker', ['-H', `unix://${node.sock}`, 'info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}'], { encoding: 'utf8' });
  return r.stdout.trim() === `active ${manager}`;
}

/** A manager status that counts as reachable ("Unreachable" does not, though it still counts for quorum). */
const REACHABLE = /^(Leader|Reachable)$/;

/** Three Ready nodes, the first n of them reachable managers, each node agreeing. */
export async function waitManagers(nodes: ThreeNode[], dk: Docker, n: number, seconds = 120): Promise<void> {
  for (let i = 0; i < seconds; i++) {
    const list = dk(['node', 'ls', '--format', '{{.Status}} {{.ManagerStatus}}'], { allowFail: true }).split('\n').filter(Boolean);
    // every manager in the raft membership reachable: an Unreachable one still counts for quorum
    const managers = list.filter((l) => /^\S+ \S/.test(l));
    if (nodes.every((node, k) => nodeSettled(node, k < n)) && list.filter((l) => /^Ready/.test(l)).length === 3 && managers.length === n && managers.every((l) => REACHABLE.test(l.split(' ')[1]!))) {
      // a node just promoted may still refuse swarm-scoped networks for a moment ("swarm is not active")
      await sleep(5000);
      return;
    }
    await sleep(1000);
  }
  throw new Error(`not 3 ready nodes with ${n} reachable manager(s) after ${seconds}s`);
}

/** How many managers the swarm counts reachable now. */
function managersNow(dk: Docker): number {
  return dk(['node', 'ls', '--format', '{{.ManagerStatus}}'], { allowFail: true }).split('\n').filter((l) => REACHABLE.test(l)).length;
}

/**
 * The role a node's own TLS certificate gives it ("manager" or "worker"): the role its daemon takes when started
 * again. A node just demoted keeps a manager's certificate for a while — started again then, it comes back a manager
 * and can leave the swarm without a leader — so a node is restarted only while this matches the swarm's word.
 */
function certRole(node: ThreeNode): string | undefined {
  try {
    const pem = fs.readFileSync(path.join(path.dirname(node.sock), 'data/swarm/certificates/swarm-node.crt'));
    return /OU=swarm-(manager|worker)/.exec(new X509Certificate(pem).subject)?.[1];
  } catch {
    return undefined;
  }
}

/** The role the swarm lists for a node: "manager" (Leader, Reachable, Unreachable) or "worker". */
function swarmRole(node: ThreeNode, dk: Docker): string | undefined {
  const line = dk(['node', 'ls', '--format', '{{.Hostname}} {{.ManagerStatus}}'], { allowFail: true }).split('\n').find((l) => l.split(' ')[0] === node.hostname);
  return line === undefined ? undefined : line.split(' ')[1] ? 'manager' : 'worker';
}

/** A node's daemon stopped as systemd stops it (SIGTERM, waited for) and started again on its swarm state. */
async function restartNode(node: ThreeNode): Promise<void> {
  const pid = Number(fs.readFileSync(node.pid, 'utf8'));
  const alive = () => { try { process.kill(pid, 0); return true; } catch { return false; } };
  if (alive()) process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 300 && alive(); i++) await sleep(200);
  execFileSync('bash', [MULTINODE, 'up'], { stdio: 'ignore' });
}

/**
 * The overlay networks each node still holds that the swarm no longer has. Docker does not always remove a removed
 * stack's network from every node (moby/moby#35204, more often on a node whose daemon was killed): the swarm gives its
 * addresses to the next stack's network and that node refuses its tasks ("Pool overlaps with other one on this
 * address space"). A daemon started again holds none.
 */
function staleNetworks(nodes: ThreeNode[], dk: Docker): Map<ThreeNode, string[]> {
  const known = new Set(dk(['network', 'ls', '-q', '--no-trunc', '--filter', 'driver=overlay'], { allowFail: true }).split('\n').filter(Boolean));
  const out = new Map<ThreeNode, string[]>();
  for (const node of nodes) {
    const r = spawnSync('docker', ['-H', `unix://${node.sock}`, 'network', 'ls', '--no-trunc', '--filter', 'driver=overlay', '--format', '{{.ID}} {{.Name}}'], { encoding: 'utf8' });
    const stale = r.stdout.split('\n').filter(Boolean).filter((l) => !known.has(l.split(' ')[0]!));
    if (r.status === 0 && known.size && stale.length) out.set(node, stale);
  }
  return out;
}

/** Every node without a network the swarm has removed: given 20 s to let go, then its daemon started again. */
export async function freshNetworks(nodes: ThreeNode[], dk: Docker): Promise<void> {
  let stale = staleNetworks(nodes, dk);
  for (let i = 0; i < 20 && stale.size; i++) {
    await sleep(1000);
    stale = staleNetworks(nodes, dk);
  }
  if (!stale.size) return;
  const managers = managersNow(dk);
  let restarted = false;
  for (const [node, nets] of stale) {
    const role = certRole(node);
    if (!role || role !== swarmRole(node, dk)) {
      console.log(`${node.hostname} still holds network(s) the swarm removed (${nets.join(', ')}), but its role is changing: not started again`);
      continue;
    }
    console.log(`${node.hostname} still holds network(s) the swarm removed (${nets.join(', ')}): its daemon is started again`);
    await restartNode(node);
    restarted = true;
  }
  if (restarted) await waitManagers(nodes, dk, managers);
}

/** A test's stack, secrets, store objects and working folders on the three-node swarm: after it, and before (a stopped run's). */
export async function clearThreeNodeStack(stack: string, remoteDir: string, nodes: ThreeNode[], dk: Docker): Promise<void> {
  dk(['stack', 'rm', stack], { allowFail: true });
  for (let i = 0; i < 60 && dk(['network', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${stack}`], { allowFail: true }).trim(); i++) await sleep(1000);
  await freshNetworks(nodes, dk);
  const secrets = dk(['secret', 'ls', '-q', '--filter', `label=com.honeydue.deploy.stack=${stack}`], { allowFail: true }).split('\n').filter(Boolean);
  if (secrets.length) dk(['secret', 'rm', ...secrets], { allowFail: true });
  removeStore(stack, dk);
  for (const n of nodes) fs.rmSync(path.join(n.home, remoteDir), { recursive: true, force: true });
}

/** After a test on three managers: every node's daemon running again, then one manager, as the other tests expect. */
export async function backToOneManager(nodes: ThreeNode[], dk: Docker): Promise<void> {
  execFileSync('bash', [MULTINODE, 'up'], { stdio: 'ignore' });
  await waitManagers(nodes, dk, 3).catch(() => undefined);
  execFileSync('bash', [MULTINODE, 'managers', '1'], { stdio: 'ignore' });
  await waitManagers(nodes, dk, 1);
}

/**
 * The stack's default network on addresses of its own (the fixture's services use that one). For
 * the tests that kill daemons: a killed node can keep its network's address pool after the swarm removed the network
 * (which no listing shows); on addresses far from where swarm's own choice starts (10.0.1.0/24
 * upward), that leftover cannot collide with the next test's network.
 */
export function ownSubnet(deployDir: string, cidr: string): void {
  const file = path.join(deployDir, 'swarm-stack.yml');
  const text = fs.readFileSync(file, 'utf8');
  if (/^  default:/m.test(text)) throw new Error(`${file} configures its default network already`);
  const network = `  default:\n    ipam:\n      config:\n        - subnet: ${cidr}\n`;
  const out = /^networks:\n/m.test(text) ? text.replace(/^networks:\n/m, () => `networks:\n${network}`) : `${text.trimEnd()}\nnetworks:\n${network}`;
  fs.writeFileSync(file, out, { mode: 0o600 });
}

/** The three-node sandbox's state file (scripts/multinode.sh writes it). Test files that read it run in the three-node group. */
export const MN_STATE = path.join(process.env.HD_MN_DIR ?? '/var/lib/honeydue-multinode', 'multinode.env');

/**
 * The three-node sandbox's state, or why its tests are skipped: the loopback sandbox (its registry credentials and
 * keys) first, then the state file; in CI a missing one fails the run. `needs` adds what a file needs besides.
 */
export function loadThreeNode(sandboxReady: boolean, sandboxReason: string | undefined, needs: (state: Record<string, string>) => string | undefined = () => undefined): { state?: Record<string, string>; reason?: string } {
  if (!sandboxReady) return { reason: sandboxReason };
  if (!fs.existsSync(MN_STATE)) {
    if (process.env.CI === 'true') throw new Error(`the multi-node sandbox is required in CI but ${MN_STATE} does not exist — run \`bash scripts/multinode.sh up\` as root`);
    return { reason: `${MN_STATE} does not exist (run scripts/multinode.sh up)` };
  }
  const state = readSandboxState(MN_STATE);
  const missing = needs(state);
  if (missing) {
    if (process.env.CI === 'true') throw new Error(`required in CI: ${missing}`);
    return { reason: missing };
  }
  return { state };
}

/**
 * HAProxy (Debian's) in front of the nodes' host-mode `backendPort`, as a cloud load balancer is set up: each node
 * checked every 200 ms on `checkPath`, a failed connection or an answer cut short retried on another node. Listens on
 * 127.0.0.1:`listenPort`; its files in `dir`. Returns its pid (SIGTERM stops it).
 */
export function startLoadBalancer(dir: string, nodes: ThreeNode[], backendPort: number, listenPort: number, checkPath: string): number {
  const cfg = [
    'global', `  pidfile ${path.join(dir, 'haproxy.pid')}`, '  daemon',
    'defaults', '  mode http', '  timeout connect 1s', '  timeout client 5s', '  timeout server 5s', '  retries 3', '  option redispatch 1', '  retry-on conn-failure empty-response response-timeout 502 503',
    'frontend fe', `  bind 127.0.0.1:${listenPort}`, '  default_backend nodes',
    'backend nodes', `  option httpchk GET ${checkPath}`, '  default-server inter 200ms fall 1 rise 1',
    ...nodes.map((n, i) => `  server n${i + 1} ${n.addr}:${backendPort} check`), '',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'haproxy.cfg'), cfg);
  execFileSync('haproxy', ['-f', path.join(dir, 'haproxy.cfg')]);
  return Number(fs.readFileSync(path.join(dir, 'haproxy.pid'), 'utf8'));
}

/**
 * A fixture's deploy dir aimed at the three-node sandbox: in cluster.env the manager's address, sshd port and known
 * hosts, then `set`, replace their lines (each must be there), and `append` is added; prod.env in S3 mode (several api
 * replicas need shared uploads), its key ending in `mark` so that each test's secrets differ.
 */
export function onThreeNodes(deployDir: string, state: Record<string, string>, set: Record<string, string>, opts: { mark: string; append?: string }): void {
  const cluster = path.join(deployDir, 'cluster.env');
  let text = fs.readFileSync(cluster, 'utf8');
  const all = { DEPLOY_MANAGER_HOST: state.HD_MN_MANAGER!, DEPLOY_MANAGER_SSH_PORT: state.HD_MN_SSH_PORT!, DEPLOY_KNOWN_HOSTS: state.HD_MN_KNOWN_HOSTS!, ...set };
  for (const [k, v] of Object.entries(all)) {
    const line = new RegExp(`^${k}=.*$`, 'm');
    if (!line.test(text)) throw new Error(`${cluster}: no ${k} line to set`);
    text = text.replace(line, () => `${k}=${v}`);
  }
  fs.writeFileSync(cluster, text + (opts.append ?? ''), { mode: 0o600 });
  s3Uploads(deployDir, opts.mark);
}

/** prod.env in S3 mode (a local uploads volume is per node): Backblaze B2's settings, the key ending in `mark`. */
export function s3Uploads(deployDir: string, mark: string): void {
  fs.appendFileSync(path.join(deployDir, 'prod.env'), `B2_ENDPOINT=https://s3.eu-central-003.backblazeb2.com\nB2_KEY_ID=0031234567890ab\nB2_APP_KEY="K003abcdefghijklmnopqrstuvwxyz${mark}"\nB2_BUCKET_NAME=honeydue-uploads\n`);
}

/** haproxy answers `-v`: the load balancer can run (CI installs it). */
export function haproxyMissing(): string | undefined {
  return spawnSync('haproxy', ['-v'], { encoding: 'utf8' }).status === 0 ? undefined : 'haproxy is not installed (apt-get install haproxy; .ci/run does)';
}
