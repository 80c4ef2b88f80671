import { byHand, shellLine } from '../commands/command.js';
import { registryLogin, registryLogout } from '../commands/docker.js';
import { inspectServices, restoreServiceSpec, serviceRemove, serviceRollback, serviceScaleToZero, serviceTaskStates, stackDeploy, stackPs, stackServiceIds } from '../commands/stack.js';
import type { StepHandle } from '../ui/reporter.js';
import { cmd, exec, execChecked, note, type Ctx, type StepPlan } from './context.js';
import { normalizeImage, parseServices } from './converge-eval.js';
import { degradedText, intendedImages, waitForConvergence } from './converge.js';
import { check as healthCheck, skippedBecause } from './health.js';
import { deployStack } from './stack-deploy.js';
import { materialize } from './upload.js';
import { startWatch, stopWatch } from './watch.js';
import type { ServiceJudgement } from './converge-eval.js';
import { describeNode } from './nodes-eval.js';

export interface RollbackResult {
  restored: boolean;
  /** what is serving now, in words */
  serving: string;
  how: string;
  /** exact commands for a person when not restored */
  manual: string[];
  /** the wait was skipped by a second signal */
  notAwaited?: boolean;
  /** the first deploy failed: nothing served before and nothing serves now */
  nothingBefore?: boolean;
  /** restored on fewer replicas because nodes are down: what runs, and what the operator must do */
  degraded?: string;
}

export function plan(ctx: Pick<Ctx, 'release'>): StepPlan {
  const { stackName, remoteDir } = ctx.release;
  return {
    title: 'On a failure after the stack deploy started: roll back',
    entries: [
      note('to the known-good release: write its recorded stack file and prod.env (from its record in the swarm) into its folder on the connected manager, redeploy it (its images and secret names), then wait for convergence on its images and check its health:'),
      cmd(stackDeploy(stackName, `${remoteDir}/releases/<known-good deploy id>`, { prune: true })),
      note('no known-good release recorded: every service goes back to the spec it had before this run touched the stack — by docker service rollback while its PreviousSpec is that spec, else that spec is put back:'),
      cmd(serviceRollback(`${stackName}_<service>`)),
      cmd(restoreServiceSpec(`${stackName}_<service>`, '')),
      cmd(serviceScaleToZero(`${stackName}_<service created by this run>`)),
      cmd(serviceTaskStates(`${stackName}_<service created by this run>`)),
      cmd(serviceRemove(`${stackName}_<service created by this run>`)),
      note('services this run created are stopped on every node, then removed (the state before the deploy); services swarm already rolled back are left'),
      note('exit 1 when the previous release serves again; exit 3 with the exact commands to run when it does not'),
    ],
  };
}

/**
 * The redeploy a person runs when the tool could not, two ways that work as printed: the tool's own rollback from
 * the laptop (it logs in, writes the folder from the record, verifies), or by hand on the manager — logged in first
 * (--with-registry-auth needs it; the run's own login is gone with its cleanup), the same command values the tool
 * runs, logged out after.
 */
export function manualRedeploy(ctx: Pick<Ctx, 'release' | 'cfg'> & { session?: Ctx['session'] }, deployId: string): string[] {
  const registry = ctx.cfg.registry.REGISTRY;
  const where = ctx.session ? ` ${ctx.session.describe()}` : '';
  const login = registryLogin('manager', registry, ctx.cfg.registry.REGISTRY_USERNAME, '');
  return [
    `honeydue-deploy rollback ${deployId}   # from this laptop: logs in, writes its folder from the record, redeploys and verifies it; or on the manager${where}:`,
    `${shellLine(login.argv.filter((a) => a !== '--password-stdin'))}   # asks for the token (registry.env REGISTRY_TOKEN)`,
    byHand(stackDeploy(ctx.release.stackName, `${ctx.release.remoteDir}/releases/${deployId}`, { prune: true })),
    `${byHand(stackPs(ctx.release.stackName))}   # until every task runs the ${deployId} images`,
    byHand(registryLogout('manager', registry)),
  ];
}

async function toKnownGood(ctx: Ctx, handle: StepHandle): Promise<RollbackResult> {
  const prev = ctx.state.previous!;
  const how = `redeployed the known-good release ${prev.deployId} (tag ${prev.tag})`;
  const fail = (why: string): RollbackResult => ({ restored: false, serving: `unknown: ${why}`, how, manual: manualRedeploy(ctx, prev.deployId) });
  // its folder from the swarm's record: the manager the run is on now may never have had it
  await materialize(ctx, prev);
  // what users see while the previous release comes back is counted too
  await startWatch(ctx, 'rollback', prev.healthUrl ?? ctx.release.healthUrl);
  const r = await deployStack(ctx, stackDeploy(ctx.release.stackName, `${ctx.release.remoteDir}/releases/${prev.deployId}`, { prune: true }));
  if (r.exitCode !== 0) return fail(`redeploying ${prev.deployId} failed: ${ctx.reporter.redactor.redact(r.stderr.trim().split('\n').pop() ?? '')}`);
  const outcome = await waitForConvergence(ctx, {
    intended: intendedImages(ctx.release.stackName, prev.serviceImages),
    timeoutSeconds: ctx.cfg.cluster.DEPLOY_CONVERGE_TIMEOUT,
    handle,
    stop: () => ctx.interrupt.hurried,
    rollingBack: true,
  }).finally(() => stopWatch(ctx));
  if (outcome.kind === 'stopped') {
    return { ...fail('the rollback was started but not awaited (second signal)'), notAwaited: true };
  }
  if (outcome.kind !== 'converged') return fail(`the previous release did not converge: ${outcome.why}`);
  if (!skippedBecause(ctx)) {
    const health = await healthCheck(ctx, handle, prev.healthExpect ?? undefined, () => ctx.interrupt.hurried, prev.healthUrl ?? undefined);
    if (!health.ok) return fail(`the previous release converged but its health check failed: ${health.detail}`);
  }
  return { restored: true, serving: `the previous release ${prev.deployId} (tag ${prev.tag})`, how, manual: [], degraded: degradedText(ctx, outcome.degraded) };
}

/** A task state in which its container may still run (and answer). */
const ALIVE = /^(New|Allocated|Pending|Assigned|Accepted|Preparing|Ready|Starting|Running)\b/;

/**
 * Removes a service this run created — only once its tasks have really stopped on every node (scaled to 0 and
 * watched through the manager), so that "no release is serving" is true when it is said. Returns false when
 * the tasks did not stop within the convergence timeout.
 */
async function removeCreated(ctx: Ctx, service: string, handle: StepHandle): Promise<boolean> {
  const scaled = await exec(ctx, serviceScaleToZero(service));
  if (scaled.exitCode === 0) {
    const deadline = Date.now() + ctx.cfg.cluster.DEPLOY_CONVERGE_TIMEOUT * 1000;
    for (;;) {
      const states = await exec(ctx, serviceTaskStates(service));
      const alive = states.stdout.split('\n').filter((l) => ALIVE.test(l.trim())).length;
      if (states.exitCode !== 0 || alive === 0) break;
      handle.progress(`${service}: waiting for ${alive} task(s) to stop`);
      if (Date.now() >= deadline || ctx.interrupt.hurried) return false;
      await ctx.interrupt.sleep(500);
    }
  }
  return (await exec(ctx, serviceRemove(service))).exitCode === 0;
}

/** A JSON text in one canonical form (keys sorted), so that two reads of one spec compare equal. */
export function canonicalJson(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const sort = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sort) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])])) : v;
  return JSON.stringify(sort(JSON.parse(text)));
}

/** How a service that existed before this run goes back to the spec it had then. */
export type BackTo = 'unchanged' | 'docker service rollback' | 'the spec before this run';

/**
 * What served before this run touched the stack is the spec read before its first `stack deploy`. `docker service
 * rollback` goes to PreviousSpec, which swarm sets on every update: after a second `stack deploy` in one run (a retry,
 * a resumed run) it is the new spec, so the rollback is used only when PreviousSpec is that spec; otherwise the spec
 * itself is put back.
 */
export function howBack(before: string | undefined, spec: string | undefined, previous: string | undefined): BackTo {
  const b = canonicalJson(before);
  if (b === undefined || b === canonicalJson(spec)) return 'unchanged';
  return previous !== undefined && storedAs(JSON.parse(previous), JSON.parse(before!)) ? 'docker service rollback' : 'the spec before this run';
}

/**
 * Whether `stored` (a PreviousSpec, as swarm keeps it) is the spec `shown` (read with `docker service inspect`,
 * which fills in the defaults — UpdateConfig, RestartPolicy, StopGracePeriod, … — that swarm does not store): every
 * value stored is the value shown; what only the shown spec has is a default filled in for display.
 */
export function storedAs(stored: unknown, shown: unknown): boolean {
  if (Array.isArray(stored)) return Array.isArray(shown) && stored.length === shown.length && stored.every((v, i) => storedAs(v, shown[i]));
  if (stored && typeof stored === 'object') {
    if (!shown || typeof shown !== 'object' || Array.isArray(shown)) return false;
    return Object.entries(stored as Record<string, unknown>).every(([k, v]) => storedAs(v, (shown as Record<string, unknown>)[k]));
  }
  return stored === shown;
}

/** The image a spec runs, as convergence compares it. */
function imageOf(specJson: string): string {
  return normalizeImage((JSON.parse(specJson) as { TaskTemplate?: { ContainerSpec?: { Image?: string } } }).TaskTemplate?.ContainerSpec?.Image ?? '');
}

/** No known-good release: undo this run's stack deploy service by service, back to what served before it. */
async function perService(ctx: Ctx, handle: StepHandle): Promise<RollbackResult> {
  const stack = ctx.release.stackName;
  const ids = (await execChecked(ctx, stackServiceIds(stack), 'listing the stack services')).stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  const raw = ids.length ? (await execChecked(ctx, inspectServices(ids), 'inspecting services')).stdout : '';
  const services = parseServices(raw);
  const specs = new Map(raw.split('\n').filter((l) => l.trim().startsWith('{')).map((l) => {
    const o = JSON.parse(l) as { Spec?: { Name?: string }; PreviousSpec?: unknown };
    return [o.Spec?.Name ?? '?', { spec: JSON.stringify(o.Spec), previous: o.PreviousSpec === undefined || o.PreviousSpec === null ? undefined : JSON.stringify(o.PreviousSpec) }] as const;
  }));
  const intended: Record<string, string> = {};
  const actions: string[] = [];
  const manual: string[] = [];
  for (const s of services) {
    if (!ctx.state.servicesBefore.has(s.name)) {
      const removed = await removeCreated(ctx, s.name, handle);
      actions.push(removed ? `${s.name}: removed (created by this run; its tasks stopped)` : `${s.name}: could not be removed, or its tasks did not stop`);
      if (!removed) manual.push(byHand(serviceRemove(s.name)));
      continue;
    }
    const before = ctx.state.specsBefore.get(s.name);
    const now = specs.get(s.name);
    const way = before ? howBack(before, now?.spec, now?.previous) : s.previousSpecImage ? 'docker service rollback' : 'unchanged';
    if (way === 'unchanged') {
      actions.push(s.updateState === 'rollback_completed' ? `${s.name}: already rolled back by swarm` : `${s.name}: unchanged by this run`);
      intended[s.name] = s.specImage;
    } else if (way === 'docker service rollback') {
      const r = await exec(ctx, serviceRollback(s.name));
      actions.push(r.exitCode === 0 ? `${s.name}: docker service rollback to ${s.previousSpecImage}` : `${s.name}: docker service rollback failed`);
      if (r.exitCode === 0) intended[s.name] = s.previousSpecImage!;
      else manual.push(byHand(serviceRollback(s.name)));
    } else {
      const r = await exec(ctx, restoreServiceSpec(s.name, before!));
      actions.push(r.exitCode === 0 ? `${s.name}: put back on the spec it had before this run (${imageOf(before!)}): its PreviousSpec is this run's own` : `${s.name}: the spec it had before this run could not be put back (${ctx.reporter.redactor.redact(r.stderr.trim().split('\n').pop() ?? '')})`);
      if (r.exitCode === 0) intended[s.name] = imageOf(before!);
      else manual.push(`${s.name}: redeploy the release that served before (\`honeydue-deploy rollback DEPLOY_ID\`, or its stack file with \`docker stack deploy\`)`);
    }
  }
  for (const a of actions) ctx.reporter.info(a);
  const firstDeploy = ctx.state.servicesBefore.size === 0;
  const how = firstDeploy
    ? 'first deploy: no previous release exists; removed the services this run created'
    : 'no known-good release recorded: put every service of the stack back on the spec it had before this run';
  if (manual.length) return { restored: false, serving: 'unknown: some services could not be rolled back', how, manual };
  if (Object.keys(intended).length) {
    const outcome = await waitForConvergence(ctx, { intended, timeoutSeconds: ctx.cfg.cluster.DEPLOY_CONVERGE_TIMEOUT, handle, stop: () => ctx.interrupt.hurried, rollingBack: true });
    if (outcome.kind === 'stopped') return { restored: false, serving: 'unknown: the rollback was started but not awaited (second signal)', how, manual: [byHand(stackPs(stack))], notAwaited: true };
    if (outcome.kind !== 'converged') return { restored: false, serving: `unknown: ${outcome.why}`, how, manual: Object.keys(intended).map((n) => byHand(serviceRollback(n))) };
  }
  return { restored: true, serving: firstDeploy ? 'nothing' : 'what served before this run (each service\'s spec from before it)', how, manual: [], nothingBefore: firstDeploy };
}

export async function run(ctx: Ctx, handle: StepHandle): Promise<RollbackResult> {
  return ctx.state.previous ? toKnownGood(ctx, handle) : perService(ctx, handle);
}
