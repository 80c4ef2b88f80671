import type { Upload } from '../commands/command.js';
import { makeReleaseDir, removeReleaseDirs } from '../commands/remote-files.js';
import { ENV_FILE, STACK_FILE } from '../commands/stack.js';
import { createObject, objectName } from '../commands/store.js';
import { PreflightError } from '../errors.js';
import { releaseRecord } from '../release.js';
import type { ReleaseRecord } from '../store/store.js';
import { digestInputs, digestSecrets, fillWithheld } from '../store/withheld.js';
import { cmd, exec, execChecked, manager, note, store, upload, type Ctx, type StepPlan } from './context.js';

/** The folder `docker stack deploy` runs in: the stack file and the env file it names, on the connected manager. */
export function folderUploads(remoteDir: string, r: Pick<ReleaseRecord, 'deployId' | 'stackFile' | 'envFile'>): Upload[] {
  const dir = `${remoteDir}/releases/${r.deployId}`;
  return [
    { kind: 'upload', remotePath: `${dir}/${STACK_FILE}`, mode: 0o600, data: r.stackFile ?? '', label: `rendered ${STACK_FILE}` },
    { kind: 'upload', remotePath: `${dir}/${ENV_FILE}`, mode: 0o600, data: r.envFile ?? '', label: `${ENV_FILE} (the services' environment)` },
  ];
}

export function plan(ctx: Pick<Ctx, 'release'>): StepPlan {
  const r = ctx.release;
  const record = releaseRecord(r);
  const withheld = r.withheld.length ? ` (without the values of ${r.withheld.join(', ')})` : '';
  return {
    title: 'Record the release and upload its folder',
    entries: [
      cmd(createObject(r.stackName, 'release', objectName(r.stackName, 'release', r.deployId), `release record (JSON: ids, images, secret names, ${STACK_FILE}, ${ENV_FILE}; ${Buffer.byteLength(JSON.stringify(record))} bytes)`, '', r.deployId)),
      note(`kept in the swarm: any manager can roll back to it; it holds no secret value${withheld} and no plain hash of one (changes are told by salted scrypt digests)`),
      cmd(makeReleaseDir(r.remoteDir, r.releaseDir)),
      ...folderUploads(r.remoteDir, { ...record, envFile: r.envFile }).map(upload),
      note('folder 0700, files 0600, on the connected manager; secrets are not part of it'),
    ],
  };
}

/**
 * Writes a recorded release's folder on the connected manager (a rollback through a manager that never had it), its
 * withheld prod.env values filled from today's prod.env.
 */
export async function materialize(ctx: Ctx, record: ReleaseRecord): Promise<void> {
  if (record.stackFile === undefined || record.envFile === undefined) {
    throw new PreflightError(`the record of ${record.deployId} holds no stack file: it cannot be redeployed — pick another release (\`honeydue-deploy releases\`)`);
  }
  const envFile = fillWithheld(record, ctx.cfg.prodEnv);
  await execChecked(ctx, makeReleaseDir(ctx.release.remoteDir, `${ctx.release.remoteDir}/releases/${record.deployId}`), 'creating the release folder');
  if (record.withheld?.length) ctx.state.withheldOnDisk.set(record.deployId, record.envFile ?? '');
  for (const u of folderUploads(ctx.release.remoteDir, { ...record, envFile })) await manager(ctx).upload(u);
}

/**
 * At the end of every run: the release folders this run wrote get their prod.env back without the withheld values
 * (docker needed them on disk for `stack deploy` and the job; nothing of a secret value stays in the working folder).
 * Never throws; returns what it could not do.
 */
export async function scrubFolders(ctx: Ctx): Promise<string[]> {
  const left: string[] = [];
  for (const [deployId, envFile] of ctx.state.withheldOnDisk) {
    const path = `${ctx.release.remoteDir}/releases/${deployId}/${ENV_FILE}`;
    if (!ctx.session?.alive) {
      left.push(`${path} on the manager still holds prod.env's secret values (no connection) — the next run through that manager rewrites it; or remove it there`);
      continue;
    }
    try {
      await ctx.session.upload({ kind: 'upload', remotePath: path, mode: 0o600, data: envFile, label: `${ENV_FILE} without its secret values` });
      ctx.state.withheldOnDisk.delete(deployId);
    } catch {
      left.push(`${path} on the manager still holds prod.env's secret values — remove it there (\`rm -f -- ${path}\`)`);
    }
  }
  return left;
}

export async function run(ctx: Ctx): Promise<void> {
  // the record in the swarm and the folder on this manager, side by side
  ctx.state.recorded = true;
  ctx.state.uploaded = true;
  const digests = await digestSecrets(digestInputs(ctx.cfg.secrets, ctx.cfg.prodEnv, ctx.release.withheld));
  const record = releaseRecord(ctx.release, digests);
  await Promise.all([store(ctx).recordRelease(record), materialize(ctx, record)]);
}

/** A release that never reached the stack leaves no record and no folder behind (it would crowd out rollback targets). */
export async function removeUnused(ctx: Ctx): Promise<void> {
  if (!ctx.session?.alive) return;
  if (ctx.state.recorded && ctx.store) {
    await ctx.store.removeReleases([ctx.release.deployId]).then(() => (ctx.state.recorded = false), () => undefined);
  }
  if (!ctx.state.uploaded) return;
  const r = await exec(ctx, removeReleaseDirs(ctx.release.remoteDir, [ctx.release.deployId])).catch(() => undefined);
  if (r?.exitCode === 0) ctx.state.uploaded = false;
}
