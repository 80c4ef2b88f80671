/**
 * Several managers: the three-node sandbox with all three nodes managers, each with its own sshd and its own home
 * for the deploy user (scripts/multinode.sh: separate disks, as on real machines). The tool's memory is in the
 * swarm, so every manager sees the same releases and the same lock; a run whose manager dies goes on through the
 * next listed one; a release recorded through a dead manager can be rolled back to through another.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { currentId, httpBody, loadSandbox, lockOwner, makeFixture, runCli, sleep, startCli, ROOT, type Fixture } from './harness.js';
import { backToOneManager, clearThreeNodeStack, loadThreeNode, ownSubnet, threeNodes, waitManagers as waitManagersOf } from './three-node.js';

const { sandbox, reason: sandboxReason } = loadSandbox();
const { state, reason } = loadThreeNode(Boolean(sandbox), sandboxReason, (st) => (st.HD_MN_SSHD_HOMES ? undefined : 'the state file predates the per-node sshd (run scripts/multinode.sh up)'));
const NODES = threeNodes(state);
const MULTINODE = path.join(ROOT, 'scripts/multinode.sh');

function dk(args: string[], opts: { allowFail?: boolean } = {}): string {
  const r = spawnSync('docker', ['-H', `unix://${NODES[0]!.sock}`, ...args], { encoding: 'utf8' });
  if (r.status !== 0 && !opts.allowFail) throw new Error(`docker ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

function serviceImage(stack: string, svc: string): string {
  return dk(['service', 'inspect', `${stack}_${svc}`, '--format', '{{.Spec.TaskTemplate.ContainerSpec.Image}}']).trim().replace(/@sha256:.*/, '');
}

const waitManagers = (n: number, seconds?: number) => waitManagersOf(NODES, dk, n, seconds);

describe('several managers: the state in the swarm, one lock, a lost manager survived', { skip: state ? false : `several-managers e2e skipped: ${reason}` }, () => {
  let fx: Fixture;
  const registry = state?.HD_MN_REGISTRY ?? '';
  const port = state?.HD_MN_SSH_PORT ?? '';
  const image = (svc: string, tag: string) => `${registry}/e2e-${fx.stack}/honeydue-${svc}:${tag}`;
  const lastLine = (out: string) => out.split('\n').filter((l) => l.startsWith('result:')).pop() ?? '';
  const manager = (i: number) => `${NODES[i]!.addr}:${port}`;
  const apiPort = 18931;
  const dozzlePort = 19931;
  let firstId = '';

  /** The same deploy dir, with DEPLOY_MANAGER_HOST listing these managers (a copy: one per operator). */
  function through(...managers: number[]): Fixture {
    const dir = fs.mkdtempSync(path.join(fx.root, 'deploy-'));
    fs.cpSync(fx.deployDir, dir, { recursive: true });
    const cluster = path.join(dir, 'cluster.env');
    fs.writeFileSync(cluster, fs.readFileSync(cluster, 'utf8').replace(/^DEPLOY_MANAGER_HOST=.*$/m, `DEPLOY_MANAGER_HOST=${managers.map(manager).join(',')}`), { mode: 0o600 });
    return { ...fx, deployDir: dir };
  }

  before(async () => {
    execFileSync('bash', [MULTINODE, 'managers', '3'], { stdio: 'ignore' });
    await waitManagers(3);
    fx = makeFixture(sandbox!, { stack: 'e2emgr', apiPort, registry, convergeTimeout: 90 });
    await clearStack();
    const cluster = path.join(fx.deployDir, 'cluster.env');
    fs.writeFileSync(cluster, fs.readFileSync(cluster, 'utf8')
      .replace(/^DEPLOY_MANAGER_SSH_PORT=.*$/m, `DEPLOY_MANAGER_SSH_PORT=${port}`)
      .replace(/^DEPLOY_KNOWN_HOSTS=.*$/m, `DEPLOY_KNOWN_HOSTS=${state!.HD_MN_ALL_KNOWN_HOSTS}`)
      .replace(/^DEPLOY_HEALTHCHECK_URL=.*$/m, `DEPLOY_HEALTHCHECK_URL=http://${NODES[0]!.addr}:${apiPort}/cgi-bin/health`), { mode: 0o600 });
    // the api answers the health check on node 1 (the node that stays up); the rest goes wherever swarm puts it
    const stackFile = path.join(fx.deployDir, 'swarm-stack.yml');
    const text = fs.readFileSync(stackFile, 'utf8');
    const withPlacement = text.replace('      replicas: ${API_REPLICAS}\n', '      replicas: ${API_REPLICAS}\n      placement:\n        constraints: [node.hostname == hdnode1]\n');
    assert.notEqual(withPlacement, text);
    // Dozzle as the packaged template runs it: one per manager, on the host network, bound to loopback
    const dozzle = [
      '  dozzle:', '    image: ${DOZZLE_IMAGE}', '    environment:', '      DOZZLE_ADDR: 127.0.0.1:${DOZZLE_PORT}', '    networks:', '      - hostnet', '    deploy:', '      mode: global',
      '      placement:', '        constraints:', '          - node.role == manager', '', 'networks:', '  hostnet:', '    external: true', '    name: host', '', '',
    ].join('\n');
    fs.writeFileSync(stackFile, withPlacement.replace('\nsecrets:\n', `\n${dozzle}secrets:\n`), { mode: 0o600 });
    ownSubnet(fx.deployDir, '10.231.2.0/24');
    const ctxDir = fs.mkdtempSync(path.join(fx.root, 'standins-'));
    fs.cpSync(path.join(ROOT, 'test/fixtures/standins'), ctxDir, { recursive: true });
    fs.copyFileSync('/bin/busybox', path.join(ctxDir, 'busybox'));
    const cfg = fs.mkdtempSync(path.join(fx.root, 'docker-'));
    const dozzleImage = `${registry}/e2e-${fx.stack}/dozzle-standin:1`;
    execFileSync('docker', ['--config', cfg, 'login', registry, '--username', sandbox!.registryUser, '--password-stdin'], { input: sandbox!.registryPassword });
    execFileSync('docker', ['build', '-q', '--target', 'dozzle', '-t', dozzleImage, ctxDir]);
    execFileSync('docker', ['--config', cfg, 'push', '-q', dozzleImage]);
    fs.rmSync(cfg, { recursive: true, force: true });
    fs.writeFileSync(cluster, `${fs.readFileSync(cluster, 'utf8').replace(/^DOZZLE_PORT=.*$/m, `DOZZLE_PORT=${dozzlePort}`)}DOZZLE_IMAGE=${dozzleImage}\n`, { mode: 0o600 });
    // the first release, recorded through manager 2
    const r = await runCli(through(1), ['--context', fx.context, '--tag', 'mg1']);
    assert.equal(r.code, 0, r.output);
    firstId = currentId(fx.stack, dk)!;
    assert.match(firstId, /^mg1_/);
    // manager 2's own disk holds its working folder; manager 1's does not
    assert.ok(fs.existsSync(path.join(NODES[1]!.home, fx.remoteDir, 'releases', firstId, 'swarm-stack.yml')));
    assert.equal(fs.existsSync(path.join(NODES[0]!.home, fx.remoteDir, 'releases', firstId)), false);
  });

  after(async () => {
    // the killed node back, then one manager again, as the other multi-node tests expect
    await backToOneManager(NODES, dk);
    if (!fx) return;
    await clearStack();
    fs.rmSync(fx.root, { recursive: true, force: true });
  });

  const clearStack = () => clearThreeNodeStack(fx.stack, fx.remoteDir, NODES, dk);


  it('(a) two deploys started together through two managers: one runs, the other is refused naming the holder; both last lines true', async () => {
    const a = startCli(through(0), ['--context', fx.context, '--tag', 'mgA']);
    const b = startCli(through(2), ['--context', fx.context, '--tag', 'mgB']);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    const results = [{ r: ra, tag: 'mgA', via: NODES[0]!.addr }, { r: rb, tag: 'mgB', via: NODES[2]!.addr }];
    const won = results.filter((x) => x.r.code === 0);
    const lost = results.filter((x) => x.r.code === 2);
    assert.equal(won.length, 1, `${ra.output}\n----\n${rb.output}`);
    assert.equal(lost.length, 1, `${ra.output}\n----\n${rb.output}`);
    const winner = won[0]!;
    assert.match(lastLine(winner.r.output), new RegExp(`^result: ok \\(exit 0\\): the new release ${winner.tag}_\\d{14} \\(tag ${winner.tag}\\) is serving and healthy$`));
    assert.match(lost[0]!.r.output, new RegExp(`another run holds the deploy lock of e2emgr \\(e2emgr_hd-lock in the swarm\\): \\S+ \\(pid \\d+, deploy ${winner.tag}_\\d{14}, git n/a, since \\S+, through ${winner.via.replace(/\./g, '\\.')}\\)`));
    assert.equal(lastLine(lost[0]!.r.output), 'result: stopped before changing anything (exit 2): nothing on the cluster was changed: whatever served before this run is still serving (no change was made to the stack)');
    for (const svc of ['api', 'worker', 'admin']) assert.equal(serviceImage(fx.stack, svc), image(svc, winner.tag));
    assert.equal(lockOwner(fx.stack, dk), undefined);
  });

  it('(b) releases --json is the same through every manager; status through any manager sees the known-good release', async () => {
    const outputs: string[] = [];
    for (const i of [0, 1, 2]) {
      const r = await runCli(through(i), ['releases', '--json']);
      assert.equal(r.code, 0, r.output);
      outputs.push(r.stdout);
    }
    assert.equal(outputs[1], outputs[0]);
    assert.equal(outputs[2], outputs[0]);
    const rows = JSON.parse(outputs[0]!) as Array<{ deployId: string; current: boolean }>;
    assert.ok(rows.some((r) => r.deployId === firstId), 'the release recorded through manager 2 is listed');
    assert.equal(rows.filter((r) => r.current).length, 1);
    const status = await runCli(through(2), ['status']);
    assert.equal(status.code, 0, status.output);
  });

  it('(f) dozzle reaches Dozzle through whichever manager the run uses, still on loopback only', async () => {
    for (const [i, local] of [[2, 19932], [0, 19933]] as const) {
      const run = startCli(through(i), ['dozzle', '--port', String(local)]);
      await run.waitFor(new RegExp(`Dozzle: http://127\\.0\\.0\\.1:${local}/`), 60_000);
      let page: { status: number; body: string } | undefined;
      for (let k = 0; k < 40 && !page?.body.includes('dozzle stand-in'); k++, await sleep(500)) page = await httpBody(`http://127.0.0.1:${local}/`);
      assert.match(page?.body ?? '', /dozzle stand-in/, `through manager ${i + 1}`);
      run.child.kill('SIGINT');
      const r = await run.done;
      assert.equal(r.code, 0, r.output);
    }
    // not on a node's own address
    assert.equal(await httpBody(`http://${NODES[2]!.addr}:${dozzlePort}/`), undefined);
  });

  it('(c) the connected manager\'s daemon killed during convergence: the run goes on through the next manager, exit 0 or 1, and the last line names what serves', async () => {
    const before = currentId(fx.stack, dk)!;
    const started = Date.now();
    const run = startCli(through(1, 2), ['--context', fx.context, '--tag', 'mgC']);
    await run.waitFor(/==> Wait for convergence/, 240_000);
    process.kill(Number(fs.readFileSync(NODES[1]!.pid, 'utf8')), 'SIGKILL');
    const r = await run.done;
    const seconds = (Date.now() - started) / 1000;
    console.log(`the run whose manager died (${seconds.toFixed(0)}s):\n${r.output}`);
    assert.ok(r.code === 0 || r.code === 1, r.output);
    assert.ok(seconds < 240, `took ${seconds}s`);
    assert.match(r.output, /the connection to the manager \S+@10\.203\.0\.12:\d+ was lost: going on through the next listed manager that is up/);
    assert.match(r.output, /connected to \S+@10\.203\.0\.13:\d+ \(manager 2 of 2\)/);
    const line = lastLine(r.output);
    const serving = r.code === 0 ? 'mgC' : before.replace(/_\d{14}$/, '');
    if (r.code === 0) assert.match(line, /^result: ok \(exit 0\): the new release mgC_\d{14} \(tag mgC\) is serving and healthy$/);
    else assert.match(line, new RegExp(`^result: deploy failed \\(exit 1\\): rolled back: the previous release ${before} \\(tag ${serving}\\) is serving again`));
    for (const svc of ['api', 'worker', 'admin']) assert.equal(serviceImage(fx.stack, svc), image(svc, serving), `${svc} is not on what the last line says`);
    assert.equal((await httpBody(`http://${NODES[0]!.addr}:${apiPort}/cgi-bin/health`))?.body.trim(), `ok ${serving}`);
    assert.equal(lockOwner(fx.stack, dk), undefined, 'the lock is released');
  });

  it('(d) with that manager still down: rollback through a surviving manager to a release recorded through the dead one', async () => {
    const r = await runCli(through(1, 2), ['rollback', firstId]);
    console.log(`the rollback with a manager down:\n${r.output}`);
    // on failure, what swarm itself shows, for the log
    const seen = () => `${r.output}\n--- node ls:\n${dk(['node', 'ls'], { allowFail: true })}\n--- stack ps:\n${dk(['stack', 'ps', '--no-trunc', '--format', '{{.ID}} {{.Name}} {{.Image}} {{.Node}} {{.DesiredState}} {{.CurrentState}} {{.Error}}', fx.stack], { allowFail: true })}`;
    assert.equal(r.code, 0, r.code === 0 ? '' : seen());
    assert.match(lastLine(r.output), new RegExp(`^result: ok \\(exit 0\\): rolled back: ${firstId} \\(tag mg1\\) is serving and healthy$`));
    for (const svc of ['api', 'worker', 'admin']) assert.equal(serviceImage(fx.stack, svc), image(svc, 'mg1'));
    assert.equal(currentId(fx.stack, dk), firstId);
    // its folder was written on manager 3's own disk from the record in the swarm
    assert.ok(fs.existsSync(path.join(NODES[2]!.home, fx.remoteDir, 'releases', firstId, 'swarm-stack.yml')));
  });

  it('doctor reports every listed manager and the quorum', async () => {
    const r = await runCli(through(0, 1, 2), ['doctor']);
    assert.match(r.output, /listed managers\s+\S+@10\.203\.0\.11:\d+: connected/);
    assert.match(r.output, /fail\s+listed managers\s+\S+@10\.203\.0\.12:\d+: .*(Cannot connect to the Docker daemon|cannot run docker)/);
    assert.match(r.output, /listed managers\s+\S+@10\.203\.0\.13:\d+: reachable, a manager of a swarm with quorum/);
    assert.match(r.output, /quorum\s+2 of 3 manager\(s\) reachable/);
  });
});
