/**
 * A start-first update behind a load balancer that checks each node — the shape of the seed's Hetzner load balancer
 * in front of the nodes' host-mode ports — costs the users nothing: HAProxy from Debian in front of the three-node
 * sandbox (scripts/multinode.sh), the fixture's api with two replicas on three nodes (one per node, a host-mode
 * port), updated start-first; the health URL goes through HAProxy and is watched at the default rate.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { currentId, httpBody, loadSandbox, makeFixture, runCli, sleep, type Fixture } from './harness.js';
import { clearThreeNodeStack, haproxyMissing, loadThreeNode, onThreeNodes, startLoadBalancer, threeNodes } from './three-node.js';

const { sandbox, reason: sandboxReason } = loadSandbox();
const { state, reason } = loadThreeNode(Boolean(sandbox), sandboxReason, haproxyMissing);
const NODES = threeNodes(state);
const dk = (args: string[], opts: { allowFail?: boolean } = {}): string => {
  const r = spawnSync('docker', ['-H', `unix://${NODES[0]!.sock}`, ...args], { encoding: 'utf8' });
  if (r.status !== 0 && !opts.allowFail) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const LINE = /during the update: (\d+) of (\d+) requests to the health URL failed \(longest gap (\d+\.\d) s\)/;

describe('behind a load balancer that checks each node', { skip: state ? false : `load-balancer e2e skipped: ${reason}` }, () => {
  let fx: Fixture;
  const apiPort = 18950;
  const lbPort = 18951;
  let lbPid = 0;

  before(async () => {
    fx = makeFixture(sandbox!, { stack: 'e2elb', apiPort, registry: state!.HD_MN_REGISTRY, convergeTimeout: 150 });
    await clearThreeNodeStack(fx.stack, fx.remoteDir, NODES, dk);
    onThreeNodes(fx.deployDir, state!, { API_REPLICAS: '2', DEPLOY_HEALTHCHECK_URL: `http://127.0.0.1:${lbPort}/cgi-bin/health` }, { mark: '2' });
    // the api updated start-first: two replicas on three nodes, so the new task starts on the free node first
    const stackFile = path.join(fx.deployDir, 'swarm-stack.yml');
    const text = fs.readFileSync(stackFile, 'utf8');
    const from = '      replicas: ${API_REPLICAS}\n      update_config:\n        <<: *update\n        order: stop-first\n';
    assert.ok(text.includes(from), 'the fixture\'s api is no longer updated stop-first');
    fs.writeFileSync(stackFile, text.replace(from, '      replicas: ${API_REPLICAS}\n      placement:\n        max_replicas_per_node: 1\n      update_config:\n        <<: *update\n        order: start-first\n'), { mode: 0o600 });
    lbPid = startLoadBalancer(fx.root, NODES, apiPort, lbPort, '/cgi-bin/health');
    const first = await runCli(fx, ['--context', fx.context, '--tag', 'lb1']);
    assert.equal(first.code, 0, first.output);
  });

  after(async () => {
    if (lbPid) process.kill(lbPid, 'SIGTERM');
    if (!fx) return;
    await clearThreeNodeStack(fx.stack, fx.remoteDir, NODES, dk);
    fs.rmSync(fx.root, { recursive: true, force: true });
  });

  it('a start-first update with replicas on several nodes: F = 0 at the default rate', async () => {
    // the load balancer sees both replicas before the update starts
    for (let i = 0; i < 30 && (await httpBody(`http://127.0.0.1:${lbPort}/cgi-bin/health`))?.body.trim() !== 'ok lb1'; i++) await sleep(500);
    const r = await runCli(fx, ['--context', fx.context, '--tag', 'lb2']);
    assert.equal(r.code, 0, r.output);
    const m = LINE.exec(r.output);
    assert.ok(m, r.output);
    console.log(`start-first behind HAProxy, 2 replicas on 3 nodes, 4 requests a second: ${m[0]}`);
    assert.equal(Number(m[1]), 0, m[0]);
    assert.ok(Number(m[2]) >= 8, `only ${m[2]} requests: the watch did not run through the update`);
    const nodes = dk(['service', 'ps', `${fx.stack}_api`, '--filter', 'desired-state=running', '--format', '{{.Node}} {{.Image}} {{.CurrentState}}']).split('\n').filter((l) => / Running/.test(l));
    assert.equal(nodes.length, 2, nodes.join('\n'));
    assert.equal(new Set(nodes.map((l) => l.split(' ')[0])).size, 2, 'two replicas on two nodes');
    for (const l of nodes) assert.match(l, /:lb2 /);
    assert.match(currentId(fx.stack, dk)!, /^lb2_/);
  });
});
