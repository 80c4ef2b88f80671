/**
 * A lost leader is not lost capacity: three managers on the three-node sandbox, the api with three replicas on a
 * host-mode port (one per node, so a missing node is missing capacity), the health URL through HAProxy over the
 * nodes (a load balancer that checks each node, as production's).
 * The leader — never the connected manager — is killed in the middle of a healthy deploy, and in the middle of the
 * rollback of a failing release; a node's daemon is restarted right before a deploy. Each is a race: each runs
 * three times in the test's own loop.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { currentId, httpBody, loadSandbox, lockOwner, makeFixture, runCli, sleep, startCli, ROOT, type Fixture } from './harness.js';
import { backToOneManager, clearThreeNodeStack, haproxyMissing, loadThreeNode, ownSubnet, s3Uploads, startLoadBalancer, threeNodes, waitManagers as waitManagersOf } from './three-node.js';

const { sandbox, reason: sandboxReason } = loadSandbox();
const MULTINODE = path.join(ROOT, 'scripts/multinode.sh');
const ROUNDS = 3;

const { state, reason } = loadThreeNode(Boolean(sandbox), sandboxReason, haproxyMissing);
const NODES = threeNodes(state);

/** docker through the first node whose daemon answers (any of them may be the one killed) */
function dk(args: string[], opts: { allowFail?: boolean } = {}): string {
  let last = '';
  for (const n of NODES) {
    const r = spawnSync('docker', ['-H', `unix://${n.sock}`, ...args], { encoding: 'utf8', timeout: 30_000 });
    if (r.status === 0) return r.stdout;
    last = r.stderr;
    if (!/Cannot connect|no such file|connection refused/i.test(r.stderr)) break;
  }
  if (!opts.allowFail) throw new Error(`docker ${args.join(' ')}: ${last}`);
  return '';
}

const waitManagers = (n: number) => waitManagersOf(NODES, dk, n);

/** The index of the node that leads the swarm now. */
function leader(): number {
  const line = dk(['node', 'ls', '--format', '{{.Hostname}} {{.ManagerStatus}}']).split('\n').find((l) => / Leader$/.test(l));
  assert.ok(line, 'no leader');
  return NODES.findIndex((n) => n.hostname === line.split(' ')[0]);
}

function kill(i: number): void {
  process.kill(Number(fs.readFileSync(NODES[i]!.pid, 'utf8')), 'SIGKILL');
}

/** The killed daemon started again; every node Ready and a manager again. */
async function restore(): Promise<void> {
  execFileSync('bash', [MULTINODE, 'up'], { stdio: 'ignore' });
  await waitManagers(3);
}

function runningApi(stack: string): Array<{ node: string; image: string }> {
  return dk(['service', 'ps', `${stack}_api`, '--filter', 'desired-state=running', '--no-trunc', '--format', '{{.Node}}\t{{.Image}}\t{{.CurrentState}}'], { allowFail: true })
    .split('\n').filter((l) => /\tRunning/.test(l)).map((l) => ({ node: l.split('\t')[0]!, image: l.split('\t')[1]!.replace(/@sha256:.*/, '') }));
}

describe('a lost leader is not lost capacity', { skip: state ? false : `leader e2e skipped: ${reason}` }, () => {
  let fx: Fixture;
  const registry = state?.HD_MN_REGISTRY ?? '';
  const port = state?.HD_MN_SSH_PORT ?? '';
  const apiPort = 18941;
  // the health URL through a load balancer over the nodes (issue: with a node missing, the verdict must come from a
  // URL that reaches the replicas that serve, never from one node's port)
  const lbPort = 18953;
  const healthUrl = `http://127.0.0.1:${lbPort}/cgi-bin/health`;
  let lbPid = 0;
  const lastLine = (out: string) => out.split('\n').filter((l) => l.startsWith('result:')).pop() ?? '';
  let tagNo = 0;

  /** The deploy dir, connected through manager i, its health URL that manager's host-mode port. */
  function through(i: number): Fixture {
    const dir = fs.mkdtempSync(path.join(fx.root, 'deploy-'));
    fs.cpSync(fx.deployDir, dir, { recursive: true });
    const cluster = path.join(dir, 'cluster.env');
    fs.writeFileSync(cluster, fs.readFileSync(cluster, 'utf8')
      .replace(/^DEPLOY_MANAGER_HOST=.*$/m, `DEPLOY_MANAGER_HOST=${NODES[i]!.addr}:${port}`)
      .replace(/^DEPLOY_HEALTHCHECK_URL=.*$/m, `DEPLOY_HEALTHCHECK_URL=${healthUrl}`), { mode: 0o600 });
    return { ...fx, deployDir: dir };
  }
  /** a manager that does not lead */
  const follower = () => [0, 1, 2].find((i) => i !== leader())!;

  before(async () => {
    execFileSync('bash', [MULTINODE, 'managers', '3'], { stdio: 'ignore' });
    await waitManagers(3);
    fx = makeFixture(sandbox!, { stack: 'e2eleader', apiPort, registry, convergeTimeout: 150 });
    lbPid = startLoadBalancer(fx.root, NODES, apiPort, lbPort, '/cgi-bin/health');
    await clearStack();
    const cluster = path.join(fx.deployDir, 'cluster.env');
    fs.writeFileSync(cluster, fs.readFileSync(cluster, 'utf8')
      .replace(/^DEPLOY_MANAGER_SSH_PORT=.*$/m, `DEPLOY_MANAGER_SSH_PORT=${port}`)
      .replace(/^DEPLOY_KNOWN_HOSTS=.*$/m, `DEPLOY_KNOWN_HOSTS=${state!.HD_MN_ALL_KNOWN_HOSTS}`)
      .replace(/^API_REPLICAS=.*$/m, 'API_REPLICAS=3'), { mode: 0o600 });
    // three api replicas on three nodes need S3-compatible storage (a local uploads volume is per node)
    s3Uploads(fx.deployDir, '1');
    ownSubnet(fx.deployDir, '10.231.1.0/24');
    const r = await runCli(through(follower()), ['--context', fx.context, '--tag', 'ld0']);
    assert.equal(r.code, 0, r.output);
  });

  after(async () => {
    if (lbPid) process.kill(lbPid, 'SIGTERM');
    // the killed node back, then one manager again, as the other multi-node tests expect
    await backToOneManager(NODES, dk);
    if (!fx) return;
    await clearStack();
    fs.rmSync(fx.root, { recursive: true, force: true });
  });

  const clearStack = () => clearThreeNodeStack(fx.stack, fx.remoteDir, NODES, dk);


  it(`the leader killed in the middle of a healthy deploy: exit 0, the new release known-good (${ROUNDS} times)`, async () => {
    for (let round = 1; round <= ROUNDS; round++) {
      const via = follower();
      const victim = leader();
      const tag = `ld${++tagNo}`;
      const run = startCli(through(via), ['--context', fx.context, '--tag', tag]);
      await run.waitFor(/==> Wait for convergence/, 240_000);
      await sleep(round * 700);
      kill(victim);
      const r = await run.done;
      try {
        assert.equal(r.code, 0, `round ${round}, leader ${NODES[victim]!.hostname} killed, through ${NODES[via]!.hostname}:\n${r.output}`);
        const id = currentId(fx.stack, dk)!;
        assert.match(id, new RegExp(`^${tag}_`));
        assert.match(lastLine(r.output), new RegExp(`^result: ok \\(exit 0\\): the new release ${id} \\(tag ${tag}\\) is serving and healthy`));
        assert.doesNotMatch(r.output, /cannot be placed with every node up|lost capacity/);
        assert.equal(lockOwner(fx.stack, dk), undefined);
        // the new release answers through the load balancer (the killed node's old container may answer too: a dead
        // daemon does not stop its containers, and the balancer still reaches them)
        const bodies: string[] = [];
        for (let i = 0; i < 12; i++) bodies.push((await httpBody(healthUrl))?.body.trim() ?? '');
        assert.ok(bodies.includes(`ok ${tag}`), bodies.join(', '));
      } finally {
        await restore();
      }
    }
  });

  it(`the leader killed in the middle of the rollback of a failing release: exit 1, the previous release serving (${ROUNDS} times)`, async () => {
    for (let round = 1; round <= ROUNDS; round++) {
      const before = currentId(fx.stack, dk)!;
      const previousTag = before.split('_')[0]!;
      const via = follower();
      const victim = leader();
      const tag = `ldbad${++tagNo}`;
      const run = startCli(through(via), ['--context', fx.context, '--tag', tag, '--build-arg', 'CRASH=1']);
      await run.waitFor(/==> Roll back/, 300_000);
      await sleep(round * 500);
      kill(victim);
      const r = await run.done;
      try {
        assert.equal(r.code, 1, `round ${round}, leader ${NODES[victim]!.hostname} killed, through ${NODES[via]!.hostname}:\n${r.output}`);
        assert.match(lastLine(r.output), new RegExp(`^result: deploy failed \\(exit 1\\): rolled back: the previous release ${before} \\(tag ${previousTag}\\) is serving again`));
        assert.equal(currentId(fx.stack, dk), before);
        assert.equal(lockOwner(fx.stack, dk), undefined);
        // the previous release answers through the load balancer (the killed node's containers may answer too: a
        // dead daemon does not stop them)
        const bodies: string[] = [];
        for (let i = 0; i < 12; i++) bodies.push((await httpBody(healthUrl))?.body.trim() ?? '');
        assert.ok(bodies.includes(`ok ${previousTag}`), bodies.join(', '));
        for (const t of runningApi(fx.stack)) assert.doesNotMatch(t.image, new RegExp(`:${tag}$`));
      } finally {
        await restore();
      }
    }
  });

  it(`a node's daemon restarted right before a deploy: the deploy waits for it and succeeds (${ROUNDS} times)`, async () => {
    for (let round = 1; round <= ROUNDS; round++) {
      const via = follower();
      const victim = [0, 1, 2].find((i) => i !== via && i !== leader()) ?? [0, 1, 2].find((i) => i !== via)!;
      kill(victim);
      execFileSync('bash', [MULTINODE, 'up'], { stdio: 'ignore' });
      const tag = `ldre${++tagNo}`;
      const r = await runCli(through(via), ['--context', fx.context, '--tag', tag]);
      try {
        assert.equal(r.code, 0, `round ${round}, ${NODES[victim]!.hostname} restarted, through ${NODES[via]!.hostname}:\n${r.output}`);
        const id = currentId(fx.stack, dk)!;
        assert.match(lastLine(r.output), new RegExp(`^result: ok \\(exit 0\\): the new release ${id} \\(tag ${tag}\\) is serving and healthy`));
        assert.doesNotMatch(r.output, /another service holds/);
        // swarm runs the new release on every node once the restarted one is back
        let api = runningApi(fx.stack);
        for (let i = 0; i < 90 && !(api.length === 3 && api.every((t) => t.image.endsWith(`:${tag}`))); i++, await sleep(1000)) api = runningApi(fx.stack);
        assert.equal(new Set(api.map((t) => t.node)).size, 3, JSON.stringify(api));
      } finally {
        await restore();
      }
    }
  });
});
