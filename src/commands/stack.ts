import { onManager, partsCommand, type Command } from './command.js';

export const STACK_FILE = 'swarm-stack.yml';
export const ENV_FILE = 'prod.env';
export const RELEASE_FILE = 'release.json';

/**
 * Runs inside the release folder so that `env_file: prod.env` resolves beside the stack file.
 * `--prune` is used for rollbacks only: the previous release's file is the whole truth then.
 */
export function stackDeploy(stack: string, releaseDir: string, opts: { prune?: boolean } = {}): Command {
  return onManager(
    ['docker', 'stack', 'deploy', '--with-registry-auth', ...(opts.prune ? ['--prune'] : []), '-c', STACK_FILE, stack],
    { cwd: releaseDir },
  );
}

export function stackServiceIds(stack: string): Command {
  return onManager(['docker', 'stack', 'services', '--quiet', stack]);
}

export function inspectServices(ids: readonly string[]): Command {
  return onManager(['docker', 'service', 'inspect', '--format', '{{json .}}', ...ids]);
}

/** Every task of the stack, the recent history included (failed and shut-down tasks): for crash loops. */
export function stackTasks(stack: string): Command {
  return onManager(['docker', 'stack', 'ps', stack, '--no-trunc', '--format', '{{json .}}']);
}

export interface LogOptions {
  since?: string;
  tail?: string;
  follow?: boolean;
}

/** A service's logs, all its tasks interleaved, each line prefixed with the task and node. */
export function serviceLogs(service: string, o: LogOptions = {}): Command {
  return onManager(['docker', 'service', 'logs', ...(o.since ? ['--since', o.since] : []), ...(o.tail ? ['--tail', o.tail] : []), ...(o.follow ? ['--follow'] : []), service]);
}

/** What a person watches after redeploying by hand. */
export function stackPs(stack: string): Command {
  return onManager(['docker', 'stack', 'ps', stack, '--filter', 'desired-state=running']);
}

export function stackServices(stack: string): Command {
  return onManager(['docker', 'stack', 'services', stack]);
}

export function serviceRollback(service: string): Command {
  return onManager(['docker', 'service', 'rollback', '--detach', service]);
}

/** Stops every task of a service (on every node) without removing it, so that its end can be watched. */
export function serviceScaleToZero(service: string): Command {
  return onManager(['docker', 'service', 'scale', '--detach', `${service}=0`]);
}

/** The current state of every task of a service, one per line, whichever node it runs on. */
export function serviceTaskStates(service: string): Command {
  return onManager(['docker', 'service', 'ps', '--format', '{{.CurrentState}}', service]);
}

/**
 * Lets a rolling update replace every task it can at once. A rolling update (parallelism 1) waits forever for a
 * replica it cannot place while a node is down; this lets it finish on the nodes that are up. The next deploy of
 * the stack file sets the update parallelism back.
 */
export function serviceUpdateAllAtOnce(service: string): Command {
  return onManager(['docker', 'service', 'update', '--detach', '--update-parallelism', '0', service]);
}

export function serviceRemove(service: string): Command {
  return onManager(['docker', 'service', 'rm', service]);
}

export function stackRemove(stack: string): Command {
  return onManager(['docker', 'stack', 'rm', stack]);
}

/** The spec of every service of the stack, one JSON per line (nothing on a first deploy). */
export function stackServiceSpecs(stack: string): Command {
  return onManager([
    'sh', '-c',
    'ids=$(docker stack services -q "$1") || exit $?\n[ -z "$ids" ] || exec docker service inspect --format "{{json .Spec}}" $ids',
    'sh', stack,
  ]);
}

/**
 * Puts a service back on a spec read earlier (its JSON on stdin), through the engine API's service update over
 * `docker system dial-stdio` — the docker CLI has no command that sets a whole spec. What `docker service rollback`
 * cannot do once a second update made PreviousSpec the new spec. The registry credential the service has is kept
 * (the engine keeps it when the update brings none). Exit 0 on HTTP 200; else docker's answer on stderr.
 */
export function restoreServiceSpec(service: string, specJson: string): Command {
  return onManager(
    [
      'sh', '-c',
      [
        'set -e',
        'idv=$(docker service inspect --format "{{.ID}} {{.Version.Index}}" "$1")',
        'spec=$(cat)',
        'len=$(printf "%s" "$spec" | LC_ALL=C wc -c | tr -d " ")',
        'out=$(printf "POST /services/%s/update?version=%s HTTP/1.1\\r\\nHost: docker\\r\\nContent-Type: application/json\\r\\nContent-Length: %s\\r\\nConnection: close\\r\\n\\r\\n%s" "${idv%% *}" "${idv#* }" "$len" "$spec" | docker system dial-stdio)',
        'case $out in "HTTP/1."?" 200"*) exit 0;; esac',
        'printf "%s\\n" "$out" | tail -n 1 >&2',
        'exit 1',
      ].join('\n'),
      'sh', service,
    ],
    // the spec holds the services' environment (prod.env): never printed
    { stdin: { secret: true, label: `the spec ${service} had before this run (JSON)`, data: specJson } },
  );
}

export function stackServiceNames(stack: string): Command {
  return onManager(['docker', 'stack', 'services', '--format', '{{.Name}}', stack]);
}

/** What separates the parts of observeStack's output. */
export const OBSERVE_SEPARATOR = '--- honeydue-deploy: next part ---';

/**
 * One look at the cluster in one remote command: the nodes (`docker node inspect`), the stack's services
 * (`docker service inspect`) and its tasks (`docker stack ps`), each part after a separator line. Exits with the
 * first failing part's code; `docker stack ps` finding nothing yet is not a failure.
 */
export function observeStack(stack: string): Command {
  return partsCommand(
    [
      'docker node inspect --format "{{json .}}" $(docker node ls --quiet) || exit $?',
      'ids=$(docker stack services --quiet "$1") || exit $?\nif [ -n "$ids" ]; then docker service inspect --format "{{json .}}" $ids || exit $?; fi',
      'if [ -n "$ids" ]; then docker stack ps "$1" --no-trunc --format "{{json .}}" 2>/dev/null || true; fi',
      // each task's node by ID: `stack ps` names only the hostname, and hostnames repeat (a node joined again)
      'if [ -n "$ids" ]; then t=$(docker stack ps "$1" --quiet --no-trunc 2>/dev/null); [ -z "$t" ] || docker inspect --type task --format "{{.ID}} {{.NodeID}}" $t 2>/dev/null || true; fi',
    ],
    stack,
    OBSERVE_SEPARATOR,
  );
}
