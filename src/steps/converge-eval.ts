/**
 * Pure judgement of convergence from `docker service inspect` and `docker stack ps` JSON lines.
 * REPLICAS N/N is not success: after swarm's own auto-rollback the old image runs N/N.
 */
export interface ServiceView {
  name: string;
  specImage: string;
  /** undefined for global services */
  replicas?: number;
  updateState?: string;
  previousSpecImage?: string;
}

export interface TaskView {
  id?: string;
  service: string;
  image: string;
  running: boolean;
  state: string;
  error: string;
  /** swarm wants it running (not a shut-down task of the history) */
  desiredRunning?: boolean;
  /** it ended in failure: Failed or Rejected */
  failed?: boolean;
}

export type ServiceStatus = 'converged' | 'waiting' | 'failed';

export interface ServiceJudgement {
  name: string;
  status: ServiceStatus;
  text: string;
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
    TaskTemplate?: { ContainerSpec?: { Image?: string } };
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
  }));
}

interface TaskJson {
  ID?: string;
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
      desiredRunning: t.DesiredState === undefined ? true : t.DesiredState === 'Running',
      failed: /^(Failed|Rejected)\b/.test(state),
      // task names are <service>.<slot> (replicated) or <service>.<node id> (global)
      service: name.slice(0, name.lastIndexOf('.') === -1 ? name.length : name.lastIndexOf('.')),
      image: normalizeImage(t.Image ?? ''),
      running: /^Running\b/.test(state),
      state: state.split(' ')[0] ?? '',
      error: t.Error ?? '',
    };
  });
}

const FAILED_STATES = new Set(['rollback_started', 'rollback_completed', 'rollback_paused', 'paused']);

export interface JudgeOptions {
  /**
   * Waiting for a rollback: `rollback_completed` on the intended (previous) image is success. Redeploying the
   * known-good stack file after swarm's own auto-rollback changes nothing, so that state stays.
   */
  rollingBack?: boolean;
  /** task IDs that existed before this run's stack deploy: their failures are not this release's */
  tasksBefore?: ReadonlySet<string>;
}

/** A release whose tasks fail again and again is judged at once: this many failures, or one error seen twice. */
export const CRASH_LOOP_FAILURES = 3;

/** The failures of this release's tasks of a service: a crash loop when there are 3, or the same error twice. */
export function crashLoop(mine: TaskView[], intended: string, before: ReadonlySet<string>): string | undefined {
  const failed = mine.filter((t) => t.failed && t.image === intended && !(t.id && before.has(t.id)));
  if (!failed.length) return undefined;
  const errors = failed.map((t) => t.error || t.state);
  const repeated = errors.find((e, i) => e && errors.indexOf(e) !== i);
  if (failed.length < CRASH_LOOP_FAILURES && !repeated) return undefined;
  return `${failed.length} task${failed.length === 1 ? '' : 's'} of the new image failed (${repeated ?? errors[0]})`;
}

export function judgeService(svc: ServiceView | undefined, name: string, intended: string, tasks: TaskView[], opts: JudgeOptions = {}): ServiceJudgement {
  if (!svc) return { name, status: 'waiting', text: `${name}: not created yet` };
  const all = tasks.filter((t) => t.service === name);
  // the tasks swarm wants running; the others are history (shut down, failed)
  const mine = all.filter((t) => t.desiredRunning !== false);
  const running = mine.filter((t) => t.running);
  const onImage = running.filter((t) => t.image === intended);
  const want = svc.replicas;
  const count = `${onImage.length}/${want ?? 'global'}`;
  const rolledBackToIntended = opts.rollingBack === true && svc.updateState === 'rollback_completed' && svc.specImage === intended;
  // while a rollback is what we wait for, swarm rolling back is progress, not failure
  const rollbackInProgress = opts.rollingBack === true && svc.updateState === 'rollback_started';
  if (svc.updateState && FAILED_STATES.has(svc.updateState) && !rolledBackToIntended && !rollbackInProgress) {
    const why = mine.find((t) => t.error)?.error;
    return {
      name,
      status: 'failed',
      text: `${name}: update ${svc.updateState.replace('_', ' ')} by swarm (running ${svc.specImage})${why ? `: ${why}` : ''}`,
    };
  }
  if (!opts.rollingBack) {
    const loop = crashLoop(all, intended, opts.tasksBefore ?? new Set());
    if (loop) return { name, status: 'failed', text: `${name}: crash loop: ${loop}` };
  }
  if (svc.specImage !== intended) return { name, status: 'waiting', text: `${name}: spec still on ${svc.specImage}` };
  const settled = svc.updateState === undefined || svc.updateState === 'completed' || rolledBackToIntended;
  const enough = want === undefined ? onImage.length > 0 : onImage.length === want;
  if (enough && running.length === onImage.length && settled) return { name, status: 'converged', text: `${name}: ${count} ok` };
  const err = all.find((t) => t.error && !t.running && !(t.id && opts.tasksBefore?.has(t.id)))?.error;
  const phase = svc.updateState && !settled ? ` ${svc.updateState}` : '';
  return { name, status: 'waiting', text: `${name}: ${count}${phase}${err ? ` (${err})` : ''}` };
}

/** intended: full service name (<stack>_<service>) -> image without digest */
export function judgeAll(services: ServiceView[], tasks: TaskView[], intended: Record<string, string>, opts: JudgeOptions = {}): ServiceJudgement[] {
  const byName = new Map(services.map((s) => [s.name, s]));
  return Object.entries(intended).map(([name, image]) => judgeService(byName.get(name), name, normalizeImage(image), tasks, opts));
}
