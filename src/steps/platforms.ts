/**
 * Images for the nodes' CPU. A laptop builds for its own platform by default — an Apple-silicon Mac builds
 * linux/arm64 images that amd64 nodes cannot run (swarm never places them: "unsupported platform"). The build
 * therefore targets the platforms the nodes report, and every image must offer each of them before the stack is
 * touched.
 */
import { describeNode, nodePlatforms, type NodeView } from './nodes-eval.js';

/** This machine's platform as images name it (docker on a Mac runs a linux VM of the Mac's CPU). */
export function laptopPlatform(arch: string = process.arch): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm/v7', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return `linux/${map[arch] ?? arch}`;
}

/**
 * What to build for when DEPLOY_PLATFORM is not set: the nodes' platforms. Undefined when that is this machine's
 * own (a plain build needs no --platform then) or when the nodes do not say.
 */
export function buildPlatforms(nodes: NodeView[], laptop = laptopPlatform()): string[] | undefined {
  const wanted = [...nodePlatforms(nodes).keys()].sort();
  if (!wanted.length || (wanted.length === 1 && wanted[0] === laptop)) return undefined;
  return wanted;
}

/** The platforms `docker manifest inspect -v` says an image offers (one manifest, or a list; attestations skipped). */
export function offeredPlatforms(verboseJson: string): string[] {
  type Entry = { Descriptor?: { platform?: { os?: string; architecture?: string; variant?: string } } };
  let parsed: Entry | Entry[];
  try {
    parsed = JSON.parse(verboseJson) as Entry | Entry[];
  } catch {
    return [];
  }
  const list = Array.isArray(parsed) ? parsed : [parsed];
  return list
    .map((e) => e.Descriptor?.platform)
    .filter((p): p is NonNullable<typeof p> => Boolean(p?.os && p.architecture && p.os !== 'unknown'))
    .map((p) => `${p.os}/${p.architecture}${p.variant && p.architecture === 'arm' ? `/${p.variant}` : ''}`);
}

/** An image that offers no platform of some nodes: the line saying which, and what to do. Undefined when it fits. */
export function platformProblem(image: string, offered: string[], nodes: NodeView[]): string | undefined {
  if (!offered.length) return undefined;
  const missing = [...nodePlatforms(nodes).entries()].filter(([p]) => !offered.includes(p));
  if (!missing.length) return undefined;
  const need = missing.map(([p, ns]) => `${p} (${ns.map(describeNode).join(', ')})`).join('; ');
  return `${image} offers ${offered.join(', ')}, but nodes need ${need} — swarm would never place it there: build for the nodes (DEPLOY_PLATFORM=${[...nodePlatforms(nodes).keys()].sort().join(',')}, or leave DEPLOY_PLATFORM unset and let the build target the nodes), or push a multi-platform image (see the README's multi-arch section)`;
}
