import { byHand } from '../commands/command.js';
import { acquireLock, appendAudit, checkRemoteDir, forceUnlock, readLockOwner, releaseLock } from '../commands/remote-files.js';
import { PreflightError } from '../errors.js';
import type { AuditRecord } from '../audit.js';
import { cmd, exec, execChecked, note, type Ctx, type StepPlan } from './context.js';

export interface LockOwner {
  who: string;
  pid: number;
  deployId: string;
  gitSha: string | null;
  tag: string;
  startedAt: string;
}

export function owner(ctx: Pick<Ctx, 'release'>): LockOwner {
  const r = ctx.release;
  return { who: r.deployedBy, pid: process.pid, deployId: r.deployId, gitSha: r.gitSha ?? null, tag: r.tag, startedAt: r.startedAt.toISOString() };
}

export function lockDir(remoteDir: string): string {
  return `${remoteDir}/lock`;
}

export function describeOwner(text: string): string {
  try {
    const o = JSON.parse(text) as LockOwner;
    return `${o.who} (pid ${o.pid}, deploy ${o.deployId}, git ${o.gitSha ?? 'n/a'}, since ${o.startedAt})`;
  } catch {
    return text.trim() ? `an unreadable owner record: ${text.trim().slice(0, 200)}` : 'an unknown owner (no owner record)';
  }
}

export function plan(ctx: Pick<Ctx, 'release' | 'settings'>): StepPlan {
  return {
    title: 'Take the deploy lock',
    entries: [
      cmd(checkRemoteDir(ctx.release.remoteDir)),
      note('the remote dir must be the deploy user\'s own real folder, writable by nobody else (exit 2 otherwise); made 0700'),
      cmd(acquireLock(ctx.release.remoteDir, `${JSON.stringify(owner(ctx))}\n`)),
      note(ctx.settings.lockWaitSeconds > 0 ? `if another deploy holds it: retry every 2s for up to ${ctx.settings.lockWaitSeconds}s` : 'if another deploy holds it: stop at once (exit 2) and say who holds it'),
      note('held through prune; released in finally'),
    ],
  };
}

export async function acquire(ctx: Ctx): Promise<void> {
  const check = await exec(ctx, checkRemoteDir(ctx.release.remoteDir));
  if (check.exitCode !== 0) {
    throw new PreflightError(
      `cluster.env: DEPLOY_REMOTE_DIR: ${ctx.release.remoteDir} on the manager ${check.stdout.trim() || `cannot be checked (${check.stderr.trim()})`} — it holds the release records, the lock and the audit log, so it must be a folder of the deploy user's own that nobody else can write to: fix it on the manager or point DEPLOY_REMOTE_DIR elsewhere`,
    );
  }
  const deadline = Date.now() + ctx.settings.lockWaitSeconds * 1000;
  let announced = false;
  for (;;) {
    const r = await exec(ctx, acquireLock(ctx.release.remoteDir, `${JSON.stringify(owner(ctx))}\n`));
    if (r.exitCode === 0) {
      ctx.state.lockHeld = true;
      return;
    }
    const holder = describeOwner((await execChecked(ctx, readLockOwner(ctx.release.remoteDir), 'reading the lock owner')).stdout);
    if (Date.now() >= deadline) {
      throw new PreflightError(
        `another deploy holds the lock ${lockDir(ctx.release.remoteDir)} on the manager: ${holder} — wait for it to finish (or pass --lock-wait SECONDS); if that run is dead, run \`honeydue-deploy unlock --force\``,
      );
    }
    if (!announced) ctx.reporter.info(`waiting for the deploy lock held by ${holder}`);
    announced = true;
    await ctx.interrupt.sleep(2000);
    ctx.interrupt.check();
  }
}

/** Never throws. */
export async function release(ctx: Ctx): Promise<string | undefined> {
  if (!ctx.state.lockHeld) return undefined;
  if (!ctx.session?.alive) return `the lock ${lockDir(ctx.release.remoteDir)} is still held (no connection) — on the manager run: ${byHand(forceUnlock(ctx.release.remoteDir))}`;
  const r = await exec(ctx, releaseLock(ctx.release.remoteDir, ctx.release.deployId)).catch(() => ({ exitCode: 1 }));
  if (r.exitCode === 0) {
    ctx.state.lockHeld = false;
    return undefined;
  }
  return `could not release the lock — on the manager run: ${byHand(forceUnlock(ctx.release.remoteDir))}`;
}

export { forceUnlock, readLockOwner };

export function auditPlan(ctx: Pick<Ctx, 'release'>): StepPlan {
  return {
    title: 'Append the run to the audit log (always)',
    entries: [cmd(appendAudit(ctx.release.remoteDir, '<one JSON line: deploy id, tag, who, from, start, duration, outcome, serving>'))],
  };
}

/** Never throws; the audit line never holds a secret (it is built from ids and outcomes only). */
export async function audit(ctx: Pick<Ctx, 'session' | 'reporter'>, remoteDir: string, record: AuditRecord): Promise<string | undefined> {
  if (!ctx.session?.alive) return 'the audit line was not written (no connection)';
  const line = ctx.reporter.redactor.redact(JSON.stringify(record));
  const r = await ctx.session.run(appendAudit(remoteDir, line)).catch(() => ({ exitCode: 1 }));
  return r.exitCode === 0 ? undefined : 'the audit line could not be written';
}
