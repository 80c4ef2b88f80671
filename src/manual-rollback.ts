/**
 * `honeydue-deploy rollback`: go back to the known-good release before the current one by redeploying its
 * recorded stack file (its images, its secret names), then verify convergence and health. If that fails, the
 * release that was serving is redeployed. Same lock, logout and audit as a deploy.
 */
import { stackDeploy } from './commands/stack.js';
import type { Config } from './config/index.js';
import type { Settings } from './config/settings.js';
import { ConfigError, ConnectionLost, Interrupted, PreflightError, errorMessage } from './errors.js';
import { closeRun, failover, summarize, type Summary } from './lifecycle.js';
import * as hooks from './steps/hooks.js';
import { NO_FACTS, type Facts } from './outcome.js';
import { Interrupt } from './interrupt.js';
import { expandReleaseVars, operationRelease } from './release.js';
import * as connect from './steps/connect.js';
import { RunState, cmd, exec, execChecked, note, showEntry, store, upload, type Ctx, type KnownGoodRelease, type StepPlan } from './steps/context.js';
import { createObject, objectName, readObjects } from './commands/store.js';
import { observeStack } from './commands/stack.js';
import { folderUploads, materialize } from './steps/upload.js';
import { degradedText, intendedImages, readCluster, waitForConvergence } from './steps/converge.js';
import * as health from './steps/health.js';
import { startWatch, stopWatch } from './steps/watch.js';
import * as lock from './steps/lock.js';
import * as login from './steps/login.js';
import * as releases from './steps/releases.js';
import * as rollback from './steps/rollback.js';
import { deployStack } from './steps/stack-deploy.js';
import { manifestInspect } from './commands/docker.js';
import { listSecrets } from './commands/secrets.js';
import type { LocalRunner } from './io/local.js';
import type { Reporter } from './ui/reporter.js';

/**
 * What a release needs to be restored, checked on the manager before anything changes: its images still in the
 * registry (with the run's login) and its versioned secrets not pruned. Returns the missing pieces.
 */
async function missingFor(ctx: Ctx, record: { images?: Record<string, string>; secretNames: Record<string, string> }): Promise<string[]> {
  const missing: string[] = [];
  const secrets = new Set((await execChecked(ctx, listSecrets(), 'listing secrets')).stdout.split('\n').map((l) => l.split('\t')[0]!.trim()));
  for (const name of Object.values(record.secretNames)) if (!secrets.has(name)) missing.push(`secret ${name} (pruned)`);
  for (const image of Object.values(record.images ?? {})) {
    // the same registry check the laptop runs before a deploy, run on the manager with the run's own login
    const r = await exec(ctx, manifestInspect(image, ctx.cfg.registry.REGISTRY, 'manager'));
    if (r.exitCode !== 0) missing.push(`image ${image} (not in the registry: ${ctx.reporter.redactor.redact(r.stderr.trim().split('\n').pop() ?? '')})`);
  }
  return missing;
}

/**
 * The rollback's own plan, from the same command values the run uses: the target is only known once connected,
 * so it shows as <target deploy id>. A dry run prints it and connects to nothing.
 */
export function rollbackPlan(ctx: Pick<Ctx, 'cfg' | 'release' | 'settings'>, targetId?: string): { before: StepPlan[]; onFailure: StepPlan[]; always: StepPlan[] } {
  const { release, cfg } = ctx;
  const target = targetId ?? '<the known-good release before the current one>';
  const folder = `${release.remoteDir}/releases/${targetId ?? '<target deploy id>'}`;
  const s = release.stackName;
  const loginSteps = login.plan(ctx as Ctx).entries.filter((e) => !(e.kind === 'command' && e.command.where === 'local') && !(e.kind === 'note' && /^laptop/.test(e.text)));
  return {
    before: [
      connect.plan(ctx),
      lock.plan(ctx),
      { title: `Choose the release: ${target}`, entries: [cmd(readObjects(s, 'mark')), cmd(readObjects(s, 'release')), note(targetId ? 'it must be a recorded release; the current one is redeployed as it was' : 'the newest known-good release older than the current one (the deploys\' marks, in order)')] },
      ...[hooks.plan(ctx, 'pre-rollback')].filter((p) => p.entries.length),
      { title: 'Log in to the registry on the manager', entries: loginSteps },
      {
        title: 'Check that it can be restored',
        entries: [cmd(listSecrets()), cmd(manifestInspect('<each image of the release>', cfg.registry.REGISTRY, 'manager')), note('its secrets must still exist and its images still be in the registry: otherwise exit 2, nothing changed')],
      },
      {
        title: 'Write its folder from its record and redeploy it',
        entries: [
          ...folderUploads(release.remoteDir, { deployId: targetId ?? '<target deploy id>', stackFile: '<its recorded stack file>', envFile: '<its recorded prod.env>' }).map(upload),
          cmd(stackDeploy(s, folder, { prune: true })),
        ],
      },
      {
        title: 'Wait for convergence',
        entries: [
          cmd(observeStack(s)),
          note(`on its images, for at most DEPLOY_CONVERGE_TIMEOUT=${cfg.cluster.DEPLOY_CONVERGE_TIMEOUT}s`),
          note(ctx.settings.skipHealthcheck || cfg.cluster.DEPLOY_WATCH_RATE === 0 ? 'the health URL is not watched meanwhile' : `from its redeploy until then, its health URL is asked ${cfg.cluster.DEPLOY_WATCH_RATE} time(s) a second (DEPLOY_WATCH_RATE): the summary says "during the rollback: F of N requests to the health URL failed (longest gap S s)"`),
        ],
      },
      { title: 'Health check', entries: [note(ctx.settings.skipHealthcheck ? 'skipped (SKIP_HEALTHCHECK)' : cfg.cluster.DEPLOY_HEALTHCHECK_URL ? `${cfg.cluster.DEPLOY_HEALTHCHECK_URL} with the release's own expectation` : 'none (DEPLOY_HEALTHCHECK_URL is not set)')] },
      { title: 'Make it current', entries: [cmd(createObject(s, 'mark', objectName(s, 'mark', '<time>'), 'known-good mark (rollback)', '', targetId ?? '<target deploy id>'))] },
    ],
    onFailure: [{ title: 'If the redeploy fails: restore the release that was serving', entries: rollback.plan(ctx).entries }],
    always: [login.logoutPlan(ctx), lock.auditPlan(ctx), lock.releasePlan(ctx), hooks.plan(ctx, 'post-rollback')].filter((p) => p.entries.length),
  };
}

export function printRollbackPlan(ctx: Pick<Ctx, 'cfg' | 'release' | 'settings'>, targetId: string | undefined, print: (line: string) => void): void {
  const plan = rollbackPlan(ctx, targetId);
  print(`DRY RUN — the plan for rolling back ${ctx.release.stackName}${targetId ? ` to ${targetId}` : ''}. Nothing is connected to or changed.`);
  let n = 1;
  const section = (title: string, list: StepPlan[]) => {
    print('');
    print(title);
    for (const st of list) {
      print(`${String(n++).padStart(2)}. ${st.title}`);
      for (const e of st.entries) print(`      ${showEntry(e)}`);
    }
  };
  section('Steps:', plan.before);
  section('If the redeploy fails or the run is interrupted:', plan.onFailure);
  section('Always, at the end:', plan.always);
}

export async function runRollback(cfg: Config, settings: Settings, reporter: Reporter, local: LocalRunner, interrupt = new Interrupt(), targetId?: string): Promise<Summary & { to?: string }> {
  const now = new Date();
  const release = operationRelease(cfg, now, 'rollback');
  const ctx: Ctx = { cfg, settings, release, reporter, local, interrupt, state: new RunState() };
  const started = Date.now();
  let summary: Summary;
  let facts: Facts = NO_FACTS;
  let from: string | undefined;
  let to: KnownGoodRelease | undefined;
  try {
    await reporter.step('Connect to a manager', () => connect.run(ctx));
    await reporter.step('Take the deploy lock', () => lock.acquire(ctx));
    const current = await releases.readKnownGood(ctx);
    if (!current) throw new PreflightError('no known-good release is recorded in the swarm — nothing to roll back from (deploy first)');
    from = current.deployId;
    const [state, records] = await Promise.all([store(ctx).readState(), store(ctx).listReleases()]);
    const available = new Set(records.map((r) => r.deployId));
    const chosen = targetId ?? releases.rollbackTarget(state.history, current.deployId, available);
    if (!chosen) throw new PreflightError(`no earlier known-good release of ${release.stackName} is recorded — nothing to roll back to (current: ${current.deployId})`);
    to = available.has(chosen) ? await releases.readReleaseRecord(ctx, chosen) : undefined;
    if (!to) throw new PreflightError(`command line: DEPLOY_ID: ${chosen} is not a recorded release — \`honeydue-deploy releases\` lists the ones that can be rolled back to`);
    if (chosen === current.deployId) reporter.warn(`${chosen} is the current known-good release already: redeploying it (what a run that lost every manager asks for)`);
    else if (!state.history.includes(chosen)) reporter.warn(`${chosen} never passed its health check (it is not in the known-good history); rolling back to it anyway, as asked`);
    ctx.state.previous = current;
    release.healthUrl = to.healthUrl ?? expandReleaseVars(cfg.cluster.DEPLOY_HEALTHCHECK_URL, { DEPLOY_TAG: to.tag, DEPLOY_ID: to.deployId });
    reporter.heading(`Rolling back ${release.stackName} from ${current.deployId} (tag ${current.tag}) to ${to.deployId} (tag ${to.tag})`);
    if (hooks.hookOf(ctx, 'pre-rollback')) await reporter.step('Run the pre-rollback hook', () => hooks.runPre(ctx, 'pre-rollback', to!));
    await reporter.step('Log in to the registry on the manager', () => login.loginManager(ctx));
    await reporter.step(`Check that ${to.deployId} can be restored`, async () => {
      const missing = await missingFor(ctx, to!);
      if (missing.length) {
        throw new PreflightError(`${to!.deployId} cannot be restored, nothing was changed: ${missing.join('; ')} — pick another release (\`honeydue-deploy releases\`), or deploy its tag again with today's secrets: SKIP_BUILD=1 DEPLOY_TAG=${to!.tag} honeydue-deploy`);
      }
    });
    await redeployTarget(ctx, to);
    facts = { ...NO_FACTS, stackTouched: true, targetHealthy: true };
    summary = summarize(facts, `rolled back: ${to.deployId} (tag ${to.tag}) is serving and healthy${ctx.state.degraded ? ` ${ctx.state.degraded}` : ''}`);
  } catch (err) {
    ({ summary, facts } = await restore(ctx, err, from));
  }
  const closed = await closeRun(ctx, 'rollback', started, facts, summary, { deployId: to?.deployId, tag: to?.tag });
  if (to && !ctx.state.hookRefused) {
    const servingId = closed.outcome === 'healthy' ? to.deployId : closed.outcome === 'failed-needs-attention' ? undefined : from;
    await hooks.runPost(ctx, 'post-rollback', 'rollback', to, closed, servingId);
  }
  return { ...closed, to: to?.deployId };
}

/** Redeploys the target from its record (its folder written on whichever manager serves), waits, checks, marks it. */
async function redeployTarget(ctx: Ctx, to: KnownGoodRelease): Promise<void> {
  const { release, reporter, interrupt, cfg } = ctx;
  for (;;) {
    try {
      await materialize(ctx, to);
      if (!ctx.state.stackTouched) {
        // the tasks before this redeploy are history: only the redeploy's own tasks can make a crash loop
        ctx.state.tasksBefore = new Set((await readCluster(ctx)).tasks.flatMap((t) => (t.id ? [t.id] : [])));
      }
      ctx.state.stackTouched = true;
      await startWatch(ctx, 'rollback', release.healthUrl);
      await reporter.step(`Redeploy ${to.deployId}`, async () => {
        const r = await deployStack(ctx, stackDeploy(release.stackName, `${release.remoteDir}/releases/${to.deployId}`, { prune: true }));
        if (r.exitCode !== 0) throw new Error(`docker stack deploy exited ${r.exitCode}: ${reporter.redactor.redact(r.stderr.trim())}`);
      });
      await reporter.step('Wait for convergence', async (h) => {
        const outcome = await waitForConvergence(ctx, { intended: intendedImages(release.stackName, to.serviceImages), timeoutSeconds: cfg.cluster.DEPLOY_CONVERGE_TIMEOUT, handle: h, stop: () => interrupt.requested });
        await stopWatch(ctx);
        if (outcome.kind === 'stopped') return interrupt.check();
        if (outcome.kind !== 'converged') throw new Error(`did not converge: ${outcome.why}`);
        ctx.state.degraded = degradedText(ctx, outcome.degraded);
        if (ctx.state.degraded) reporter.warn(`converged ${ctx.state.degraded}`);
      });
      if (!health.skippedBecause(ctx)) {
        await reporter.step('Health check', async (h) => {
          const r = await health.check(ctx, h, to.healthExpect ?? undefined, () => interrupt.requested);
          if (!r.ok) throw new Error(`the health check failed: ${r.detail}`);
        });
      }
      await store(ctx).markCurrent(to.deployId, 'rollback', undefined, undefined, ctx.state.watched);
      return;
    } catch (e) {
      // the manager was lost: the redeploy is safe to repeat through the next one
      if (!(e instanceof ConnectionLost) || interrupt.requested || !(await failover(ctx))) throw e;
    }
  }
}

/** The rollback itself failed: put back what was serving, and let the table say what that means. */
async function restore(ctx: Ctx, err: unknown, from: string | undefined): Promise<{ summary: Summary; facts: Facts }> {
  const interrupted = err instanceof Interrupted;
  const base: Facts = { ...NO_FACTS, interrupted, refused: err instanceof PreflightError || err instanceof ConfigError, stackTouched: ctx.state.stackTouched };
  if (!interrupted) ctx.reporter.error(`error: ${errorMessage(err)}`);
  if (!ctx.state.stackTouched) {
    const serving = `nothing was changed: ${from ? `${from} is still serving` : 'the serving release is unchanged'}`;
    return { facts: base, summary: summarize(base, serving) };
  }
  if (!(await failover(ctx))) {
    const facts = { ...base, reachable: false };
    return { facts, summary: summarize(facts, 'unknown: no listed manager can be reached', from ? [`honeydue-deploy unlock --force && honeydue-deploy rollback ${from}   # once a manager answers again`] : []) };
  }
  const result = await ctx.reporter.step(`Restore ${from}`, (h) => rollback.run(ctx, h)).catch((e: unknown) => ({ restored: false, serving: `unknown: ${errorMessage(e)}`, how: '', manual: from ? rollback.manualRedeploy(ctx, from) : [] }));
  const facts = { ...base, restored: result.restored };
  return { facts, summary: summarize(facts, result.restored ? `the rollback failed; ${result.serving} is serving again` : result.serving, result.restored ? [] : result.manual) };
}
