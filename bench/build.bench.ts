/**
 * One build graph vs three builds: the three images over a shared stage that costs seconds (the fixture in
 * test/fixtures/shared-stage, 4 s of "compile"), built without cache three ways with the buildx plugin —
 *   bake:        `docker buildx bake` with the definition the tool generates (the tool's default)
 *   concurrent:  three `docker buildx build` at once
 *   serial:      three `docker buildx build` one after another
 * Prints a table of medians; never fails. Needs docker and scripts/install-buildx.sh.
 *   npm run bench (all benchmarks) or npm run bench:build (this one)
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildxBake, dockerBuildxBuild } from '../src/commands/docker.js';
import { bakeDefinition } from '../src/steps/build.js';
import { APP_SERVICES } from '../src/release.js';
import type { Command } from '../src/commands/command.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const PLUGINS = process.env.HD_BUILDX_DIR ?? '/opt/honeydue-buildx/cli-plugins';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

if (!fs.existsSync(path.join(PLUGINS, 'docker-buildx'))) {
  console.log(`build graph benchmark: n/a — no buildx plugin in ${PLUGINS} (run scripts/install-buildx.sh)`);
  process.exit(0);
}
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hd-bench-build-'));
const context = path.join(work, 'ctx');
fs.mkdirSync(context);
fs.copyFileSync(path.join(ROOT, 'test/fixtures/shared-stage/Dockerfile'), path.join(context, 'Dockerfile'));
fs.copyFileSync('/bin/busybox', path.join(context, 'busybox'));
const config = path.join(work, 'docker');
fs.mkdirSync(config);
fs.symlinkSync(PLUGINS, path.join(config, 'cli-plugins'));
const env = { ...process.env, DOCKER_CONFIG: config };

function run(c: Command): Promise<void> {
  return new Promise((resolve, reject) => {
    // no registry here: build into the local image store (the timing is the build's)
    const argv = c.argv.filter((a) => a !== '--push');
    const child = spawn(argv[0]!, [...argv.slice(1), '--no-cache'], { env, stdio: [c.stdin ? 'pipe' : 'ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    if (c.stdin) child.stdin!.end(c.stdin.data);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${argv.join(' ')}: ${err.slice(-500)}`))));
  });
}

const images = Object.fromEntries(APP_SERVICES.map((s) => [s, `hd-bench/${s}:1`])) as Record<(typeof APP_SERVICES)[number], string>;
const settings = { context, dockerfile: path.join(context, 'Dockerfile'), buildArgs: [], platform: undefined } as never;
const release = { images } as never;
const builds = APP_SERVICES.map((s) => dockerBuildxBuild({ target: s, image: images[s], context, dockerfile: path.join(context, 'Dockerfile'), buildArgs: [] }));

const modes: Record<string, () => Promise<void>> = {
  bake: () => run(buildxBake(bakeDefinition({ settings, release }))),
  concurrent: async () => {
    await Promise.all(builds.map(run));
  },
  serial: async () => {
    for (const b of builds) await run(b);
  },
};

const times: Record<string, number[]> = {};
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, fn] of Object.entries(modes)) {
      const t = performance.now();
      await fn();
      (times[name] ??= []).push((performance.now() - t) / 1000);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const best = Math.min(...Object.values(times).map(median));
  console.log(`three images over a shared 4 s stage, no cache, ${ROUNDS} rounds (${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'cpu'})`);
  console.log('| mode | median | vs fastest |');
  console.log('|---|---|---|');
  for (const [name, xs] of Object.entries(times)) console.log(`| ${name}${name === 'bake' ? ' (default)' : ''} | ${median(xs).toFixed(1)} s | ${(median(xs) / best).toFixed(2)}× |`);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
