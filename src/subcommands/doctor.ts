/**
 * `honeydue-deploy doctor`: read-only checks of the cluster before a deploy, one line each — pass, warn, or fail
 * with what to do. Exit 1 if any fails. Nothing it does stays on the manager (the registry login happens in a
 * throwaway docker config that is removed at once).
 */
import { dockerRootDir, dockerServerVersion, freeDisk, inspectNodes, inspectStackNetworks, registryProbe, swarmInfo } from '../commands/docker.js';
import { checkRemoteDir } from '../commands/remote-files.js';
import { sharedFolderProblem } from '../steps/lock.js';
import { listSecrets } from '../commands/secrets.js';
import { inspectServices, stackServiceIds } from '../commands/stack.js';
import type { Flags } from '../config/settings.js';
import { ConfigError, EXIT, errorMessage } from '../errors.js';
import { exec, store, type Ctx } from '../steps/context.js';
import { ManagerSession } from '../io/ssh.js';
import { laptopSshProblems, sessionOptions, sshTargets } from '../steps/connect.js';
import { loadConfig } from '../config/index.js';
import { resolveSettings } from '../config/settings.js';
import { describeNode, parseNodes, usable } from '../steps/nodes-eval.js';
import { judgeServing, observeStack } from './status.js';
import { table } from '../ui/table.js';
import type { Reporter } from '../ui/reporter.js';
import { finalLine, type ActionResult } from '../result.js';
import { openCtx } from './session.js';
import { downtimeWarnings } from '../stack/downtime.js';
import { stackDoc } from '../stack/services.js';
import { REFERENCE_STANDIN } from '../secrets/references.js';
import { fetchAll, referenceProblems } from '../secrets/resolve.js';
import { LocalRunner } from '../io/local.js';
import type { Config } from '../config/index.js';
import { readReleases } from './records.js';

export type Level = 'pass' | 'warn' | 'fail';
export interface Check {
  level: Level;
  name: string;
  text: string;
}

const GiB = 1024 * 1024;

function lines(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter(Boolean);
}

interface PortJson {
  PublishedPort?: number;
  TargetPort?: number;
  PublishMode?: string;
}

/** Ports published where anyone on a node's network reaches them: Dozzle's never, an admin UI not on the mesh. */
export function publishedPortChecks(stack: string, servicesJson: string, dozzlePort: number): Check[] {
  const checks: Check[] = [];
  for (const line of lines(servicesJson)) {
    const s = JSON.parse(line) as { Spec?: { Name?: string }; Endpoint?: { Ports?: PortJson[] } };
    const name = (s.Spec?.Name ?? '?').slice(stack.length + 1);
    for (const p of s.Endpoint?.Ports ?? []) {
      const where = `${name} publishes ${p.PublishedPort} (${p.PublishMode ?? 'ingress'} mode) on all interfaces`;
      if (p.PublishedPort === dozzlePort || name === 'dozzle') {
        checks.push({ level: 'fail', name: 'published ports', text: `${where}: Dozzle shows every log line without authentication — remove the port; Dozzle listens on the manager's 127.0.0.1 and is reached with \`honeydue-deploy dozzle\`` });
      } else if (name === 'admin' && p.PublishMode !== 'host') {
        checks.push({ level: 'fail', name: 'published ports', text: `${where}: the ingress mesh answers on every node and bypasses host firewalls — publish it in mode: host (or not at all) and restrict it at the cloud firewall` });
      } else if (name === 'admin') {
        checks.push({ level: 'warn', name: 'published ports', text: `${where} of the node that runs it — restrict ${p.PublishedPort} to your IP at the cloud firewall (docker's rules bypass ufw)` });
      }
    }
  }
  return checks.length ? checks : [{ level: 'pass', name: 'published ports', text: 'no service publishes the Dozzle port or an admin port on the ingress mesh' }];
}

async function run(ctx: Ctx): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (level: Level, name: string, text: string): void => {
    checks.push({ level, name, text });
  };
  const attempt = async (name: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      add('fail', name, errorMessage(e));
    }
  };
  const stack = ctx.release.stackName;
  const c = ctx.cfg.cluster;

  await attempt('docker', async () => {
    const v = await exec(ctx, dockerServerVersion());
    if (v.exitCode !== 0) return add('fail', 'docker', `docker does not answer on the manager as ${ctx.session!.target.username}: ${v.stderr.trim().split('\n').pop()} — install docker and add the user to the docker group`);
    add('pass', 'docker', `docker ${v.stdout.trim()} on the manager`);
  });
  await attempt('swarm', async () => {
    const info = JSON.parse((await exec(ctx, swarmInfo())).stdout || '{}') as { LocalNodeState?: string; ControlAvailable?: boolean };
    if (info.LocalNodeState !== 'active') return add('fail', 'swarm', `the manager is not in a swarm (${info.LocalNodeState ?? 'unknown'}) — run docker swarm init there`);
    if (!info.ControlAvailable) return add('fail', 'swarm', 'the node is a swarm worker — point DEPLOY_MANAGER_HOST at a manager');
    add('pass', 'swarm', 'an active swarm manager');
  });
  await attempt('nodes', async () => {
    const nodes = parseNodes((await exec(ctx, inspectNodes())).stdout);
    const bad = nodes.filter((n) => !usable(n));
    if (bad.length) add('warn', 'nodes', `${bad.map((n) => `${describeNode(n)} is ${n.state}/${n.availability}`).join('; ')} — no task is placed there`);
    else add('pass', 'nodes', `${nodes.length} node(s), all Ready and Active`);
    const managers = nodes.filter((n) => n.role === 'manager');
    const reachable = managers.filter((n) => n.reachability === 'reachable' || n.reachability === undefined).length;
    if (reachable <= managers.length / 2) add('fail', 'quorum', `${reachable} of ${managers.length} managers reachable: the swarm has lost its quorum — bring managers back (see docker's swarm recovery docs)`);
    else if (managers.length % 2 === 0) add('warn', 'quorum', `${managers.length} managers: an even number adds no fault tolerance — use 1, 3 or 5`);
    else add('pass', 'quorum', `${reachable} of ${managers.length} manager(s) reachable${managers.length === 1 ? ' (a single manager: no manager redundancy)' : ''}`);
  });
  await attempt('serving', async () => {
    const current = (await readReleases(ctx)).find((r) => r.current);
    if (!current) return add('warn', 'serving', `no known-good release of ${stack} is recorded yet`);
    const { judged, converged, degraded } = judgeServing(stack, await observeStack(ctx), current);
    if (!converged) add('warn', 'serving', `not converged on the known-good release ${current.deployId}: ${judged.filter((j) => j.status !== 'converged').map((j) => j.text).join('; ')}`);
    else if (degraded) add('warn', 'serving', `degraded: the known-good release ${current.deployId} serves ${degraded}`);
    else add('pass', 'serving', `every service runs the known-good release ${current.deployId}`);
  });
  await attempt('listed managers', async () => {
    const session = ctx.session!;
    if (session.targets.length < 2) return;
    for (const t of session.targets) {
      if (t === session.target) {
        add('pass', 'listed managers', `${session.describe(t)}: connected (a manager of a swarm with quorum)`);
        continue;
      }
      const other = await ManagerSession.connect(t, sessionOptions(ctx.cfg, ctx.settings)).catch((e: unknown) => errorMessage(e));
      if (typeof other === 'string') add('fail', 'listed managers', `${session.describe(t)}: ${other} — a run cannot go on through it if the connected manager is lost`);
      else {
        other.close();
        add('pass', 'listed managers', `${session.describe(t)}: reachable, a manager of a swarm with quorum`);
      }
    }
  });
  await attempt('overlay network', async () => {
    const nets = lines((await exec(ctx, inspectStackNetworks(stack))).stdout).map((l) => JSON.parse(l) as { Name?: string; Driver?: string; Options?: Record<string, string> });
    const overlays = nets.filter((n) => n.Driver === 'overlay');
    if (!overlays.length) return add('warn', 'overlay network', `the stack ${stack} has no overlay network yet (not deployed)`);
    const plain = overlays.filter((n) => n.Options?.encrypted === undefined);
    if (plain.length) add('fail', 'overlay network', `${plain.map((n) => n.Name).join(', ')} not encrypted — set driver_opts: encrypted: "true" in the stack file; the network must be recreated (docker stack rm, then deploy)`);
    else add('pass', 'overlay network', `${overlays.map((n) => n.Name).join(', ')} encrypted`);
  });
  await attempt('published ports', async () => {
    const ids = lines((await exec(ctx, stackServiceIds(stack))).stdout);
    checks.push(...(ids.length ? publishedPortChecks(stack, (await exec(ctx, inspectServices(ids))).stdout, c.DOZZLE_PORT) : [{ level: 'warn' as const, name: 'published ports', text: `the stack ${stack} is not deployed` }]));
  });
  await attempt('remote dir', async () => {
    const r = await exec(ctx, checkRemoteDir(ctx.release.remoteDir, stack, { fix: false }));
    if (r.exitCode === 4) add('fail', 'remote dir', sharedFolderProblem(ctx.release.remoteDir, stack, r.stdout.trim()));
    else if (r.exitCode !== 0) add('fail', 'remote dir', `${ctx.release.remoteDir} ${r.stdout.trim()} — it must be a folder of the deploy user's own that nobody else can write to`);
    else add('pass', 'remote dir', `${ctx.release.remoteDir} is the deploy user's and writable`);
  });
  await attempt('disk', async () => {
    const root = (await exec(ctx, dockerRootDir())).stdout.trim() || '/';
    const df = lines((await exec(ctx, freeDisk(root))).stdout).pop()?.split(/\s+/);
    const freeKb = Number(df?.[3]);
    if (!Number.isFinite(freeKb)) return add('warn', 'disk', `could not read the free space of ${root}`);
    const text = `${(freeKb / GiB).toFixed(1)} GiB free where docker keeps images (${root})`;
    add(freeKb < GiB ? 'fail' : freeKb < 5 * GiB ? 'warn' : 'pass', 'disk', freeKb < 5 * GiB ? `${text} — prune old images (docker image prune -a) or grow the disk` : text);
  });
  const releases = await readReleases(ctx).catch(() => []);
  const current = releases.find((r) => r.current);
  await attempt('registry', async () => {
    const r = ctx.cfg.registry;
    if (r.REGISTRY_TOKEN === REFERENCE_STANDIN) return add('warn', 'registry', 'not checked: REGISTRY_TOKEN comes from secrets.env and did not resolve (see the secret source check)');
    const images = current ? Object.values(current.images ?? {}) : [];
    const probe = await exec(ctx, registryProbe(r.REGISTRY, r.REGISTRY_USERNAME, r.REGISTRY_TOKEN, images));
    if (probe.exitCode === 2) return add('fail', 'registry', `the manager cannot log in to ${r.REGISTRY}: ${ctx.reporter.redactor.redact(probe.stdout.trim())} — check registry.env and the manager's access to the registry`);
    add('pass', 'registry', `the manager logs in to ${r.REGISTRY}`);
    const missing = lines(probe.stdout).filter((l) => l.startsWith('missing ')).map((l) => l.slice(8));
    if (current) add(missing.length ? 'fail' : 'pass', 'release images', missing.length ? `${current.deployId} needs ${missing.join(', ')}, no longer in the registry — a rollback to it would fail; deploy a new release` : `every image of ${current.deployId} is in the registry`);
  });
  await attempt('release secrets', async () => {
    if (!current) return add('warn', 'release secrets', 'no known-good release recorded yet');
    const have = new Set(lines((await exec(ctx, listSecrets())).stdout).map((l) => l.split('\t')[0]!));
    const missing = Object.values(current.secretNames).filter((n) => !have.has(n));
    if (missing.length) add('fail', 'release secrets', `${current.deployId} uses ${missing.join(', ')}, which no longer exist — its tasks cannot restart; deploy a new release (it creates fresh secrets)`);
    else add('pass', 'release secrets', `every secret of ${current.deployId} exists`);
  });
  await attempt('downtime', async () => {
    if (!current?.stackFile) return;
    const warnings = downtimeWarnings(stackDoc(current.stackFile), stack);
    if (!warnings.length) return add('pass', 'downtime', `the serving release ${current.deployId} updates without a gap in answers`);
    for (const w of warnings) add('warn', 'downtime', w);
  });
  await attempt('lock', async () => {
    const owner = await store(ctx).inspectLock();
    if (owner) add('warn', 'lock', `held by ${owner} — a deploy runs now, or died: honeydue-deploy unlock --force after checking`);
    else add('pass', 'lock', 'free');
  });
  return checks;
}

/** What doctor checks on this machine, before and whatever the manager answers: the laptop's side of SSH. */
/**
 * The checks of this machine: the configuration by the deploy's own validation (a prod.env a deploy would refuse
 * fails here too), every secrets.env reference fetched (nothing of a value is printed), the laptop's side of SSH.
 */
async function localChecks(flags: Flags, env: NodeJS.ProcessEnv, reporter: Reporter): Promise<Check[]> {
  const settings = resolveSettings(
    { deployDir: flags.deployDir, ageIdentity: flags.ageIdentity, secretTimeout: flags.secretTimeout },
    { HONEYDUE_DEPLOY_DIR: env.HONEYDUE_DEPLOY_DIR, DEPLOY_AGE_IDENTITY: env.DEPLOY_AGE_IDENTITY, DEPLOY_SECRET_TIMEOUT: env.DEPLOY_SECRET_TIMEOUT, HOME: env.HOME },
  );
  const checks: Check[] = [];
  let full: Config | undefined;
  try {
    full = loadConfig(settings.deployDir, env, { ageIdentity: settings.ageIdentity });
    checks.push({ level: 'pass', name: 'config', text: `${settings.deployDir}: cluster.env, registry.env, prod.env, secrets.env and the secret files pass the deploy's own validation` });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    checks.push(...e.problems.map((p) => ({ level: 'fail' as const, name: 'config', text: `${p} (a deploy stops here)` })));
  }
  // the rest needs only what a read-only command needs; a config even that cannot read stops doctor (exit 2)
  const cfg = full ?? loadConfig(settings.deployDir, env, { readOnly: true, ageIdentity: settings.ageIdentity });
  const local = new LocalRunner();
  const sources = await Promise.all(
    cfg.references.map(async (ref): Promise<Check> => {
      const missing = referenceProblems([ref], env, settings.ageIdentity);
      if (missing.length) return { level: 'fail', name: 'secret source', text: missing.join('; ') };
      try {
        await fetchAll([ref], { local, timeoutSeconds: settings.secretTimeoutSeconds, redactor: reporter.redactor });
        return { level: 'pass', name: 'secret source', text: `${ref.name}: ${ref.ref} resolves` };
      } catch (e) {
        return { level: 'fail', name: 'secret source', text: e instanceof ConfigError ? e.problems.join('; ') : errorMessage(e) };
      }
    }),
  );
  checks.push(...sources);
  const problems = laptopSshProblems(sshTargets({ cfg }));
  checks.push(...(problems.length ? problems.map((p) => ({ level: 'fail' as const, name: 'laptop ssh', text: p })) : [{ level: 'pass' as const, name: 'laptop ssh', text: 'every host key is in known_hosts; a key to log in with is at hand' }]));
  return checks;
}

export async function doctorAction(flags: Flags, env: NodeJS.ProcessEnv, reporter: Reporter): Promise<ActionResult> {
  let checks: Check[] = await localChecks(flags, env, reporter);
  let ctx: Ctx | undefined;
  try {
    ctx = await openCtx(flags, env, reporter, 'doctor', { fetchSecrets: 'try' });
    const t = ctx.session!.target;
    checks = [...checks, { level: 'pass', name: 'ssh', text: `connected to ${t.username}@${t.host}:${t.port}${t.jumps.length ? ` via ${t.jumps.length} jump host(s)` : ''}; host key verified` }, ...(await run(ctx))];
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    // the local checks above still stand: an unreachable manager is one failed check (exit 1), not the end
    checks = [...checks, { level: 'fail', name: 'ssh', text: errorMessage(e) }];
  } finally {
    ctx?.session?.close();
  }
  if (flags.json) process.stdout.write(`${reporter.redactor.redact(JSON.stringify(checks, null, 2))}\n`);
  else for (const l of table(checks.map((c) => [c.level, c.name, c.text]))) reporter.line(l);
  const failed = checks.filter((c) => c.level === 'fail').length;
  const warned = checks.filter((c) => c.level === 'warn').length;
  const code = failed ? EXIT.rolledBack : EXIT.ok;
  return { exitCode: code, finalLine: finalLine(code, `${checks.length} checks: ${failed} failed, ${warned} warnings; nothing was changed`, failed ? 'checks failed' : 'ok') };
}

