/**
 * The hooks of a deploy dir as files: which names are hooks, and what is wrong with a file there. Part of the
 * configuration (a hook that cannot run is a config problem, exit 2); running them is hooks.ts's job.
 */
import fs from 'node:fs';
import path from 'node:path';
import { closest } from '../edit-distance.js';

export const HOOK_NAMES = ['pre-deploy', 'post-deploy', 'pre-rollback', 'post-rollback'] as const;
export type HookName = (typeof HOOK_NAMES)[number];

export interface Hook {
  name: HookName;
  path: string;
}

export const HOOKS_DIR = 'hooks';

/** What each hook is for, in the plan and in `init`'s samples. */
export const HOOK_WHEN: Record<HookName, string> = {
  'pre-deploy': 'before a deploy touches anything on the cluster (after the plan is checked); non-zero stops the deploy, exit 2',
  'post-deploy': 'after every deploy that got past pre-deploy, whatever its outcome (HONEYDUE_OUTCOME, HONEYDUE_EXIT_CODE); a failure is a warning',
  'pre-rollback': 'before `rollback` touches anything on the cluster; non-zero stops it, exit 2',
  'post-rollback': 'after a rollback: the `rollback` command, or a deploy that rolled back; a failure is a warning',
};

/** The hooks of a deploy dir, and what is wrong there: a file that is not a hook, a hook that cannot run. */
export function findHooks(deployDir: string): { hooks: Hook[]; problems: string[] } {
  const dir = path.resolve(deployDir, HOOKS_DIR);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return { hooks: [], problems: [] };
  }
  const hooks: Hook[] = [];
  const problems: string[] = [];
  for (const n of names.sort()) {
    if (n.startsWith('.') || n.endsWith('.sample') || /^README/i.test(n)) continue;
    const file = path.join(dir, n);
    if (!(HOOK_NAMES as readonly string[]).includes(n)) {
      const meant = closest(n.replace(/\.(sh|bash|py|js|rb)$/, ''), HOOK_NAMES) ?? HOOK_NAMES.find((h) => n.startsWith(h));
      problems.push(`${file}: is not a hook name${meant ? ` — did you mean ${meant}?` : ''} (hooks are ${HOOK_NAMES.join(', ')}; keep samples as NAME.sample)`);
      continue;
    }
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      problems.push(`${file}: cannot be read (a broken link?) — fix it or remove it`);
      continue;
    }
    if (!st.isFile()) {
      problems.push(`${file}: is not a regular file — a hook is one executable file`);
      continue;
    }
    try {
      fs.accessSync(file, fs.constants.X_OK);
    } catch {
      problems.push(`${file}: is not executable — run chmod +x ${file} (or rename it to ${n}.sample to keep it unused)`);
      continue;
    }
    hooks.push({ name: n as HookName, path: file });
  }
  return { hooks, problems };
}

