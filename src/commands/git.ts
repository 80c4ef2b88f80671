import { local, type Command } from './command.js';

/**
 * Read-only git in a folder the tool does not own (the app repository, the deploy dir). A repository's own
 * configuration must not run code: no fsmonitor, no hooks, and no optional index lock taken by `status`.
 */
const SAFE = ['-c', 'core.fsmonitor=false', '-c', 'core.hooksPath=/dev/null', '-c', 'core.untrackedCache=false', '--no-optional-locks'];

function git(dir: string, args: readonly string[]): Command {
  return local(['git', ...SAFE, '-C', dir, ...args]);
}

export function gitShortSha(dir: string): Command {
  return git(dir, ['rev-parse', '--short=7', 'HEAD']);
}

/** The filter drivers the repository's configuration defines (`filter.<name>.clean` and the like), one key per line. */
export function gitFilterKeys(dir: string): Command {
  return git(dir, ['config', '--name-only', '--get-regexp', '^filter\\..*\\.(clean|smudge|process)$']);
}

/**
 * `status` compares file contents, which runs the repository's clean filters: each filter driver it defines is
 * switched off (an empty command is no command to git), and submodules (their own configuration) are not entered.
 */
export function gitStatus(dir: string, filterKeys: readonly string[] = []): Command {
  return local(['git', ...SAFE, ...filterKeys.flatMap((k) => ['-c', `${k}=`]), '-C', dir, 'status', '--porcelain', '--untracked-files=normal', '--ignore-submodules=all']);
}

/** Which of these paths (relative to dir) the repository tracks, committed or staged; NUL-separated. */
export function gitTracked(dir: string, paths: readonly string[]): Command {
  return git(dir, ['ls-files', '--cached', '-z', '--', ...paths]);
}
