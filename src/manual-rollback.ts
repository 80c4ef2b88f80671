/**
 * `honeydue-deploy rollback`: go back to the known-good release before the current one by redeploying its
 * recorded stack file (its images, its secret names), then verify convergence and health. If that fails, the
 * release that was serving is redeployed. Same lock, logout and audit as a deploy.
 */
import { writeCurrentPointer } from './commands/remote-files.js';
import { stackDeploy } from './commands/stack.js';
import type { Config } from './config/index.js';
import type { Settings } from './config/settings.js';
import { EXIT, Interrupted, PreflightError, errorMessage } from './errors.js';
import { Interrupt } from './interrupt.js';
import type { Summary } from './pipeline.js';
import { expandReleaseVars, operationRelease } from './release.js';
import * as connect from './steps/connect.js';
import { RunState, exec, execChecked, type Ctx, type KnownGoodRelease } from './steps/context.js';
import { intendedImages, waitForConvergence } from './steps/converge.js';
import * as health from './steps/health.js';
import { auditRecord } from './audit.js';
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

export async function runRollback(cfg: Config, settings: Settings, reporter: Reporter, local: LocalRunner, interrupt = new Interrupt(), targetId?: string): Promise<Summary & { to?: string }> {
  const now = new Date();
  const release = operationRelease(cfg, now, 'rollback');
  const ctx: Ctx = { cfg, settings, release, reporter, local, interrupt, state: new RunState() };
  const started = Date.now();
  let summary: Summary & { to?: string };
  let from: string | undefined;
  let to: KnownGoodRelease | undefined;
  try {
    await reporter.step('Connect to the manager', () => connect.run(ctx));
    await reporter.step('Take the deploy lock', () => lock.acquire(ctx));
    const current = await releases.readKnownGood(ctx);
    if (!current) throw new PreflightError('no known-good release is recorded on the manager — nothing to roll back from (deploy first)');
    from = current.deployId;
    const { history, releases: available } = await releases.readHistoryIds(ctx, release.remoteDir);
    const chosen = targetId ?? releases.rollbackTarget(history, current.deployId, available);
    if (!chosen) throw new PreflightError(`no earlier known-good release of ${release.stackName} is left on the manager — nothing to roll back to (current: ${current.deployId})`);
    if (chosen === current.deployId) throw new PreflightError(`${chosen} is the current release already — pick another one (\`honeydue-deploy releases\` lists them)`);
    to = available.has(chosen) ? await releases.readReleaseRecord(ctx, release.remoteDir, chosen) : undefined;
    if (!to) throw new PreflightError(`command line: DEPLOY_ID: ${chosen} is not a recorded release on the manager — \`honeydue-deploy releases\` lists the ones that can be rolled back to`);
    if (!history.includes(chosen)) reporter.warn(`${chosen} never passed its health check (it is not in the known-good history); rolling back to it anyway, as asked`);
    ctx.state.previous = current;
    release.healthUrl = to.healthUrl ?? expandReleaseVars(cfg.cluster.DEPLOY_HEALTHCHECK_URL, { DEPLOY_TAG: to.tag, DEPLOY_ID: to.deployId });
    reporter.heading(`Rolling back ${release.stackName} from ${current.deployId} (tag ${current.tag}) to ${to.deployId} (tag ${to.tag})`);
    await reporter.step('Log in to the registry on the manager', () => login.loginManager(ctx));
    await reporter.step(`Check that ${to.deployId} can be restored`, async () => {
      const missing = await missingFor(ctx, to!);
      if (missing.length) {
        throw new PreflightError(`${to!.deployId} cannot be restored, nothing was changed: ${missing.join('; ')} — pick another release (\`honeydue-deploy releases\`), or deploy its tag again with today's secrets: SKIP_BUILD=1 DEPLOY_TAG=${to!.tag} honeydue-deploy`);
      }
    });
    ctx.state.stackTouched = true;
    await reporter.step(`Redeploy ${to.deployId}`, async () => {
      const r = await deployStack(ctx, stackDeploy(release.stackName, `${release.remoteDir}/releases/${to!.deployId}`, { prune: true }));
      if (r.exitCode !== 0) throw new Error(`docker stack deploy exited ${r.exitCode}: ${reporter.redactor.redact(r.stderr.trim())}`);
    });
    await reporter.step('Wait for convergence', async (h) => {
      const outcome = await waitForConvergence(ctx, { intended: intendedImages(release.stackName, to!.serviceImages), timeoutSeconds: cfg.cluster.DEPLOY_CONVERGE_TIMEOUT, handle: h, stop: () => interrupt.requested });
      if (outcome.kind === 'stopped') return interrupt.check();
      if (outcome.kind !== 'converged') throw new Error(`did not converge: ${outcome.why}`);
    });
    if (!health.skippedBecause(ctx)) {
      await reporter.step('Health check', async (h) => {
        const r = await health.check(ctx, h, to!.healthExpect ?? undefined, () => interrupt.requested);
        if (!r.ok) throw new Error(`the health check failed: ${r.detail}`);
      });
    }
    await execChecked(ctx, writeCurrentPointer(release.remoteDir, to.deployId), 'marking the release current');
    summary = { exitCode: EXIT.ok, outcome: 'healthy', serving: `rolled back: ${to.deployId} (tag ${to.tag}) is serving and healthy`, manual: [], to: to.deployId };
  } catch (err) {
    summary = await restore(ctx, err, from);
  }
  const left = await login.logout(ctx);
  await lock.audit(ctx, release.remoteDir, auditRecord({
    event: 'rollback', deployId: to?.deployId, tag: to?.tag, start: new Date(started).toISOString(), durationMs: Date.now() - started, outcome: summary.outcome, serving: summary.serving,
  }));
  const lockLeft = await lock.release(ctx);
  if (lockLeft) left.push(lockLeft);
  ctx.session?.close();
  if (left.length) summary = { ...summary, exitCode: EXIT.needsAttention, outcome: 'failed-needs-attention', manual: [...summary.manual, ...left] };
  return summary;
}

/** The rollback itself failed after changing the stack: put back what was serving. */
async function restore(ctx: Ctx, err: unknown, from: string | undefined): Promise<Summary> {
  const interrupted = interruptedError(err);
  if (!ctx.state.stackTouched) {
    // stopped before the stack was changed: report, then the caller still logs out, audits and unlocks
    if (!interrupted) ctx.reporter.error(errorMessage(err));
    const serving = `nothing was changed: ${from ? `${from} is still serving` : 'the serving release is unchanged'}`;
    if (interrupted) return { exitCode: EXIT.interrupted, outcome: 'interrupted', serving, manual: [] };
    if (err instanceof PreflightError) return { exitCode: EXIT.config, outcome: 'preflight-failed', serving, manual: [] };
    return { exitCode: EXIT.needsAttention, outcome: 'failed-needs-attention', serving, manual: [] };
  }
  ctx.reporter.error(`error: ${errorMessage(err)}`);
  const result = await ctx.reporter.step(`Restore ${from}`, (h) => rollback.run(ctx, h)).catch((e: unknown) => ({ restored: false, serving: `unknown: ${errorMessage(e)}`, how: '', manual: from ? rollback.manualRedeploy(ctx, from) : [] }));
  if (result.restored) return { exitCode: interrupted ? EXIT.interrupted : EXIT.rolledBack, outcome: interrupted ? 'interrupted' : 'rolled-back', serving: `the rollback failed; ${result.serving} is serving again`, manual: [] };
  return { exitCode: EXIT.needsAttention, outcome: 'failed-needs-attention', serving: result.serving, manual: result.manual };
}

function interruptedError(err: unknown): boolean {
  return err instanceof Interrupted;
}
