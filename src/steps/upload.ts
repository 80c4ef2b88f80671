import type { Upload } from '../commands/command.js';
import { makeReleaseDir } from '../commands/remote-files.js';
import { ENV_FILE, RELEASE_FILE, STACK_FILE } from '../commands/stack.js';
import { cmd, execChecked, manager, note, upload, type Ctx, type StepPlan } from './context.js';

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
  for (const u of uploads(ctx)) await manager(ctx).upload(u);
}
