import { buildxInspect, buildxVersion } from '../commands/docker.js';
import type { Settings } from '../config/settings.js';
import type { Runner } from '../io/runner.js';

/** The builder that will really run, found read-only on the laptop (`docker buildx version`, `docker buildx inspect`). */
export type Builder = { kind: 'buildx'; version: string; driver?: string } | { kind: 'classic'; why: string };

/** The builder's driver only matters for several platforms at once: asked for then (it costs a daemon round trip). */
export async function probeBuilder(local: Runner, settings: Pick<Settings, 'platform'>): Promise<Builder> {
  const version = await local.run(buildxVersion());
  if (version.exitCode !== 0) return { kind: 'classic', why: 'docker buildx is not installed' };
  const several = (settings.platform ?? '').includes(',');
  const driver = several ? (/^Driver:\s*(\S+)/m.exec((await local.run(buildxInspect())).stdout)?.[1] ?? 'unknown') : undefined;
  return { kind: 'buildx', version: version.stdout.trim().split('\n')[0] ?? 'buildx', ...(driver ? { driver } : {}) };
}

/** What the builder cannot do, refused before anything is built (exit 2), with what to do instead. */
export function builderProblems(settings: Settings, builder: Builder, fromFlag: boolean): string[] {
  if (settings.skipBuild || !settings.platform) return [];
  const where = fromFlag ? 'command line: --platform' : 'environment: DEPLOY_PLATFORM';
  if (builder.kind === 'classic') {
    return [`${where}: ${settings.platform} needs docker buildx, which is not installed here — install buildx, or build on a machine of that platform and deploy with SKIP_BUILD`];
  }
  const platforms = settings.platform.split(',').map((p) => p.trim()).filter(Boolean);
  if (platforms.length > 1 && builder.driver === 'docker') {
    return [
      `${where}: ${platforms.join(', ')}: the current buildx builder uses the docker driver, which builds one platform at a time — create a builder that can build several: \`docker buildx create --use --driver docker-container\` (for platforms foreign to this machine also QEMU: \`docker run --privileged --rm tonistiigi/binfmt --install all\`), or build one platform`,
    ];
  }
  return [];
}
