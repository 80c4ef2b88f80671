import path from 'node:path';
import type { WatchSummary } from '../watch/samples.js';
import type { HealthWatcher } from '../watch/watcher.js';
import { display, displayUpload, type Command, type Upload } from '../commands/command.js';
import type { Config } from '../config/index.js';
import type { Settings } from '../config/settings.js';
import { CommandFailed } from '../errors.js';
import type { LocalRunner } from '../io/local.js';
import { tail, type RunResult } from '../io/runner.js';
import type { ManagerSession } from '../io/ssh.js';
import type { Release } from '../release.js';
import type { Reporter } from '../ui/reporter.js';
import type { Interrupt } from '../interrupt.js';
import type { NodeView } from './nodes-eval.js';
import type { ReleaseRecord, Store, StoreState } from '../store/store.js';

/** A release that passed its health check before: what the store's known-good mark names (its record, files and all). */
export type KnownGoodRelease = ReleaseRecord;

/** What this run changed so far: decides cleanup, rollback and the final line. */
export class RunState {
  lockHeld = false;
  /** the lock was taken over from a run that was certainly gone: that run in words (for the audit trail) */
  lockTakenFrom?: string;
  loggedInLocal = false;
  loggedInManager = false;
  /** the run's private docker configs (DOCKER_CONFIG), laptop and manager: removed in finally */
  localDockerConfig?: string;
  remoteDockerConfig?: string;
  createdSecrets: string[] = [];
  /** the release folder was created on the manager */
  uploaded = false;
  /** release folders whose prod.env holds withheld values while the run needs them: deploy id -> the record's form */
  withheldOnDisk = new Map<string, string>();
  /** this run's release record is in the store */
  recorded = false;
  /** `docker stack deploy` was started: from here a failure means rollback */
  stackTouched = false;
  /** service names in the stack before this run's stack deploy */
  servicesBefore = new Set<string>();
  /** each of those services' spec (its JSON as docker printed it) before this run's first stack deploy: what served */
  specsBefore = new Map<string, string>();
  /** task IDs in the stack before this run's stack deploy (their failures are not this release's) */
  tasksBefore = new Set<string>();
  previous?: KnownGoodRelease;
  knownGood = false;
  /** the store as read right after the lock was taken (nobody else writes while it is held) */
  snapshot?: { releases: ReleaseRecord[]; state: StoreState };
  /** the known-good mark was attempted (a resumed run checks whether it landed before marking again) */
  markTried = false;
  /** the swarm's nodes as preflight saw them */
  nodes: NodeView[] = [];
  /** the health URL watched while the stack changes (steps/watch.ts) */
  watch?: { phase: WatchSummary['phase']; watcher: HealthWatcher };
  /** what each watch of this run saw, in order */
  watched: WatchSummary[] = [];
  /** the health URL answered 2xx when asked before anything changed (false: nothing served yet, a first deploy) */
  servedBefore?: boolean;
  /** the release converged on fewer replicas because nodes are down or not available: "on fewer replicas (…): why" */
  degraded?: string;
  /** a pre- hook stopped the run (no post- hook runs then) */
  hookRefused = false;
  /** the rollback of a failed deploy was started */
  rollbackStarted = false;
  /** the pre-deploy job's service while it exists (removed in every case) */
  jobName?: string;
  /** how the pre-deploy job ended: its exit code (null: it never ran to an exit) */
  jobExitCode?: number | null;
  /** what the build targets when DEPLOY_PLATFORM is not set and the nodes run another platform than this machine */
  buildPlatforms?: string[];
}

export interface Ctx {
  cfg: Config;
  settings: Settings;
  release: Release;
  reporter: Reporter;
  local: LocalRunner;
  session?: ManagerSession;
  /** the tool's memory (lock, releases, marks, audit): set once connected */
  store?: Store;
  interrupt: Interrupt;
  state: RunState;
}

/** What a plan needs: the configuration, the settings and the release (no connection). */
export type PlanCtx = Pick<Ctx, 'cfg' | 'settings' | 'release'>;

export type PlanEntry = { kind: 'command'; command: Command } | { kind: 'upload'; upload: Upload } | { kind: 'note'; text: string };

export interface StepPlan {
  title: string;
  entries: PlanEntry[];
}

export const cmd = (command: Command): PlanEntry => ({ kind: 'command', command });
export const upload = (u: Upload): PlanEntry => ({ kind: 'upload', upload: u });
export const note = (text: string): PlanEntry => ({ kind: 'note', text });

export function showEntry(e: PlanEntry): string {
  return e.kind === 'command' ? display(e.command) : e.kind === 'upload' ? displayUpload(e.upload) : `# ${e.text}`;
}

export function store(ctx: Pick<Ctx, 'store'>): Store {
  if (!ctx.store) throw new Error('no store: not connected to the manager');
  return ctx.store;
}

export function manager(ctx: Ctx): ManagerSession {
  if (!ctx.session) throw new Error('no SSH session to the manager');
  return ctx.session;
}

/** Runs a command value on the right runner. */
export function exec(ctx: Ctx, command: Command, opts: { cancel?: AbortSignal } = {}): Promise<RunResult> {
  return command.where === 'local' ? ctx.local.run(command, opts) : manager(ctx).run(command);
}

/** Runs a command and throws CommandFailed (display, exit code, redacted stderr tail) unless it exits 0. */
export async function execChecked(ctx: Ctx, command: Command, what: string, opts: { cancel?: AbortSignal } = {}): Promise<RunResult> {
  const result = await exec(ctx, command, opts);
  if (result.exitCode !== 0) {
    throw new CommandFailed(display(command), result.exitCode, ctx.reporter.redactor.redact(tail(result.stderr || result.stdout)), what);
  }
  return result;
}

/** cluster.env as messages name it: relative to the working folder when it is below it. */
export function clusterEnvShown(cfg: Pick<Ctx['cfg'], 'deployDir'>): string {
  const p = path.join(cfg.deployDir, 'cluster.env');
  return path.relative(process.cwd(), p) || p;
}
