/**
 * `npm run bench`: ratios measured in one run on this machine —
 *   - `--help` and a full dry-run plan (the demo deploy dir) as whole processes, against `node -e 0`;
 *   with the loopback sandbox (root, scripts/sandbox.sh):
 *   - a deploy to converged (SKIP_BUILD, an image change on the fixture stack) against `docker stack deploy
 *     --detach=false` of the same change;
 *   - the time from a failed health check to the previous release serving again (verified);
 *   - SSH connections per deploy;
 *   with the three-node sandbox (scripts/multinode.sh): the same deploy through a swarm of three managers.
 * Prints a table; never fails on a number.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLI = path.join(ROOT, 'dist/cli.js');
const RUNS = Number(process.env.BENCH_RUNS ?? 11);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timed(argv: string[], env: NodeJS.ProcessEnv = process.env): number {
  const t = performance.now();
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd: ROOT, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
  return performance.now() - t;
}

// the demo deploy dir with a stack file of its own (docker's schema check runs for it)
const ownStack = fs.mkdtempSync(path.join(os.tmpdir(), 'hd-bench-own-'));
fs.cpSync(path.join(ROOT, 'examples/demo'), ownStack, { recursive: true });
fs.copyFileSync(path.join(ROOT, 'templates/swarm-stack.yml'), path.join(ownStack, 'swarm-stack.yml'));
fs.chmodSync(ownStack, 0o700);

const rows: string[][] = [];
const node: number[] = [];
const help: number[] = [];
const plan: number[] = [];
const planOwn: number[] = [];
const planArgs = (dir: string) => [process.execPath, CLI, 'plan', '--deploy-dir', dir, '--context', 'test/fixtures/app'];
try {
  for (let i = 0; i < RUNS; i++) {
    node.push(timed([process.execPath, '-e', '0']));
    help.push(timed([process.execPath, CLI, '--help']));
    plan.push(timed(planArgs('examples/demo')));
    planOwn.push(timed(planArgs(ownStack)));
  }
} finally {
  fs.rmSync(ownStack, { recursive: true, force: true });
}
const ratio = (xs: number[]) => `${(median(xs) / median(node)).toFixed(2)}×`;
rows.push(['node -e 0', `${median(node).toFixed(0)} ms`, '1.00×', '']);
rows.push(['honeydue-deploy --help', `${median(help).toFixed(0)} ms`, ratio(help), 'target ≤ 2.5×']);
rows.push(['honeydue-deploy plan (demo: packaged template, tag from git)', `${median(plan).toFixed(0)} ms`, ratio(plan), 'target ≤ 4×']);
rows.push(['honeydue-deploy plan (demo with its own swarm-stack.yml)', `${median(planOwn).toFixed(0)} ms`, ratio(planOwn), 'plus `docker stack config` of the rendered file']);

async function sandboxRows(): Promise<void> {
  const { sandboxIfAny, makeFixture, cleanup, acceptedLogins, runCli, startCli, currentId } = await import('../test/e2e/harness.js');
  const sandbox = sandboxIfAny();
  if (!sandbox) {
    rows.push(['deploy / docker stack deploy --detach=false', 'n/a', '', 'needs the sandbox (root, scripts/sandbox.sh)']);
    return;
  }
  const fx = makeFixture(sandbox, { stack: 'benchdeploy', apiPort: 18790 });
  try {
    for (const tag of ['b1', 'b2']) {
      const r = await runCli(fx, ['--context', fx.context, '--tag', tag, '--build-arg', `HEALTH=ok-${tag}`]);
      if (r.code !== 0) throw new Error(r.output);
    }
    // the tool: back to b1 (an image change), to converged, health-checked and recorded
    let t = performance.now();
    const logins = acceptedLogins(sandbox);
    const tool = await runCli(fx, ['--tag', 'b1'], { SKIP_BUILD: '1', SKIP_HEALTHCHECK: '1' });
    const toolMs = performance.now() - t;
    const sshPerDeploy = acceptedLogins(sandbox) - logins;
    if (tool.code !== 0) throw new Error(tool.output);
    // docker alone: the same change (b1 -> b2) from b2's release folder, waiting as docker does
    const b2 = fs.readdirSync(path.join(fx.remoteDirAbs, 'releases')).find((d) => d.startsWith('b2_'))!;
    t = performance.now();
    const raw = spawnSync('sh', ['-c', `cd '${path.join(fx.remoteDirAbs, 'releases', b2)}' && docker stack deploy --with-registry-auth --detach=false -c swarm-stack.yml ${fx.stack}`], { encoding: 'utf8', env: { ...process.env, DOCKER_CONFIG: fx.dockerConfig } });
    const rawMs = performance.now() - t;
    if (raw.status !== 0) throw new Error(raw.stderr);
    rows.push(['docker stack deploy --detach=false (image change)', `${(rawMs / 1000).toFixed(1)} s`, '1.00×', '']);
    rows.push(['honeydue-deploy, SKIP_BUILD (image change, to converged)', `${(toolMs / 1000).toFixed(1)} s`, `${(toolMs / rawMs).toFixed(2)}×`, 'login, lock, checks, secrets, convergence on every service']);
    // a release whose health check fails: from the failed check to the previous release serving again
    const run = startCli(fx, ['--context', fx.context, '--tag', 'bfail', '--build-arg', 'HEALTH=fail']);
    let failedAt = 0;
    await run.waitFor(/==> Health check/, 300_000);
    await run.waitFor(/==> Health check[\s\S]*FAILED/, 300_000).then(() => (failedAt = performance.now()));
    const r = await run.done;
    const back = performance.now() - failedAt;
    rows.push(['failed health check -> previous release serving (verified)', `${(back / 1000).toFixed(1)} s`, '', `exit ${r.code}; current ${currentId(fx.stack)}`]);
    rows.push(['SSH connections per deploy', String(sshPerDeploy), '', 'one per run (plus one per jump host)']);
  } finally {
    await cleanup(fx);
  }
}

/** A deploy through a three-manager swarm (scripts/multinode.sh, all three nodes managers), against docker alone. */
async function managersRow(): Promise<void> {
  const { sandboxIfAny, makeFixture, runCli, removeStore } = await import('../test/e2e/harness.js');
  const { readSandboxState } = await import('../test/fixtures/sandbox-deploy.js');
  const stateFile = path.join(process.env.HD_MN_DIR ?? '/var/lib/honeydue-multinode', 'multinode.env');
  const sandbox = sandboxIfAny();
  const state = sandbox && fs.existsSync(stateFile) ? readSandboxState(stateFile) : undefined;
  if (!sandbox || !state?.HD_MN_SSHD_HOMES) {
    rows.push(['deploy through three managers', 'n/a', '', 'needs the three-node sandbox (scripts/multinode.sh up)']);
    return;
  }
  const multinode = path.join(ROOT, 'scripts/multinode.sh');
  const node1 = state.HD_MN_NODES!.trim().split(/\s+/)[0]!.split(':')[2]!;
  const dk = (args: string[]) => spawnSync('docker', ['-H', `unix://${node1}`, ...args], { encoding: 'utf8' }).stdout;
  spawnSync('bash', [multinode, 'managers', '3'], { stdio: 'ignore' });
  const fx = makeFixture(sandbox, { stack: 'benchmgr', apiPort: 18792, registry: state.HD_MN_REGISTRY });
  const cluster = path.join(fx.deployDir, 'cluster.env');
  const managers = state.HD_MN_NODES!.trim().split(/\s+/).map((n) => `${n.split(':')[1]}:${state.HD_MN_SSH_PORT}`).join(',');
  fs.writeFileSync(cluster, fs.readFileSync(cluster, 'utf8').replace(/^DEPLOY_MANAGER_HOST=.*$/m, `DEPLOY_MANAGER_HOST=${managers}`).replace(/^DEPLOY_KNOWN_HOSTS=.*$/m, `DEPLOY_KNOWN_HOSTS=${state.HD_MN_ALL_KNOWN_HOSTS}`), { mode: 0o600 });
  const dockerCfg = fs.mkdtempSync(path.join(fx.root, 'raw-docker-'));
  try {
    for (const tag of ['m1', 'm2']) {
      const r = await runCli(fx, ['--context', fx.context, '--tag', tag], { SKIP_HEALTHCHECK: '1' });
      if (r.code !== 0) throw new Error(r.output);
    }
    let t = performance.now();
    const tool = await runCli(fx, ['--tag', 'm1'], { SKIP_BUILD: '1', SKIP_HEALTHCHECK: '1' });
    const toolMs = performance.now() - t;
    if (tool.code !== 0) throw new Error(tool.output);
    spawnSync('docker', ['--config', dockerCfg, 'login', state.HD_MN_REGISTRY!, '--username', sandbox.registryUser, '--password-stdin'], { input: sandbox.registryPassword });
    const folder = path.join(sandbox.userHome, fx.remoteDir, 'releases');
    const m2 = fs.readdirSync(folder).find((d) => d.startsWith('m2_'))!;
    t = performance.now();
    const raw = spawnSync('sh', ['-c', `cd '${path.join(folder, m2)}' && docker --config '${dockerCfg}' -H 'unix://${node1}' stack deploy --with-registry-auth --detach=false -c swarm-stack.yml ${fx.stack}`], { encoding: 'utf8' });
    const rawMs = performance.now() - t;
    if (raw.status !== 0) throw new Error(raw.stderr);
    rows.push(['three managers: docker stack deploy --detach=false (image change)', `${(rawMs / 1000).toFixed(1)} s`, '1.00×', '']);
    rows.push(['three managers: honeydue-deploy, SKIP_BUILD (image change, to converged)', `${(toolMs / 1000).toFixed(1)} s`, `${(toolMs / rawMs).toFixed(2)}×`, 'the state in swarm configs, read and written through the manager the run uses']);
  } finally {
    dk(['stack', 'rm', fx.stack]);
    for (let i = 0; i < 60 && dk(['network', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${fx.stack}`]).trim(); i++) await new Promise((r) => setTimeout(r, 1000));
    const secrets = dk(['secret', 'ls', '-q', '--filter', `label=com.honeydue.deploy.stack=${fx.stack}`]).split('\n').filter(Boolean);
    if (secrets.length) dk(['secret', 'rm', ...secrets]);
    removeStore(fx.stack, (args) => dk(args));
    for (const home of state.HD_MN_SSHD_HOMES.split(' ')) fs.rmSync(path.join(home, fx.remoteDir), { recursive: true, force: true });
    fs.rmSync(fx.root, { recursive: true, force: true });
    spawnSync('bash', [multinode, 'managers', '1'], { stdio: 'ignore' });
  }
}

await sandboxRows();
await managersRow();
const width = rows.reduce((w, r) => Math.max(w, r[0]!.length), 0);
console.log(`measured in one run on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}; medians of ${RUNS} runs for the process starts`);
console.log(`| what | time | ratio | note |`);
console.log(`|---|---|---|---|`);
for (const r of rows) console.log(`| ${r[0]!.padEnd(width)} | ${r[1]} | ${r[2]} | ${r[3]} |`);

