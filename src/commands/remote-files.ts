import { onManager, type Command } from './command.js';

/**
 * Small remote file operations. Where a shell feature is needed (redirection, &&), the script is a fixed
 * string and every value travels as a positional parameter ("$1", "$2"), so no value is ever parsed as shell.
 */
function script(body: string, args: readonly string[], stdin?: { label: string; data: string }): Command {
  return onManager(['sh', '-c', body, 'sh', ...args], stdin ? { stdin: { secret: false, ...stdin } } : {});
}

/** The file in the working folder naming the one stack whose folder it is. */
export const STACK_MARKER = '.honeydue-stack';

/**
 * The remote dir is the working folder (release folders, the run's private docker config) of ONE stack: it must be
 * the deploy user's own, a real folder, and writable by nobody else. Exit 3 with the reason on stdout when it is not;
 * exit 4 with the other stack's name on stdout when it is that stack's working folder (a run cleans up its folder:
 * two stacks sharing one would remove each other's registry login and release folders). With `fix` it is created
 * owner-only (earlier versions created it 0755) and claimed for the stack (the marker is created exclusively, so
 * two stacks racing for a new folder cannot both have it).
 */
export function checkRemoteDir(remoteDir: string, stack: string, opts: { fix: boolean } = { fix: true }): Command {
  return script(
    [
      'd="$1"',
      'if [ -L "$d" ]; then echo "is a symbolic link"; exit 3; fi',
      opts.fix ? 'if [ ! -e "$d" ]; then mkdir -p -m 0700 "$d" || exit $?; fi' : 'if [ ! -e "$d" ]; then exit 0; fi',
      'if [ ! -d "$d" ]; then echo "is not a folder"; exit 3; fi',
      'if [ "$(stat -c %u "$d")" != "$(id -u)" ]; then echo "belongs to $(stat -c %U "$d"), not to $(id -un)"; exit 3; fi',
      'if [ -n "$(find "$d" -maxdepth 0 \\( -perm -g+w -o -perm -o+w \\))" ]; then echo "is writable by group or others (mode $(stat -c %a "$d"))"; exit 3; fi',
      ...(opts.fix ? ['chmod 700 "$d"', `if [ ! -e "$d/${STACK_MARKER}" ]; then (set -C; printf "%s\\n" "$2" > "$d/${STACK_MARKER}") 2>/dev/null; fi`] : ['if [ ! -w "$d" ]; then echo "is not writable by $(id -un)"; exit 3; fi']),
      `o=$(head -n 1 "$d/${STACK_MARKER}" 2>/dev/null)`,
      'if [ -n "$o" ] && [ "$o" != "$2" ]; then printf "%s\\n" "$o"; exit 4; fi',
    ].join('\n'),
    [remoteDir, stack],
  );
}

/** The run's private docker configuration on the manager: beside the release records, owner-only. */
export function remoteDockerConfigDir(remoteDir: string, deployId: string): string {
  return `${remoteDir}/docker-config.${deployId}`;
}

/**
 * Creates the run's private docker config on the manager (0700) and prints its absolute path (DOCKER_CONFIG
 * must be absolute: some commands run in the release folder). Folders of earlier runs are removed first:
 * under the deploy lock, any other is a killed run's, credential and all. CLI plugins and contexts are linked
 * from the user's docker config; config.json, without credentials, is uploaded by the caller.
 */
export function setupRemoteDockerConfig(remoteDir: string, deployId: string): Command {
  return script(
    [
      'rm -rf "$1"/docker-config.*',
      'mkdir -p -m 0700 "$1/docker-config.$2"',
      'src="${DOCKER_CONFIG:-$HOME/.docker}"',
      'for sub in cli-plugins contexts; do if [ -e "$src/$sub" ]; then ln -s "$src/$sub" "$1/docker-config.$2/$sub"; fi; done',
      'cd "$1/docker-config.$2" && pwd',
    ].join('\n'),
    [remoteDir, deployId],
  );
}

/** The user's own docker config.json on the manager (empty when there is none). */
export function readUserDockerConfig(): Command {
  return script('cat "${DOCKER_CONFIG:-$HOME/.docker}/config.json" 2>/dev/null || true', []);
}

export function removeRemoteDockerConfig(dir: string): Command {
  return onManager(['rm', '-rf', '--', dir]);
}

export function makeReleaseDir(remoteDir: string, releaseDir: string): Command {
  return onManager(['mkdir', '-p', '-m', '0700', remoteDir, `${remoteDir}/releases`, releaseDir]);
}

export function listReleases(remoteDir: string): Command {
  return script('if [ -d "$1/releases" ]; then ls -1 "$1/releases"; fi', [remoteDir]);
}

export function removeReleaseDirs(remoteDir: string, ids: readonly string[]): Command {
  return onManager(['rm', '-rf', '--', ...ids.map((id) => `${remoteDir}/releases/${id}`)]);
}
