import fs from 'node:fs';
import path from 'node:path';
import { createMissingFiles, whatToFill } from '../config/load.js';
import { deployDirInBuildContext, writeGitignore } from '../config/repository.js';
import { resolveSettings, type Flags } from '../config/settings.js';
import { EXIT } from '../errors.js';
import { HOOK_NAMES, HOOKS_DIR, hookSample } from '../hooks.js';
import { finalLine, type ActionResult } from '../result.js';
import type { Reporter } from '../ui/reporter.js';

/** The nearest folder from `dir` up (to the repository's top, or /) that holds a Dockerfile. */
function findContext(dir: string): string | undefined {
  for (let d = dir; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'Dockerfile'))) return d;
    if (fs.existsSync(path.join(d, '.git')) || path.dirname(d) === d) return undefined;
  }
}

/** `init`: lays out the deploy dir from the examples (never overwrites a file); nothing remote. */
export function initAction(flags: Flags, env: NodeJS.ProcessEnv, reporter: Reporter): ActionResult {
  const settings = resolveSettings({ deployDir: flags.deployDir }, { HONEYDUE_DEPLOY_DIR: env.HONEYDUE_DEPLOY_DIR });
  fs.mkdirSync(settings.deployDir, { recursive: true, mode: 0o700 });
  const created = createMissingFiles(settings.deployDir);
  if (writeGitignore(settings.deployDir)) created.push('.gitignore');
  for (const rel of created) reporter.line(`created ${path.join(settings.deployDir, rel)} — ${whatToFill(rel)}`);
  // commented, not executable samples: a hook runs only once it is renamed and made executable
  for (const name of HOOK_NAMES) {
    const file = path.join(settings.deployDir, HOOKS_DIR, `${name}.sample`);
    if (fs.existsSync(file) || fs.existsSync(path.join(settings.deployDir, HOOKS_DIR, name))) continue;
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, hookSample(name), { mode: 0o644, flag: 'wx' });
    created.push(path.join(HOOKS_DIR, `${name}.sample`));
    reporter.line(`created ${file} — a commented sample (not run): rename it to ${name} and chmod +x it to use it`);
  }
  // run from a subfolder of the app repository: the build context is the folder above that holds the Dockerfile
  const context = env.BUILD_CONTEXT || findContext(process.cwd()) || '.';
  const leak = deployDirInBuildContext(settings.deployDir, context, env.DOCKERFILE || path.join(context, 'Dockerfile'));
  if (leak) reporter.warn(leak.replace(/^[^:]+: \(file\): /, ''));
  const contextFlag = !env.BUILD_CONTEXT && path.resolve(context) !== process.cwd() ? ` --context ${path.relative(process.cwd(), context) || '.'}` : '';
  const text = created.length
    ? `created ${created.length} file(s) in ${settings.deployDir}; fill them in, then run \`npx --no-install honeydue-deploy plan --deploy-dir ${settings.deployDir}${contextFlag}\``
    : `every file already exists in ${settings.deployDir}; nothing was created`;
  return { exitCode: EXIT.ok, finalLine: finalLine(EXIT.ok, `${text}; nothing on the cluster was touched`) };
}
