import { onManager, type Command } from './command.js';

/**
 * Small remote file operations. Where a shell feature is needed (redirection, &&), the script is a fixed
 * string and every value travels as a positional parameter ("$1", "$2"), so no value is ever parsed as shell.
 */
function script(body: string, args: readonly string[], stdin?: { label: string; data: string }): Command {
  return onManager(['sh', '-c', body, 'sh', ...args], stdin ? { stdin: { secret: false, ...stdin } } : {});
}

/**
 * The remote dir holds the release records, the lock and the audit log: it must be the deploy user's own,
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

export function readFile(path: string): Command {
  return onManager(['cat', '--', path]);
}

/** Reads the known-good pointer; prints nothing (exit 0) when there is none yet. */
export function readCurrentPointer(remoteDir: string): Command {
  return script('if [ -f "$1/current" ]; then cat "$1/current"; fi', [remoteDir]);
}

/** Atomic: a reader sees the old pointer or the new one, never half a file. */
export function writeCurrentPointer(remoteDir: string, deployId: string): Command {
  return script('printf "%s\\n" "$2" > "$1/current.tmp" && mv -f "$1/current.tmp" "$1/current"', [remoteDir, deployId]);
}

/** One line per release that became known-good, oldest first: what `rollback` walks back through. */
export function appendHistory(remoteDir: string, deployId: string): Command {
  return script('printf "%s\\n" "$2" >> "$1/history"', [remoteDir, deployId]);
}

export function readHistory(remoteDir: string): Command {
  return script('if [ -f "$1/history" ]; then cat "$1/history"; fi', [remoteDir]);
}

/** Every release record (release.json), each followed by a line holding only the ASCII record separator. */
export function readReleaseRecords(remoteDir: string): Command {
  return script('for f in "$1"/releases/*/release.json; do if [ -f "$f" ]; then cat "$f"; printf "\\n\\036\\n"; fi; done', [remoteDir]);
}

export function readAuditLog(remoteDir: string): Command {
  return script('if [ -f "$1/audit.log" ]; then cat "$1/audit.log"; fi', [remoteDir]);
}

export function listReleases(remoteDir: string): Command {
  return script('if [ -d "$1/releases" ]; then ls -1 "$1/releases"; fi', [remoteDir]);
}

export function removeReleaseDirs(remoteDir: string, ids: readonly string[]): Command {
  return onManager(['rm', '-rf', '--', ...ids.map((id) => `${remoteDir}/releases/${id}`)]);
}

/** mkdir is atomic: exactly one of two racing deploys creates the folder. */
export function acquireLock(remoteDir: string, ownerJson: string): Command {
  return script('mkdir -p "$1" && mkdir "$1/lock" 2>/dev/null && cat > "$1/lock/owner.json"', [remoteDir], {
    label: 'lock owner record (JSON)',
    data: ownerJson,
  });
}

export function readLockOwner(remoteDir: string): Command {
  return script('cat "$1/lock/owner.json" 2>/dev/null || true', [remoteDir]);
}

/** Only removes the lock when this run's deploy id holds it. */
export function releaseLock(remoteDir: string, deployId: string): Command {
  return script('if grep -qF -- "\\"$2\\"" "$1/lock/owner.json" 2>/dev/null; then rm -rf -- "$1/lock"; fi', [remoteDir, deployId]);
}

export function lockExists(remoteDir: string): Command {
  return onManager(['test', '-d', `${remoteDir}/lock`]);
}

export function forceUnlock(remoteDir: string): Command {
  return onManager(['rm', '-rf', '--', `${remoteDir}/lock`]);
}

export function appendAudit(remoteDir: string, line: string): Command {
  return script('mkdir -p "$1" && cat >> "$1/audit.log"', [remoteDir], { label: 'one audit line (JSON)', data: `${line}\n` });
}
