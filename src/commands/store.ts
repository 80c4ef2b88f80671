/**
 * The tool's memory as swarm configs: kept in the Raft store, so every manager sees the same objects and losing
 * one manager loses none of them. `docker config create NAME` fails when NAME exists, on whichever manager: the
 * lock is that one atomic, cluster-wide step. Configs are readable back (`docker config inspect`), so nothing
 * secret is ever put into one — only ids, outcomes, the rendered stack file and prod.env (which every service's
 * spec shows anyway).
 */
import { onManager, type Command } from './command.js';
import { STACK_LABEL } from './secrets.js';

export const KIND_LABEL = 'com.honeydue.deploy.kind';
export const ID_LABEL = 'com.honeydue.deploy.id';

export type ObjectKind = 'lock' | 'release' | 'mark' | 'audit';

/** Docker refuses configs of 500 KiB and more (as for secrets). */
export const CONFIG_MAX_BYTES = 500 * 1024;

export function objectName(stack: string, kind: ObjectKind, suffix?: string): string {
  return `${stack}_hd-${kind}${suffix ? `_${suffix}` : ''}`;
}

/** Creates one object; the bytes travel on stdin. Fails (exit 1, "already exists") when the name is taken. */
export function createObject(stack: string, kind: ObjectKind, name: string, label: string, data: string, deployId?: string): Command {
  return onManager(
    ['docker', 'config', 'create', '--label', `${STACK_LABEL}=${stack}`, '--label', `${KIND_LABEL}=${kind}`, ...(deployId ? ['--label', `${ID_LABEL}=${deployId}`] : []), name, '-'],
    { stdin: { secret: false, label, data } },
  );
}

/**
 * How an object is printed: the Raft index swarm gave it when it was created, then its JSON spec ({Name, Labels,
 * Data (base64)}). The index orders the objects as the cluster wrote them, whichever laptop's clock was wrong: the
 * tool orders its history by it, never by a time a laptop wrote.
 */
const OBJECT_FORMAT = '{{.Version.Index}} {{json .Spec}}';

/**
 * Every object of the stack (of one kind, or all), one per line as OBJECT_FORMAT, in one remote command; nothing at
 * all when there is none.
 */
export function readObjects(stack: string, kind?: ObjectKind): Command {
  return onManager([
    'sh', '-c',
    `ids=$(docker config ls -q --filter "label=$1=$2" \${4:+--filter "label=$3=$4"}) || exit $?\n[ -z "$ids" ] || exec docker config inspect --format '${OBJECT_FORMAT}' $ids`,
    'sh', STACK_LABEL, stack, KIND_LABEL, kind ?? '',
  ]);
}

/** The stack's objects of one kind as `INDEX NAME` lines, without their data (cheap for long audit trails). */
export function listObjectNames(stack: string, kind: ObjectKind): Command {
  return onManager([
    'sh', '-c',
    'ids=$(docker config ls -q --filter "label=$1=$2" --filter "label=$3=$4") || exit $?\n[ -z "$ids" ] || exec docker config inspect --format "{{.Version.Index}} {{.Spec.Name}}" $ids',
    'sh', STACK_LABEL, stack, KIND_LABEL, kind,
  ]);
}

export function readObject(name: string): Command {
  return onManager(['docker', 'config', 'inspect', '--format', OBJECT_FORMAT, name]);
}

export function removeObjects(names: readonly string[]): Command {
  return onManager(['docker', 'config', 'rm', ...names]);
}

/**
 * Removes the lock only while the given deploy id holds it (its id label); exit 0 also when it is already gone. The
 * object is removed by its swarm ID, not its name, so a lock another run takes in between is never the one removed.
 * Only docker's "no such config" means gone: any other failure (no leader, a lost daemon) exits 1 with docker's words,
 * and the lock is reported as still held.
 */
export function releaseLockObject(name: string, deployId: string): Command {
  return onManager([
    'sh', '-c',
    [
      'if ! line=$(docker config inspect --format "{{.ID}} {{index .Spec.Labels \\"$2\\"}}" "$1" 2>&1); then',
      '  case $line in *"o such config"*|*"not found"*) exit 0;; esac',
      '  printf "%s\\n" "$line" >&2',
      '  exit 1',
      'fi',
      'line=$(printf "%s\\n" "$line" | tail -n 1)',
      '[ "${line#* }" = "$3" ] || exit 0',
      'out=$(docker config rm "${line%% *}" 2>&1) && exit 0',
      'case $out in *"o such config"*|*"not found"*) exit 0;; esac',
      'printf "%s\\n" "$out" >&2',
      'exit 1',
    ].join('\n'),
    'sh', name, ID_LABEL, deployId,
  ]);
}
