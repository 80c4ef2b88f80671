import { local, onManager, secretStdin, type Command, type Where } from './command.js';

/** Registries on loopback are reached over plain HTTP, as the docker daemon itself allows for 127.0.0.0/8. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(1, registry.indexOf(']')) : registry.split(':')[0] ?? '';
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function on(where: Where, argv: string[], extra: Omit<Command, 'where' | 'argv'> = {}): Command {
  return where === 'local' ? local(argv, extra) : onManager(argv, extra);
}

/** The token goes to stdin, never to argv. */
export function registryLogin(where: Where, registry: string, username: string, token: string): Command {
  return on(where, ['docker', 'login', registry, '--username', username, '--password-stdin'], {
    stdin: secretStdin('registry.env REGISTRY_TOKEN', token),
  });
}

export function registryLogout(where: Where, registry: string): Command {
  return on(where, ['docker', 'logout', registry]);
}

export function buildxVersion(): Command {
  return local(['docker', 'buildx', 'version']);
}

/** The current buildx builder: its driver decides what it can build (the docker driver: one platform). */
export function buildxInspect(): Command {
  return local(['docker', 'buildx', 'inspect']);
}

export interface BakeTarget {
  context: string;
  dockerfile: string;
  target: string;
  tags: string[];
  args?: Record<string, string>;
  platforms?: string[];
}

export interface BakeDefinition {
  group: { default: { targets: string[] } };
  target: Record<string, BakeTarget>;
}

/** One build graph for several images, built and pushed in one invocation; the definition travels on stdin. */
export function buildxBake(definition: BakeDefinition): Command {
  return local(['docker', 'buildx', 'bake', '--file', '-', '--push'], {
    stdin: { secret: false, label: `bake definition (JSON: targets ${definition.group.default.targets.join(', ')}; tags ${Object.values(definition.target).flatMap((t) => t.tags).join(', ')})`, data: `${JSON.stringify(definition, null, 2)}\n` },
  });
}

export interface BuildSpec {
  target: string;
  image: string;
  latestImage?: string;
  context: string;
  dockerfile: string;
  buildArgs: readonly string[];
  platform?: string;
}

function buildArgFlags(spec: BuildSpec): string[] {
  return spec.buildArgs.flatMap((arg) => ['--build-arg', arg]);
}

function tagFlags(spec: BuildSpec): string[] {
  return ['-t', spec.image, ...(spec.latestImage ? ['-t', spec.latestImage] : [])];
}

/**
 * The classic builder: works everywhere docker does, including where buildx is not installed. No
 * DOCKER_BUILDKIT=1 here: a 23+ client without buildx refuses to build at all when it is set.
 */
export function dockerBuild(spec: BuildSpec): Command {
  return local(['docker', 'build', '--target', spec.target, ...tagFlags(spec), ...buildArgFlags(spec), '-f', spec.dockerfile, spec.context]);
}

/** buildx builds and pushes in one go, for the platform of the swarm nodes when it is given. */
export function dockerBuildxBuild(spec: BuildSpec): Command {
  return local([
    'docker', 'buildx', 'build',
    ...(spec.platform ? ['--platform', spec.platform] : []),
    '--target', spec.target, ...tagFlags(spec), ...buildArgFlags(spec),
    '--push', '-f', spec.dockerfile, spec.context,
  ]);
}

export function dockerPush(image: string): Command {
  return local(['docker', 'push', image]);
}

/** Asks the registry (with the login of the machine it runs on) whether a tag exists, without pulling it. */
export function manifestInspect(image: string, registry: string, where: Where = 'local', opts: { verbose?: boolean } = {}): Command {
  return on(where, ['docker', 'manifest', 'inspect', ...(isLoopbackRegistry(registry) ? ['--insecure'] : []), ...(opts.verbose ? ['--verbose'] : []), image]);
}

/**
 * Logs in to the registry inside a throwaway docker config on the manager and checks that each image is there;
 * prints `missing IMAGE` per absent one. Exit 2 when the login is refused. Changes nothing that stays.
 */
export function registryProbe(registry: string, username: string, token: string, images: readonly string[]): Command {
  const insecure = isLoopbackRegistry(registry) ? '--insecure ' : '';
  return onManager(
    [
      'sh', '-c',
      [
        'd="$(mktemp -d)"; export DOCKER_CONFIG="$d"; r="$1"; u="$2"; shift 2',
        'if ! docker login "$r" --username "$u" --password-stdin >/dev/null 2>"$d/err"; then tail -n 1 "$d/err"; rm -rf "$d"; exit 2; fi',
        `for i in "$@"; do docker manifest inspect ${insecure}"$i" >/dev/null 2>&1 || echo "missing $i"; done`,
        'rm -rf "$d"',
      ].join('\n'),
      'sh', registry, username, ...images,
    ],
    { stdin: secretStdin('registry.env REGISTRY_TOKEN', token) },
  );
}

export function dockerServerVersion(): Command {
  return onManager(['docker', 'version', '--format', '{{.Server.Version}}']);
}

export function dockerRootDir(): Command {
  return onManager(['docker', 'info', '--format', '{{.DockerRootDir}}']);
}

/** Free space (POSIX df, 1K blocks) where docker keeps images and volumes. */
export function freeDisk(dir: string): Command {
  return onManager(['df', '-Pk', dir]);
}

/** The stack's networks and services, as JSON lines, for the doctor's checks. */
export function inspectStackNetworks(stack: string): Command {
  return onManager(['sh', '-c', 'ids="$(docker network ls --quiet --filter "label=com.docker.stack.namespace=$1")"; [ -z "$ids" ] || docker network inspect --format "{{json .}}" $ids', 'sh', stack]);
}

export function swarmInfo(): Command {
  return onManager(['docker', 'info', '--format', '{{json .Swarm}}']);
}

/**
 * The swarm state of this node (one JSON line), then `quorum` or `no-quorum`: a manager without quorum answers
 * `docker info` but no request that needs the Raft leader (`docker node ls` fails, or hangs: bounded to 15s).
 */
export function swarmQuorum(): Command {
  return onManager(['sh', '-c', 'docker info --format "{{json .Swarm}}" || exit $?\nif timeout 15 docker node ls -q >/dev/null 2>&1; then echo quorum; else echo no-quorum; fi']);
}

export function stackConfig(stackFile: string): Command {
  return local(['docker', 'stack', 'config', '-c', stackFile]);
}

/** Every node of the swarm, one JSON line each (ID, hostname, address, role, state, availability). */
/** The spec of every service in the swarm (every stack's), one JSON line each; nothing when there is none. */
export function allServiceSpecs(): Command {
  return onManager(['sh', '-c', 'ids=$(docker service ls -q) || exit $?\n[ -z "$ids" ] || exec docker service inspect --format "{{json .Spec}}" $ids']);
}

export function inspectNodes(): Command {
  return onManager(['sh', '-c', 'docker node inspect --format "{{json .}}" $(docker node ls --quiet)']);
}
