import type { Upload } from '../commands/command.js';
import { makeReleaseDir, removeReleaseDirs } from '../commands/remote-files.js';
import { ENV_FILE, RELEASE_FILE, STACK_FILE } from '../commands/stack.js';
import { cmd, exec, execChecked, manager, note, upload, type Ctx, type StepPlan } from './context.js';

export function uploads(ctx: Pick<Ctx, 'release'>): Upload[] {
  const r = ctx.release;
  return [
    { kind: 'upload', remotePath: `${r.releaseDir}/${STACK_FILE}`, mode: 0o600, data: r.stackFile, label: `rendered ${STACK_FILE}` },
    { kind: 'upload', remotePath: `${r.releaseDir}/${ENV_FILE}`, mode: 0o600, data: r.envFile, label: `${ENV_FILE} (the services' environment)` },
    { kind: 'upload', remotePath: `${r.releaseDir}/${RELEASE_FILE}`, mode: 0o600, data: r.releaseJson, label: RELEASE_FILE },
  ];
}

export function plan(ctx: Pick<Ctx, 'release'>): StepPlan {
  return {
    title: 'Upload the release bundle',
    entries: [
      cmd(makeReleaseDir(ctx.release.remoteDir, ctx.release.releaseDir)),
      ...uploads(ctx).map(upload),
      note('folder 0700, files 0600; secrets are not part of the bundle'),
    ],
  };
}

export async function run(ctx: Ctx): Promise<void> {
  await execChecked(ctx, makeReleaseDir(ctx.release.remoteDir, ctx.release.releaseDir), 'creating the release folder');
  ctx.state.uploaded = true;
  for (const u of uploads(ctx)) await manager(ctx).upload(u);
}

/** A release that never reached the stack leaves no folder behind (it would crowd out rollback targets). */
export async function removeUnused(ctx: Ctx): Promise<void> {
  if (!ctx.state.uploaded || !ctx.session?.alive) return;
  const r = await exec(ctx, removeReleaseDirs(ctx.release.remoteDir, [ctx.release.deployId])).catch(() => undefined);
  if (r?.exitCode === 0) ctx.state.uploaded = false;
}
