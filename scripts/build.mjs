/**
 * `npm run build`: bundles src/ into dist/ with esbuild. One file for the CLI's start (commander and the
 * command table) and one chunk per command loaded when that command runs, so a process reads a few files
 * instead of hundreds of modules. ssh2, undici and ora stay packages of their own (dependencies), loaded
 * only by the commands that connect, health-check or show a spinner. Type checking is `npm run typecheck`.
 */
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const dist = path.join(root, 'dist');
fs.rmSync(dist, { recursive: true, force: true });

const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
await build({
  absWorkingDir: root,
  entryPoints: ['src/cli.ts'],
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: `node${pkg.engines.node.replace(/^\D*/, '')}`,
  chunkNames: 'chunks/[name]-[hash]',
  // the runtime dependencies are loaded from node_modules as they are
  external: Object.keys(pkg.dependencies),
  // CommonJS code inside the bundle (cross-spawn, dotenv) calls require() for node's own modules
  banner: { js: "import { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);" },
  legalComments: 'none',
  logLevel: 'warning',
});
fs.chmodSync(path.join(dist, 'cli.js'), 0o755);
