import { appendHistory, listReleases, readCurrentPointer, readFile, readHistory, removeReleaseDirs, writeCurrentPointer } from '../commands/remote-files.js';
import { RELEASE_FILE } from '../commands/stack.js';
import { cmd, exec, execChecked, note, type Ctx, type KnownGoodRelease, type StepPlan } from './context.js';

export function readPlan(ctx: Pick<Ctx, 'release'>): StepPlan {
  return {
    title: 'Read the known-good release',
    entries: [
      cmd(readCurrentPointer(ctx.release.remoteDir)),
      cmd(readFile(`${ctx.release.remoteDir}/releases/<known-good deploy id>/${RELEASE_FILE}`)),
      note('the release a failure rolls back to; none on a first deploy'),
    ],
  };
}

/** A release's release.json on the manager; undefined when its folder is gone. */
export async function readReleaseRecord(ctx: Ctx, remoteDir: string, id: string): Promise<KnownGoodRelease | undefined> {
  const file = await exec(ctx, readFile(`${remoteDir}/releases/${id}/${RELEASE_FILE}`));
  if (file.exitCode !== 0) return undefined;
  const json = JSON.parse(file.stdout) as KnownGoodRelease;
  return { deployId: json.deployId, tag: json.tag, images: json.images, serviceImages: json.serviceImages, secretNames: json.secretNames, healthExpect: json.healthExpect, healthUrl: json.healthUrl };
}

export async function readKnownGood(ctx: Ctx, remoteDir = ctx.release.remoteDir): Promise<KnownGoodRelease | undefined> {
  const pointer = await execChecked(ctx, readCurrentPointer(remoteDir), 'reading the known-good pointer');
  const id = pointer.stdout.trim();
  if (!id) return undefined;
  const record = await readReleaseRecord(ctx, remoteDir, id);
  if (!record) ctx.reporter.warn(`the known-good release ${id} has no ${RELEASE_FILE} on the manager any more: treating this as a first deploy`);
  return record;
}

export function markPlan(ctx: Pick<Ctx, 'release' | 'cfg'>): StepPlan {
  return {
    title: 'Mark the release known-good and prune old release folders',
    entries: [
      cmd(writeCurrentPointer(ctx.release.remoteDir, ctx.release.deployId)),
      cmd(appendHistory(ctx.release.remoteDir, ctx.release.deployId)),
      cmd(listReleases(ctx.release.remoteDir)),
      note(`keep the newest ${ctx.cfg.cluster.DEPLOY_KEEP_RELEASES} release folders (DEPLOY_KEEP_RELEASES) plus the current and previous known-good ones`),
    ],
  };
}

export async function markKnownGood(ctx: Ctx): Promise<void> {
  await execChecked(ctx, writeCurrentPointer(ctx.release.remoteDir, ctx.release.deployId), 'marking the release known-good');
  ctx.state.knownGood = true;
  await execChecked(ctx, appendHistory(ctx.release.remoteDir, ctx.release.deployId), 'recording the known-good history');
}

/**
 * The release to go back to: the newest known-good release older than the current one (by the history the
 * deploys recorded) whose folder is still on the manager.
 */
export function rollbackTarget(history: readonly string[], current: string, available: ReadonlySet<string>): string | undefined {
  const at = history.lastIndexOf(current);
  const older = (at === -1 ? history : history.slice(0, at)).filter((id) => id !== current);
  return [...older].reverse().find((id) => available.has(id));
}

export async function readHistoryIds(ctx: Ctx, remoteDir: string): Promise<{ history: string[]; releases: Set<string> }> {
  const lines = (t: string) => t.split('\n').map((l) => l.trim()).filter(Boolean);
  const history = lines((await execChecked(ctx, readHistory(remoteDir), 'reading the release history')).stdout);
  const releases = new Set(lines((await execChecked(ctx, listReleases(remoteDir), 'listing release folders')).stdout));
  return { history, releases };
}

export function selectOldReleases(ids: readonly string[], keep: number, protect: ReadonlySet<string>): string[] {
  const stamp = (id: string) => /_(\d{14})$/.exec(id)?.[1] ?? '';
  const sorted = ids.filter((id) => stamp(id)).sort((a, b) => stamp(b).localeCompare(stamp(a)));
  return sorted.slice(keep).filter((id) => !protect.has(id));
}

export async function pruneReleases(ctx: Ctx): Promise<string[]> {
  const list = await execChecked(ctx, listReleases(ctx.release.remoteDir), 'listing release folders');
  const ids = list.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  const protect = new Set([ctx.release.deployId, ...(ctx.state.previous ? [ctx.state.previous.deployId] : [])]);
  const old = selectOldReleases(ids, ctx.cfg.cluster.DEPLOY_KEEP_RELEASES!, protect);
  if (old.length) await execChecked(ctx, removeReleaseDirs(ctx.release.remoteDir, old), 'removing old release folders');
  return old;
}
