import { listReleases, removeReleaseDirs } from '../commands/remote-files.js';
import { createObject, objectName, readObjects, removeObjects } from '../commands/store.js';
import { selectOldReleases } from '../store/store.js';
import { cmd, execChecked, note, store, type Ctx, type KnownGoodRelease, type StepPlan } from './context.js';

export { selectOldReleases };

/** Audit records kept per stack in the swarm (the oldest beyond are removed after a healthy deploy). */
export const KEEP_AUDIT_RECORDS = 300;

export function readPlan(ctx: Pick<Ctx, 'release'>): StepPlan {
  return {
    title: 'Read the known-good release',
    entries: [
      cmd(readObjects(ctx.release.stackName, 'mark')),
      cmd(readObjects(ctx.release.stackName, 'release')),
      note('the newest mark names the known-good release, its record holds what a rollback to it needs; none on a first deploy'),
    ],
  };
}

/** A release's record in the store; undefined when it is gone. */
export async function readReleaseRecord(ctx: Ctx, id: string): Promise<KnownGoodRelease | undefined> {
  return store(ctx).readRelease(id);
}

export async function readKnownGood(ctx: Ctx): Promise<KnownGoodRelease | undefined> {
  const snap = ctx.state.snapshot;
  const { current } = snap ? snap.state : await store(ctx).readState();
  if (!current) return undefined;
  const record = snap ? snap.releases.find((r) => r.deployId === current) : await store(ctx).readRelease(current);
  if (!record) ctx.reporter.warn(`the known-good release ${current} has no record in the swarm any more: treating this as a first deploy`);
  return record;
}

export function markPlan(ctx: Pick<Ctx, 'release' | 'cfg'>): StepPlan {
  const s = ctx.release.stackName;
  return {
    title: 'Mark the release known-good and prune old releases',
    entries: [
      cmd(createObject(s, 'mark', objectName(s, 'mark', '<time>'), `known-good mark (deploy of ${ctx.release.deployId})`, '', ctx.release.deployId)),
      cmd(removeObjects([objectName(s, 'release', '<old deploy id>'), '…'])),
      cmd(listReleases(ctx.release.remoteDir)),
      note(`keep the newest ${ctx.cfg.cluster.DEPLOY_KEEP_RELEASES} release records (DEPLOY_KEEP_RELEASES) plus the current and previous known-good ones, decided from the swarm's record; release folders on this manager likewise; the newest ${KEEP_AUDIT_RECORDS} audit records`),
    ],
  };
}

export async function markKnownGood(ctx: Ctx): Promise<void> {
  // a run that resumed through another manager may have marked it already
  if (ctx.state.markTried && (await store(ctx).readState()).current === ctx.release.deployId) {
    ctx.state.knownGood = true;
    return;
  }
  ctx.state.markTried = true;
  await store(ctx).markCurrent(ctx.release.deployId, 'deploy', undefined, undefined, ctx.state.watched);
  ctx.state.knownGood = true;
}

/**
 * The release to go back to: the newest known-good release older than the current one (by the history the
 * deploys recorded) whose record is still kept.
 */
export function rollbackTarget(history: readonly string[], current: string, available: ReadonlySet<string>): string | undefined {
  const at = history.lastIndexOf(current);
  const older = (at === -1 ? history : history.slice(0, at)).filter((id) => id !== current);
  return [...older].reverse().find((id) => available.has(id));
}

/** Release records beyond DEPLOY_KEEP_RELEASES, then this manager's release folders of the releases that are gone. */
export async function pruneReleases(ctx: Ctx): Promise<string[]> {
  const s = store(ctx);
  const [records, folderList] = await Promise.all([s.listReleases(), execChecked(ctx, listReleases(ctx.release.remoteDir), 'listing release folders')]);
  const ids = records.map((r) => r.deployId);
  const protect = new Set([ctx.release.deployId, ...(ctx.state.previous ? [ctx.state.previous.deployId] : [])]);
  const old = selectOldReleases(records, ctx.cfg.cluster.DEPLOY_KEEP_RELEASES!, protect);
  if (old.length) await s.removeReleases(old);
  await s.compact(KEEP_AUDIT_RECORDS);
  const kept = new Set(ids.filter((id) => !old.includes(id)));
  const folders = folderList.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  const staleFolders = folders.filter((f) => !kept.has(f));
  if (staleFolders.length) await execChecked(ctx, removeReleaseDirs(ctx.release.remoteDir, staleFolders), 'removing old release folders');
  return old;
}
