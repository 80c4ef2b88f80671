import { onManager, type Command } from './command.js';

/**
 * Small remote file operations. Where a shell feature is needed (redirection, &&), the script is a fixed
 * string and every value travels as a positional parameter ("$1", "$2"), so no value is ever parsed as shell.
 */
function script(body: string, args: readonly string[], stdin?: { label: string; data: string }): Command {
  return onManager(['sh', '-c', body, 'sh', ...args], stdin ? { stdin: { secret: false, ...stdin } } : {});
}

/**
 * The remote dir is the working folder (release folders, the run's private docker config): it must be the deploy user's own,
 * a real folder, and writable by nobody else. Exit 3 with the reason on stdout when it is not; otherwise it is
 * made owner-only (earlier versions created it 0755).
 */
export function checkRemoteDir(remoteDir: string, opts: { fix: boolean } = { fix: true }): Command {
  return script(
    [
      'd="$1"',
      'if [ -L "$d" ]; then echo "is a symbolic link"; exit 3; fi',
      'if [ ! -e "$d" ]; then exit 0; fi',
      'if [ ! -d "$d" ]; then echo "is not a folder"; exit 3; fi',
      'if [ "$(stat -c %u "$d")" != "$(id -u)" ]; then echo "belongs to $(stat -c %U "$d"), not to $(id -un)"; exit 3; fi',
      'if [ -n "$(find "$d" -maxdepth 0 \\( -perm -g+w -o -perm -o+w \\))" ]; then echo "is writable by group or others (mode $(stat -c %a "$d"))"; exit 3; fi',
      ...(opts.fix ? ['chmod 700 "$d"'] : ['if [ ! -w "$d" ]; then echo "is not writable by $(id -un)"; exit 3; fi']),
    ].join('\n'),
    [remoteDir],
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
