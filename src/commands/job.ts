/**
 * The pre-deploy job (DEPLOY_MIGRATE_COMMAND): a one-off swarm task of the new api image, started before the
 * stack is updated, watched until it ends, then removed.
 */
import { onManager, partsCommand, type Command } from './command.js';

/** What the job runs with: the api service's environment, secrets, networks, placement and limits. */
export interface JobSpec {
  name: string;
  stack: string;
  deployId: string;
  image: string;
  /** replaces the image's CMD (the ENTRYPOINT stays), as compose's `command:` */
  command: readonly string[];
  /** the env file the services get (prod.env), relative to `cwd` */
  envFile?: string;
  /** the api service's own `environment:` entries */
  env: Record<string, string>;
  /** swarm secret name -> where the api sees it */
  secrets: Array<{ source: string; target: string }>;
  /** swarm network names */
  networks: string[];
  /** the api's volumes and binds, as `--mount` values (type=volume,source=<stack>_uploads,target=/app/uploads) */
  mounts: string[];
  constraints: string[];
  limitCpu?: string;
  limitMemory?: string;
  /** the release folder on the manager (where prod.env is) */
  cwd: string;
}

export const JOB_KIND = 'migrate';

/** The job's service name: one per stack (runs hold the lock, so never two at once). */
export function jobName(stack: string): string {
  return `${stack}_hd-migrate`;
}

/**
 * `docker service create`: one task (`--replicas 1`) never restarted (`--restart-condition none`): it runs once,
 * and ends Complete (exit 0) or Failed. Not `--mode replicated-job`: before Docker 24, removing a job service
 * leaves its task behind, still running (moby/moby#44312), so a job stopped at its timeout would go on. The registry
 * login is handed to the nodes (`--with-registry-auth`); the command after the image replaces its CMD.
 */
export function createJob(j: JobSpec): Command {
  return onManager(
    [
      'docker', 'service', 'create', '--detach', '--quiet', '--with-registry-auth',
      '--name', j.name,
      '--mode', 'replicated', '--replicas', '1', '--restart-condition', 'none',
      '--label', `com.honeydue.deploy.stack=${j.stack}`, '--label', `com.honeydue.deploy.kind=${JOB_KIND}`, '--label', `com.honeydue.deploy.id=${j.deployId}`,
      ...(j.envFile ? ['--env-file', j.envFile] : []),
      ...Object.entries(j.env).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
      ...j.secrets.flatMap((s) => ['--secret', `source=${s.source},target=${s.target}`]),
      ...j.networks.flatMap((n) => ['--network', n]),
      ...j.mounts.flatMap((m) => ['--mount', m]),
      ...j.constraints.flatMap((c) => ['--constraint', c]),
      ...(j.limitCpu ? ['--limit-cpu', j.limitCpu] : []),
      ...(j.limitMemory ? ['--limit-memory', j.limitMemory] : []),
      j.image,
      ...j.command,
    ],
    { cwd: j.cwd },
  );
}

/** The swarm networks that exist now (the stack's are created by its first deploy). */
export function listNetworks(): Command {
  return onManager(['docker', 'network', 'ls', '--filter', 'scope=swarm', '--format', '{{.Name}}']);
}

/** Separates the job's state line from its log lines in jobStatus's output. */
export const JOB_LOG_MARK = '--- honeydue-deploy: job log ---';

/**
 * One look at the job: its task's state and error (`state|error`, nothing before it is scheduled), then its output
 * so far, stdout and stderr, each line with the time it was written (the two streams come back apart: the times
 * put them in order).
 */
export function jobStatus(name: string): Command {
  return partsCommand(
    [
      'docker service ps "$1" --no-trunc --format "{{.CurrentState}}|{{.Error}}" 2>/dev/null | head -n 1',
      'docker service logs --raw --timestamps "$1" 2>&1 || true',
    ],
    name,
    JOB_LOG_MARK,
  );
}

/** A log line of `docker service logs --timestamps`: its time as a sortable key (nanoseconds padded), and its text. */
export function timedLine(line: string): { key: string; text: string } | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d) (.*)$/.exec(line);
  if (!m) return undefined;
  return { key: `${m[1]}.${(m[2] ?? '').padEnd(9, '0')}${m[3]}`, text: m[4]! };
}

/** Removes the job (and so stops its task when it still runs). */
export function removeJob(name: string): Command {
  return onManager(['docker', 'service', 'rm', name]);
}
