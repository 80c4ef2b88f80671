import { checkRemoteDir } from '../commands/remote-files.js';
import { createObject, objectName, releaseLockObject } from '../commands/store.js';
import { PreflightError, errorMessage } from '../errors.js';
import type { AuditRecord } from '../audit.js';
import { importLegacy, importPending, readLegacy, readLegacyDir } from '../store/legacy.js';
import { thisProcessSpace, goneHolder } from '../io/process-space.js';
import type { LockOwner } from '../store/store.js';
import { cmd, exec, note, store, type Ctx, type StepPlan } from './context.js';

export type { LockOwner };

export function owner(ctx: Pick<Ctx, 'release' | 'session'>): LockOwner {
  const r = ctx.release;
  const t = ctx.session?.target;
  const space = thisProcessSpace();
  return {
    who: r.deployedBy, pid: process.pid, deployId: r.deployId, gitSha: r.gitSha ?? null, tag: r.tag, startedAt: r.startedAt.toISOString(),
    ...(t ? { via: t.alias } : {}),
    ...(space ? { space } : {}),
  };
}

export function lockName(stack: string): string {
  return objectName(stack, 'lock');
}

export function plan(ctx: Pick<Ctx, 'release' | 'settings'>): StepPlan {
  const { remoteDir, stackName } = ctx.release;
  return {
    title: 'Take the deploy lock (one for the whole cluster)',
    entries: [
      cmd(checkRemoteDir(remoteDir, stackName)),
      note('the working folder on the manager (release folders, the run\'s private docker config) must be the deploy user\'s own real folder, writable by nobody else, and this stack\'s alone (exit 2 otherwise); made 0700 and claimed for the stack'),
      cmd(createObject(stackName, 'lock', lockName(stackName), 'lock owner record (JSON)', `${JSON.stringify(owner(ctx as Ctx))}\n`, ctx.release.deployId)),
      note('a swarm config: creating one whose name exists fails on every manager, so exactly one run holds the lock'),
      note('a lock whose run is certainly gone — written on this machine, since this boot, by a process that no longer runs — is taken over (said in the output and the audit trail); any other holder is waited for or reported'),
      note(ctx.settings.lockWaitSeconds > 0 ? `if another run holds it: retry every 2s for up to ${ctx.settings.lockWaitSeconds}s` : 'if another run holds it: stop at once (exit 2) and say who holds it'),
      cmd(readLegacyDir(remoteDir)),
      note('first run of this version against a stack deployed by an earlier one: its records in the working folder are imported into the swarm once (the files stay); an earlier version\'s lock there is honoured'),
      note('held through prune; released in finally'),
    ],
  };
}

/** The refusal of a working folder that belongs to another stack. */
export function sharedFolderProblem(remoteDir: string, stack: string, other: string): string {
  return `cluster.env: DEPLOY_REMOTE_DIR: ${remoteDir} on the manager is the working folder of the stack ${other} — each stack needs its own (a run removes what earlier runs of its stack left there: the other stack's registry login and release folders would go with it): set DEPLOY_REMOTE_DIR for ${stack} to another folder (its default is honeydue-deploy/${stack})`;
}

async function checkWorkingFolder(ctx: Ctx): Promise<void> {
  const check = await exec(ctx, checkRemoteDir(ctx.release.remoteDir, ctx.release.stackName));
  if (check.exitCode === 4) throw new PreflightError(sharedFolderProblem(ctx.release.remoteDir, ctx.release.stackName, check.stdout.trim()));
  if (check.exitCode !== 0) {
    throw new PreflightError(
      `cluster.env: DEPLOY_REMOTE_DIR: ${ctx.release.remoteDir} on the manager ${check.stdout.trim() || `cannot be checked (${check.stderr.trim()})`} — it holds the release folders and the run's private docker config, so it must be a folder of the deploy user's own that nobody else can write to: fix it on the manager or point DEPLOY_REMOTE_DIR elsewhere`,
    );
  }
}

/** The working folder on the manager the run is connected to now (again after a switch of managers). */
export { checkWorkingFolder };

export async function acquire(ctx: Ctx): Promise<void> {
  const deadline = Date.now() + ctx.settings.lockWaitSeconds * 1000;
  let announced = false;
  for (let first = true; ; first = false) {
    // the first attempt goes side by side with the check of the working folder; a lock taken while the folder is
    // refused is given back at once (by the caller's cleanup: it is marked held)
    const [attempt, folder] = await Promise.allSettled([
      store(ctx).acquireLock(owner(ctx)).then((a) => {
        if (a.acquired) ctx.state.lockHeld = true;
        return a;
      }),
      first ? checkWorkingFolder(ctx) : Promise.resolve(),
    ]);
    if (folder.status === 'rejected') throw folder.reason;
    if (attempt.status === 'rejected') throw attempt.reason;
    const r = attempt.value;
    if (r.acquired) {
      ctx.state.lockHeld = true;
      break;
    }
    const gone = !ctx.state.lockTakenFrom && r.owner ? goneHolder(r.owner) : undefined;
    if (gone && r.owner) {
      // removed only while that dead run's id still holds it (by the object's swarm ID): a run racing for it is never undone
      await store(ctx).releaseLock(r.owner.deployId);
      ctx.state.lockTakenFrom = r.holder;
      ctx.reporter.warn(`the deploy lock was held by ${r.holder}: taking it over`);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new PreflightError(
        `another run holds the deploy lock of ${ctx.release.stackName} (${lockName(ctx.release.stackName)} in the swarm): ${r.holder} — wait for it to finish (or pass --lock-wait SECONDS); if that run is dead, run \`honeydue-deploy unlock --force\``,
      );
    }
    if (!announced) ctx.reporter.info(`waiting for the deploy lock held by ${r.holder}`);
    announced = true;
    await ctx.interrupt.sleep(2000);
    ctx.interrupt.check();
  }
  await upgradeFromLegacy(ctx);
}

/**
 * Once, under the lock: a stack whose memory an earlier version kept in the working folder has it copied into the
 * store. While an earlier version's run holds its own lock there, this run stops (exit 2) rather than race it.
 */
async function upgradeFromLegacy(ctx: Ctx): Promise<void> {
  const s = store(ctx);
  const [releases, state] = await Promise.all([s.listReleases(), s.readState()]);
  // under the lock nobody else writes: the known-good release is read from this look, not from another
  ctx.state.snapshot = { releases, state };
  // once a deploy or a rollback of this version has marked a release, the store is the truth
  if (state.marks.some((m) => !m.key)) return;
  const legacy = await readLegacy(ctx.session!, ctx.release.remoteDir);
  if (!legacy || !importPending(legacy, state.marks)) return;
  if (legacy.lockHolder) {
    throw new PreflightError(`an earlier version of honeydue-deploy holds its deploy lock ${ctx.release.remoteDir}/lock on the manager: ${legacy.lockHolder} — wait for it to finish; if that run is dead, remove the folder on the manager (\`rm -rf -- ${ctx.release.remoteDir}/lock\`)`);
  }
  const resumed = releases.length > 0 || state.marks.length > 0;
  const what = await importLegacy(s, legacy);
  ctx.state.snapshot = undefined;
  ctx.reporter.info(`${resumed ? 'finished importing' : 'imported'} what an earlier version kept in ${ctx.release.remoteDir} on this manager into the swarm: ${what} (the files are left as they were)`);
}

/** Never throws. */
export async function release(ctx: Ctx): Promise<string | undefined> {
  if (!ctx.state.lockHeld) return undefined;
  const byHand = `honeydue-deploy unlock --force   # or on any manager: docker config rm ${lockName(ctx.release.stackName)}`;
  if (!ctx.session?.alive || !ctx.store) return `the deploy lock is still held (no connection to a manager) — run: ${byHand}`;
  try {
    await ctx.store.releaseLock(ctx.release.deployId);
    ctx.state.lockHeld = false;
    return undefined;
  } catch (e) {
    return `could not release the deploy lock (${errorMessage(e).split('\n')[0]}) — run: ${byHand}`;
  }
}

export function releasePlan(ctx: Pick<Ctx, 'release'>): StepPlan {
  return { title: 'Release the deploy lock (always)', entries: [cmd(releaseLockObject(lockName(ctx.release.stackName), ctx.release.deployId))] };
}

export function auditPlan(ctx: Pick<Ctx, 'release'>): StepPlan {
  const s = ctx.release.stackName;
  return {
    title: 'Append the run to the audit trail (always)',
    entries: [cmd(createObject(s, 'audit', objectName(s, 'audit', '<time>'), '<one JSON record: deploy id, tag, who, from, start, duration, outcome, serving>', '', ctx.release.deployId))],
  };
}

/** Never throws; the audit record never holds a secret (it is built from ids and outcomes only). */
export async function audit(ctx: Pick<Ctx, 'session' | 'reporter' | 'store'>, record: AuditRecord): Promise<string | undefined> {
  if (!ctx.session?.alive || !ctx.store) return 'the audit record was not written in the swarm (no connection)';
  try {
    await ctx.store.appendAudit(JSON.parse(ctx.reporter.redactor.redact(JSON.stringify(record))) as AuditRecord);
    return undefined;
  } catch (e) {
    return `the audit record could not be written: ${errorMessage(e).split('\n')[0]}`;
  }
}
