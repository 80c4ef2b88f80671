/**
 * The stack as `docker service inspect` and `docker stack ps` print it, parsed into the views the judgements read.
 */
export interface ServiceView {
  name: string;
  specImage: string;
  /** undefined for global services */
  replicas?: number;
  updateState?: string;
  previousSpecImage?: string;
  /** the digest the spec pins (`…@sha256:…`): the same tag pushed again has a new one */
  specDigest?: string;
  /** max_replicas_per_node (0 and unset: no limit) */
  maxPerNode?: number;
  /** it publishes a port in host mode: one task per node */
  hostPort?: boolean;
  /** the ports it publishes in host mode */
  hostPorts?: number[];
  /** its placement constraints, as swarm keeps them */
  constraints?: string[];
  /** what it reserves per task (deploy.resources.reservations) */
  reserves?: { cpus?: number; memoryBytes?: number };
}

export interface TaskView {
  id?: string;
  /** the node's hostname, as `docker stack ps` names it */
  node?: string;
  /** the node's ID (hostnames repeat: a node that joined again leaves its old entry behind) */
  nodeId?: string;
  service: string;
  image: string;
  /** the digest the task runs (`…@sha256:…`), when its image names one */
  digest?: string;
  running: boolean;
  state: string;
  error: string;
  /** swarm wants it running (not a shut-down task of the history) */
  desiredRunning?: boolean;
  /** it ended in failure: Failed or Rejected */
  failed?: boolean;
}

export function digestOf(image: string): string | undefined {
  const at = image.indexOf('@');
  return at === -1 ? undefined : image.slice(at + 1);
}

export function stripDigest(image: string): string {
  const at = image.indexOf('@');
  return at === -1 ? image : image.slice(0, at);
}

/**
 * The comparable form of an image reference: no digest, an explicit tag (`:latest` when none), and no
 * implicit Docker Hub prefix — `redis`, `redis:latest` and `docker.io/library/redis:latest@sha256:…` are one.
 */
export function normalizeImage(image: string): string {
  let ref = stripDigest(image).replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '').replace(/^index\.docker\.io\//, '');
  const lastPart = ref.slice(ref.lastIndexOf('/') + 1);
  if (!lastPart.includes(':')) ref += ':latest';
  return ref;
}

interface InspectJson {
  Spec?: {
    Name?: string;
    Mode?: { Replicated?: { Replicas?: number }; Global?: object };
    TaskTemplate?: {
      ContainerSpec?: { Image?: string };
      Placement?: { Constraints?: string[]; MaxReplicas?: number };
      Resources?: { Reservations?: { NanoCPUs?: number; MemoryBytes?: number } };
    };
    EndpointSpec?: { Ports?: Array<{ PublishMode?: string; PublishedPort?: number }> };
  };
  PreviousSpec?: { TaskTemplate?: { ContainerSpec?: { Image?: string } } } | null;
  UpdateStatus?: { State?: string } | null;
}

function jsonLines<T>(text: string): T[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);
}

export function parseServices(text: string): ServiceView[] {
  return jsonLines<InspectJson>(text).map((s) => ({
    name: s.Spec?.Name ?? '?',
    specImage: normalizeImage(s.Spec?.TaskTemplate?.ContainerSpec?.Image ?? ''),
    replicas: s.Spec?.Mode?.Replicated ? (s.Spec.Mode.Replicated.Replicas ?? 1) : undefined,
    updateState: s.UpdateStatus?.State ?? undefined,
    previousSpecImage: s.PreviousSpec?.TaskTemplate?.ContainerSpec?.Image ? normalizeImage(s.PreviousSpec.TaskTemplate.ContainerSpec.Image) : undefined,
    ...(digestOf(s.Spec?.TaskTemplate?.ContainerSpec?.Image ?? '') ? { specDigest: digestOf(s.Spec!.TaskTemplate!.ContainerSpec!.Image!) } : {}),
    ...(s.Spec?.TaskTemplate?.Placement?.MaxReplicas ? { maxPerNode: s.Spec.TaskTemplate.Placement.MaxReplicas } : {}),
    ...(s.Spec?.EndpointSpec?.Ports?.some((p) => p.PublishMode === 'host')
      ? { hostPort: true, hostPorts: s.Spec.EndpointSpec.Ports.filter((p) => p.PublishMode === 'host' && p.PublishedPort !== undefined).map((p) => p.PublishedPort!) }
      : {}),
    ...(s.Spec?.TaskTemplate?.Placement?.Constraints?.length ? { constraints: s.Spec.TaskTemplate.Placement.Constraints } : {}),
    ...(s.Spec?.TaskTemplate?.Resources?.Reservations?.NanoCPUs || s.Spec?.TaskTemplate?.Resources?.Reservations?.MemoryBytes
      ? { reserves: { cpus: (s.Spec.TaskTemplate.Resources.Reservations.NanoCPUs ?? 0) / 1e9 || undefined, memoryBytes: s.Spec.TaskTemplate.Resources.Reservations.MemoryBytes || undefined } }
      : {}),
  }));
}

interface TaskJson {
  ID?: string;
  Node?: string;
  Name?: string;
  Image?: string;
  CurrentState?: string;
  DesiredState?: string;
  Error?: string;
}

export function parseTasks(text: string): TaskView[] {
  return jsonLines<TaskJson>(text).map((t) => {
    // history rows may carry the ` \_ ` tree prefix of `docker service ps`
    const name = (t.Name ?? '').replace(/^[\s\\_]+/, '');
    const state = t.CurrentState ?? '';
    return {
      id: t.ID,
      node: t.Node || undefined,
      desiredRunning: t.DesiredState === undefined ? true : t.DesiredState === 'Running',
      failed: /^(Failed|Rejected)\b/.test(state),
      // task names are <service>.<slot> (replicated) or <service>.<node id> (global)
      service: name.slice(0, name.lastIndexOf('.') === -1 ? name.length : name.lastIndexOf('.')),
      image: normalizeImage(t.Image ?? ''),
      ...(digestOf(t.Image ?? '') ? { digest: digestOf(t.Image ?? '') } : {}),
      running: /^Running\b/.test(state),
      state: state.split(' ')[0] ?? '',
      error: t.Error ?? '',
    };
  });
}

