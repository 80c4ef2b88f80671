/**
 * The real topology: three swarm nodes on this machine (scripts/multinode.sh — a manager and two workers, each a
 * dockerd in its own network namespace, a TLS registry with htpasswd on the bridge, sshd on the manager). The
 * packaged template is deployed as a user would, in S3 mode with three api replicas; workers pull only with the
 * credential the manager forwards. Then a failing release, a node that cannot pull, a drained node and a node
 * whose docker daemon is killed during convergence.
 *
 * The sandbox cannot do two things production does — IPsec for an encrypted overlay, and IPVS for the ingress
 * mesh and service VIPs (see SWARM-FACTS) — so this test applies exactly those deviations to the packaged template,
 * as a patch it prints.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readSandboxState } from '../fixtures/sandbox-deploy.js';
import { freshNetworks, haproxyMissing, onThreeNodes, startLoadBalancer, type ThreeNode } from './three-node.js';
import { lockOwner, currentId, removeStore, cleanup, httpBody, loadSandbox, makeFixture, runCli, sha256, sleep, startCli, ROOT, type Fixture } from './harness.js';

const { sandbox, reason: sandboxReason } = loadSandbox();
const MN_STATE = path.join(process.env.HD_MN_DIR ?? '/var/lib/honeydue-multinode', 'multinode.env');

interface Node {
  ns: string;
  addr: string;
  sock: string;
  pid: string;
  hostname: string;
}

function loadMultinode(): { state?: Record<string, string>; reason?: string } {
  if (!sandbox) return { reason: sandboxReason };
  if (!fs.existsSync(MN_STATE)) {
    if (process.env.CI === 'true') throw new Error(`the multi-node sandbox is required in CI but ${MN_STATE} does not exist — run \`bash scripts/multinode.sh up\` as root`);
    return { reason: `${MN_STATE} does not exist (run scripts/multinode.sh up)` };
  }
  const missing = haproxyMissing();
  if (missing) {
    if (process.env.CI === 'true') throw new Error(`required in CI: ${missing}`);
    return { reason: missing };
  }
  return { state: readSandboxState(MN_STATE) };
}

const { state, reason } = loadMultinode();
const NODES: Node[] = (state?.HD_MN_NODES ?? '').trim().split(/\s+/).filter(Boolean).map((spec, i) => {
  const [ns, addr, sock, pid] = spec.split(':');
  return { ns: ns!, addr: addr!, sock: sock!, pid: pid!, hostname: `hdnode${i + 1}` };
});

function dk(node: Node, args: string[], opts: { allowFail?: boolean } = {}): string {
  const r = spawnSync('docker', ['-H', `unix://${node.sock}`, ...args], { encoding: 'utf8' });
  if (r.status !== 0 && !opts.allowFail) throw new Error(`docker -H ${node.ns} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}
const manager = () => NODES[0]!;
/** docker through the manager, for the harness's readers of the tool's objects in the swarm */
const mdk = (args: string[], opts?: { allowFail?: boolean }) => dk(manager(), args, opts);

/** Tasks swarm wants running, with the node and image of each. */
function runningTasks(stack: string, service: string): Array<{ node: string; image: string; state: string }> {
  return dk(manager(), ['service', 'ps', `${stack}_${service}`, '--filter', 'desired-state=running', '--no-trunc', '--format', '{{.Node}}\t{{.Image}}\t{{.CurrentState}}'])
    .split('\n').filter(Boolean).map((l) => {
      const [node, image, st] = l.split('\t');
      return { node: node!, image: image!.replace(/@sha256:.*/, ''), state: st! };
    });
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 2000 }, () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
    s.on('timeout', () => { s.destroy(); resolve(false); });
  });
}

function nsRun(node: Node, cmd: string[]): { code: number; out: string } {
  const r = spawnSync('nsenter', [`--net=/var/run/netns/${node.ns}`, ...cmd], { encoding: 'utf8', timeout: 10_000 });
  return { code: r.status ?? 1, out: `${r.stdout}${r.stderr}` };
}

async function waitNodes(ready: number, seconds = 90): Promise<void> {
  for (let i = 0; i < seconds; i++) {
    const n = dk(manager(), ['node', 'ls', '--format', '{{.Status}} {{.Availability}}']).split('\n').filter((l) => l === 'Ready Active').length;
    if (n === ready) return;
    await sleep(1000);
  }
  throw new Error(`not ${ready} ready nodes after ${seconds}s`);
}

/** The deviations the sandbox forces, and nothing else. Returned as a printed patch. */
function sandboxPatch(template: string): { text: string; patch: string[] } {
  const patch: string[] = [];
  const replace = (what: string, from: string, to: string) => {
    assert.ok(template.includes(from), `the template no longer has: ${from}`);
    template = template.replace(from, to);
    patch.push(`# ${what}`, ...from.split('\n').filter(Boolean).map((l) => `- ${l}`), ...to.split('\n').filter(Boolean).map((l) => `+ ${l}`));
  };
  replace('no IPsec in this kernel: the overlay cannot be encrypted here', '    driver_opts:\n      encrypted: "true"\n', '');
  replace('no IPVS here: no ingress mesh, so the api publishes in host mode (one per node)...', '        published: 8000\n        protocol: tcp\n        mode: ingress\n', '        published: 8000\n        protocol: tcp\n        mode: host\n');
  replace('...and a host-mode port cannot be held by two tasks on a node: stop-first for the api', '      replicas: ${API_REPLICAS}\n      update_config: *app-update\n      rollback_config: *app-rollback\n',
    '      replicas: ${API_REPLICAS}\n      update_config:\n        <<: *app-update\n        order: stop-first\n      rollback_config:\n        <<: *app-rollback\n        order: stop-first\n');
  replace('no IPVS here: no service VIP, so redis is reached by DNS round robin', '    deploy:\n      replicas: 1\n      # the AOF volume',
    '    deploy:\n      endpoint_mode: dnsrr\n      replicas: 1\n      # the AOF volume');
  return { text: template, patch };
}

describe('three swarm nodes: the packaged template, node failures', { skip: state ? false : `multi-node e2e skipped: ${reason}` }, () => {
  let fx: Fixture;
  let goodId = '';
  const registry = state?.HD_MN_REGISTRY ?? '';
  const image = (svc: string, tag: string) => `${registry}/e2e-${fx.stack}/honeydue-${svc}:${tag}`;
  const lastLine = (out: string) => out.split('\n').filter((l) => l.startsWith('result:')).pop() ?? '';
  const dozzlePort = 19998;
  const lbPort = 18952;
  let lbPid = 0;

  before(async () => {
    fx = makeFixture(sandbox!, { stack: 'e2emulti', apiPort: 8000, registry, convergeTimeout: 150 });
    fx.remoteDirAbs = path.join(sandbox!.userHome, fx.remoteDir);
    await clearStack();
    // the stand-ins for redis and dozzle, pushed to the cluster's registry
    const ctxDir = fs.mkdtempSync(path.join(fx.root, 'standins-'));
    fs.cpSync(path.join(ROOT, 'test/fixtures/standins'), ctxDir, { recursive: true });
    fs.copyFileSync('/bin/busybox', path.join(ctxDir, 'busybox'));
    const cfg = fs.mkdtempSync(path.join(fx.root, 'docker-'));
    execFileSync('docker', ['--config', cfg, 'login', registry, '--username', sandbox!.registryUser, '--password-stdin'], { input: sandbox!.registryPassword });
    for (const target of ['redis', 'dozzle']) {
      execFileSync('docker', ['build', '-q', '--target', target, '-t', `${registry}/e2e-${fx.stack}/${target}-standin:1`, ctxDir]);
      execFileSync('docker', ['--config', cfg, 'push', '-q', `${registry}/e2e-${fx.stack}/${target}-standin:1`]);
    }
    fs.rmSync(cfg, { recursive: true, force: true });
    // a complete deploy dir in S3 mode, three api replicas, the packaged template with the sandbox's patch
    onThreeNodes(fx.deployDir, state!, {
      API_REPLICAS: '3',
      DOZZLE_PORT: String(dozzlePort),
      // the health URL through a load balancer over the nodes, as production's: with a node down it still reaches the
      // replicas that serve
      DEPLOY_HEALTHCHECK_URL: `http://127.0.0.1:${lbPort}/cgi-bin/health`,
    }, { mark: '0', append: `REDIS_IMAGE=${registry}/e2e-${fx.stack}/redis-standin:1\nDOZZLE_IMAGE=${registry}/e2e-${fx.stack}/dozzle-standin:1\n` });
    const { text, patch } = sandboxPatch(fs.readFileSync(path.join(ROOT, 'templates/swarm-stack.yml'), 'utf8'));
    console.log(`the sandbox's patch to templates/swarm-stack.yml:\n${patch.join('\n')}`);
    fs.writeFileSync(path.join(fx.deployDir, 'swarm-stack.yml'), text);
    lbPid = startLoadBalancer(fx.root, NODES as ThreeNode[], 8000, lbPort, '/cgi-bin/health');
  });

  after(async () => {
    if (lbPid) process.kill(lbPid, 'SIGTERM');
    if (!fx) return;
    await clearStack();
    fs.rmSync(fx.root, { recursive: true, force: true });
  });

  /** What the test changes on the three-node swarm, undone: after it, and before (what a stopped run left). */
  async function clearStack(): Promise<void> {
    for (const n of NODES) nsRun(n, ['iptables', '-D', 'OUTPUT', '-p', 'tcp', '-d', registry.split(':')[0]!, '--dport', registry.split(':')[1]!, '-j', 'REJECT']);
    dk(manager(), ['node', 'update', '--availability', 'active', NODES[2]!.hostname], { allowFail: true });
    dk(manager(), ['stack', 'rm', fx.stack], { allowFail: true });
    dk(manager(), ['node', 'update', '--label-rm', 'honeydue-redis', manager().hostname], { allowFail: true });
    for (let i = 0; i < 60 && dk(manager(), ['network', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${fx.stack}`], { allowFail: true }).trim(); i++) await sleep(1000);
    await freshNetworks(NODES as ThreeNode[], mdk);
    const secrets = dk(manager(), ['secret', 'ls', '-q', '--filter', `label=com.honeydue.deploy.stack=${fx.stack}`], { allowFail: true }).split('\n').filter(Boolean);
    if (secrets.length) dk(manager(), ['secret', 'rm', ...secrets], { allowFail: true });
    removeStore(fx.stack, mdk);
    fs.rmSync(fx.remoteDirAbs, { recursive: true, force: true });
  }

  it('(a) the packaged template on three nodes: api spread over them, secrets on a worker, dozzle on the manager\'s loopback only', async () => {
    // Redis is pinned to the node that keeps its AOF volume: until a node carries the label, preflight says how
    const unlabelled = await runCli(fx, ['--context', fx.context, '--tag', 'mn1']);
    assert.equal(unlabelled.code, 2, unlabelled.output);
    const add = /placement: redis: placed by node\.labels\.honeydue-redis == true, and no ready, active node has that label — choose the node that keeps its data and run `(docker node update --label-add honeydue-redis=true \w{12})` \(hdnode1\) on a manager/.exec(unlabelled.output);
    assert.ok(add, unlabelled.output);
    dk(manager(), add[1]!.split(' ').slice(1));
    const r = await runCli(fx, ['--context', fx.context, '--tag', 'mn1']);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /storage backend: S3-compatible/);
    goodId = currentId(fx.stack, mdk)!;
    const api = runningTasks(fx.stack, 'api');
    assert.equal(api.length, 3, JSON.stringify(api));
    assert.deepEqual(new Set(api.map((t) => t.node)), new Set(NODES.map((n) => n.hostname)), 'one api task on each node');
    for (const t of api) assert.equal(t.image, image('api', 'mn1'));
    // the secrets, byte for byte, inside a task on a worker node (it pulled with the forwarded credential)
    const worker = NODES[2]!;
    const container = dk(worker, ['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${fx.stack}_api`]).trim().split('\n')[0]!;
    for (const [file, data] of Object.entries(fx.secrets)) {
      const inside = execFileSync('docker', ['-H', `unix://${worker.sock}`, 'exec', container, 'cat', `/run/secrets/${file.replace(/\.(txt|p8)$/, '')}`]);
      assert.equal(sha256(inside), sha256(data), `${file} differs on ${worker.hostname}`);
    }
    // dozzle: on the manager only, answering on its loopback, unreachable from any other address
    assert.deepEqual(runningTasks(fx.stack, 'dozzle').map((t) => t.node), [manager().hostname]);
    let local = { code: 1, out: '' };
    for (let i = 0; i < 20 && local.code !== 0; i++, await sleep(500)) local = nsRun(manager(), ['busybox', 'wget', '-q', '-O', '-', `http://127.0.0.1:${dozzlePort}/`]);
    assert.match(local.out, /dozzle stand-in/);
    assert.equal(await canConnect(manager().addr, dozzlePort), false, 'dozzle answered on the manager\'s address');
    assert.notEqual(nsRun(NODES[1]!, ['busybox', 'wget', '-q', '-T', '2', '-O', '-', `http://${manager().addr}:${dozzlePort}/`]).code, 0, 'dozzle answered another node');
    // worker and admin health checks pass where they run
    for (const svc of ['worker', 'admin', 'redis']) {
      const [t] = runningTasks(fx.stack, svc);
      const node = NODES.find((n) => n.hostname === t!.node)!;
      const id = dk(node, ['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${fx.stack}_${svc}`]).trim().split('\n')[0]!;
      assert.equal(dk(node, ['inspect', '--format', '{{.State.Health.Status}}', id]).trim(), 'healthy', `${svc} on ${node.hostname}`);
    }
    // the health URL answers through every node
    for (const n of NODES) assert.equal((await httpBody(`http://${n.addr}:8000/cgi-bin/health`))?.body.trim(), 'ok mn1', n.hostname);
  });

  it('(b) a failing release is rolled back on all three nodes: exit 1', async () => {
    const r = await runCli(fx, ['--context', fx.context, '--tag', 'mn2', '--build-arg', 'CRASH=1']);
    assert.equal(r.code, 1, r.output);
    assert.match(lastLine(r.output), new RegExp(`^result: deploy failed \\(exit 1\\): rolled back: the previous release ${goodId} \\(tag mn1\\) is serving again$`));
    const api = runningTasks(fx.stack, 'api');
    assert.equal(new Set(api.map((t) => t.node)).size, 3);
    for (const t of api) assert.equal(t.image, image('api', 'mn1'));
  });

  it('(e) a node that cannot pull: a release failure naming the node and its error, rolled back', async () => {
    const blocked = NODES[2]!;
    const [host, port] = registry.split(':');
    // the node has the images of the release it would roll back to, as a node that ran it does: the rollback
    // must not need the registry there (when it does, the tool says so and exits 3; see shit_deploy_cant_do.md)
    const cfg = fs.mkdtempSync(path.join(fx.root, 'node3-'));
    execFileSync('docker', ['--config', cfg, '-H', `unix://${blocked.sock}`, 'login', registry, '--username', sandbox!.registryUser, '--password-stdin'], { input: sandbox!.registryPassword });
    for (const svc of ['api', 'worker', 'admin']) execFileSync('docker', ['--config', cfg, '-H', `unix://${blocked.sock}`, 'pull', '-q', image(svc, 'mn1')]);
    fs.rmSync(cfg, { recursive: true, force: true });
    assert.equal(nsRun(blocked, ['iptables', '-I', 'OUTPUT', '-p', 'tcp', '-d', host!, '--dport', port!, '-j', 'REJECT']).code, 0);
    try {
      const r = await runCli(fx, ['--context', fx.context, '--tag', 'mn3', '--build-arg', 'HEALTH=ok-mn3']);
      assert.equal(r.code, 1, r.output);
      assert.match(r.output, new RegExp(`on node \\w{12} \\(${blocked.hostname}, ${blocked.addr.replace(/\./g, '\\.')}\\)`));
      assert.match(lastLine(r.output), new RegExp(`rolled back: the previous release ${goodId} \\(tag mn1\\) is serving again$`));
      for (const t of runningTasks(fx.stack, 'api')) assert.equal(t.image, image('api', 'mn1'));
    } finally {
      nsRun(blocked, ['iptables', '-D', 'OUTPUT', '-p', 'tcp', '-d', host!, '--dport', port!, '-j', 'REJECT']);
    }
  });

  const nodeRe = (n: Node) => `node \\w{12} \\(${n.hostname}, ${n.addr.replace(/\./g, '\\.')}\\)`;

  it('(d) a drained node: the deploy warns naming it and serves on fewer replicas, exit 0; a placement that could not fit even with every node up is refused, exit 2, nothing touched', async () => {
    const drained = NODES[2]!;
    const cluster = path.join(fx.deployDir, 'cluster.env');
    const original = fs.readFileSync(cluster, 'utf8');
    dk(manager(), ['node', 'update', '--availability', 'drain', drained.hostname]);
    try {
      const spec = dk(manager(), ['service', 'inspect', `${fx.stack}_api`, '--format', '{{json .Spec}}']);
      fs.writeFileSync(cluster, original.replace(/^API_REPLICAS=.*$/m, 'API_REPLICAS=4'), { mode: 0o600 });
      const refused = await runCli(fx, ['--tag', 'mn1'], { SKIP_BUILD: '1' });
      assert.equal(refused.code, 2, refused.output);
      assert.match(refused.output, new RegExp(`${nodeRe(drained)} is ready/drain: no task is placed on it`));
      assert.match(refused.output, /placement: api: 4 replica\(s\) with at most 1 per node .* need more than the 3 node\(s\) of the swarm can take, even with every one of them up and active/);
      assert.equal(dk(manager(), ['service', 'inspect', `${fx.stack}_api`, '--format', '{{json .Spec}}']), spec);
      fs.writeFileSync(cluster, original, { mode: 0o600 });
      const r = await runCli(fx, ['--tag', 'mn1'], { SKIP_BUILD: '1' });
      assert.equal(r.code, 0, r.output);
      assert.match(r.output, new RegExp(`placement: api: 3 replica\\(s\\) fit the swarm, but the 2 node\\(s\\) that take tasks now hold at most 2 \\(${nodeRe(drained)} is drain\\)`));
      assert.match(lastLine(r.output), new RegExp(`^result: ok \\(exit 0\\): the new release \\S+ \\(tag mn1\\) is serving and healthy on fewer replicas \\(api 2/3\\): ${nodeRe(drained)} is drain — bring it back`));
      goodId = currentId(fx.stack, mdk)!;
      const status = await runCli(fx, ['status']);
      assert.equal(status.code, 0, status.output);
      assert.match(lastLine(status.output), new RegExp(`^result: degraded \\(exit 0\\): every service runs the known-good release ${goodId}, degraded: on fewer replicas \\(api 2/3\\)`));
    } finally {
      fs.writeFileSync(cluster, original, { mode: 0o600 });
      dk(manager(), ['node', 'update', '--availability', 'active', drained.hostname]);
    }
    // swarm places the drained node's api replica again by itself
    for (let i = 0; i < 60 && new Set(runningTasks(fx.stack, 'api').filter((t) => /^Running/.test(t.state)).map((t) => t.node)).size < 3; i++) await sleep(1000);
    assert.equal(new Set(runningTasks(fx.stack, 'api').filter((t) => /^Running/.test(t.state)).map((t) => t.node)).size, 3);
  });

  it('(c) a worker\'s docker daemon killed in the middle of a healthy deploy: exit 0, the new release known-good on fewer replicas, naming the node; with it still down, a rollback and a deploy both end exit 0; restarted right before a rollback, the words blame what is true', async () => {
    const victim = NODES[2]!;
    const run = startCli(fx, ['--context', fx.context, '--tag', 'mn4', '--build-arg', 'HEALTH=ok-mn4']);
    await run.waitFor(/==> Wait for convergence/, 240_000);
    process.kill(Number(fs.readFileSync(victim.pid, 'utf8')), 'SIGKILL');
    try {
      const r = await run.done;
      assert.equal(r.code, 0, r.output);
      const newId = currentId(fx.stack, mdk)!;
      assert.notEqual(newId, goodId);
      assert.match(lastLine(r.output), new RegExp(`^result: ok \\(exit 0\\): the new release ${newId} \\(tag mn4\\) is serving and healthy on fewer replicas \\(api 2/3[^)]*\\): ${nodeRe(victim)} is down — bring it back`));
      assert.equal(lockOwner(fx.stack, mdk), undefined, 'the lock is released');
      assert.equal((await httpBody(`http://${NODES[1]!.addr}:8000/cgi-bin/health`))?.body.trim(), 'ok mn4');
      for (const t of runningTasks(fx.stack, 'api').filter((x) => /^Running/.test(x.state) && x.node !== victim.hostname)) assert.equal(t.image, image('api', 'mn4'));
      // still down: a rollback to the previous release through the manager works, on the nodes that are up
      const back = await runCli(fx, ['rollback', goodId]);
      assert.equal(back.code, 0, back.output);
      assert.match(lastLine(back.output), new RegExp(`^result: ok \\(exit 0\\): rolled back: ${goodId} \\(tag mn1\\) is serving and healthy on fewer replicas \\(api 2/3[^)]*\\): ${nodeRe(victim)} is down`));
      // and a deploy started while it is down runs, with a warning naming it
      const again = await runCli(fx, ['--tag', 'mn4'], { SKIP_BUILD: '1' });
      assert.equal(again.code, 0, again.output);
      assert.match(again.output, new RegExp(`placement: api: 3 replica\\(s\\) fit the swarm, but the 2 node\\(s\\) that take tasks now hold at most 2 \\(${nodeRe(victim)} is down\\)`));
      assert.match(lastLine(again.output), /on fewer replicas \(api 2\/3/);
    } finally {
      // the node comes back (its daemon restarted), and a rollback starts right away
      execFileSync('bash', [path.join(ROOT, 'scripts/multinode.sh'), 'up'], { stdio: 'ignore' });
    }
    const current = currentId(fx.stack, mdk)!;
    const rb = await runCli(fx, ['rollback', goodId]);
    assert.equal(rb.code, 0, rb.output);
    assert.doesNotMatch(rb.output, /another service holds/, 'no other service holds the port');
    assert.match(lastLine(rb.output), new RegExp(`^result: ok \\(exit 0\\): rolled back: ${goodId} \\(tag mn1\\) is serving and healthy`));
    assert.notEqual(current, goodId);
    await waitNodes(3);
    for (let i = 0; i < 60 && new Set(runningTasks(fx.stack, 'api').filter((t) => /^Running/.test(t.state)).map((t) => t.node)).size < 3; i++) await sleep(1000);
    const api = runningTasks(fx.stack, 'api');
    assert.equal(new Set(api.map((t) => t.node)).size, 3);
    for (const t of api) assert.equal(t.image, image('api', 'mn1'));
  });
});
