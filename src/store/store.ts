/**
 * Everything the tool remembers between runs — the deploy lock, the release records, the known-good pointer and
 * history, the audit trail — behind one interface. The swarm implementation (swarm.ts) keeps it in the cluster's
 * own replicated store; memory.ts serves the unit tests; legacy.ts only reads what earlier versions left in the
 * remote dir, for the upgrade.
 */
import type { WatchSummary } from '../watch/samples.js';
import type { AuditRecord } from '../audit.js';
import { goneHolder } from '../io/process-space.js';
import type { SecretDigests } from './withheld.js';

export interface LockOwner {
  who: string;
  pid: number;
  deployId: string;
  gitSha: string | null;
  tag: string;
  startedAt: string;
  /** the manager the run came through (several-manager clusters) */
  via?: string;
  /** the process space the pid belongs to (io/process-space.ts): a later run in the same space can tell it is gone */
  space?: string;
}

/** A release as recorded when it was deployed: everything a rollback to it needs, through any manager. */
export interface ReleaseRecord {
  deployId: string;
  tag: string;
  gitSha?: string | null;
  dirty?: boolean;
  images: Record<string, string>;
  serviceImages: Record<string, string>;
  secretNames: Record<string, string>;
  stack?: string;
  deployedBy?: string;
  deployedAt?: string;
  healthUrl?: string | null;
  healthExpect?: string | null;
  /** the rendered stack file and the services' environment file, byte for byte as deployed */
  stackFile?: string;
  envFile?: string;
  /** records of earlier versions only: secret key -> sha256 of the secret file (read for `diff`, never written) */
  secretHashes?: Record<string, string>;
  /** prod.env keys whose values this record does not keep (their lines are `KEY=`): filled from prod.env when deployed */
  withheld?: string[];
  /** per-record salted, slow digests of the secrets and withheld values: how `diff` tells a change (store/withheld.ts) */
  secretDigests?: SecretDigests;
  /** where the cluster put the record in its order of writes (swarm's Raft index); attached when read, never stored */
  seq?: number;
}

/** A release became the serving known-good one: by a deploy that passed its checks, a rollback, or the upgrade import. */
export interface Mark {
  deployId: string;
  /** the upgrade import's own name for the mark (it resumes by them) */
  key?: string;
  event: 'deploy' | 'rollback' | 'import';
  /** the laptop's time, for people: never used to order marks (a laptop's clock may be off) */
  at?: string;
  /** the cluster's order of writes (swarm's Raft index of the mark's config); attached when read */
  seq?: number;
  /** what the health URL answered while this release was deployed (or rolled back to) */
  watch?: WatchSummary[];
}

export interface StoreState {
  /** the known-good release serving now (the newest mark) */
  current?: string;
  /** the releases that became known-good by a deploy, oldest first (what `rollback` walks back through) */
  history: string[];
  marks: Mark[];
}

export type LockAttempt = { acquired: true } | { acquired: false; holder: string; owner?: LockOwner };

export interface Store {
  /** where the state lives, in words (for the plan and messages) */
  readonly where: string;
  acquireLock(owner: LockOwner): Promise<LockAttempt>;
  /** Removes the lock if this deploy id holds it. */
  releaseLock(deployId: string): Promise<void>;
  /** The holder in words, or undefined when the lock is free. */
  inspectLock(): Promise<string | undefined>;
  /** Removes the lock whoever holds it; false when there was none. */
  forceUnlock(): Promise<boolean>;
  recordRelease(record: ReleaseRecord): Promise<void>;
  listReleases(): Promise<ReleaseRecord[]>;
  readRelease(deployId: string): Promise<ReleaseRecord | undefined>;
  removeReleases(deployIds: readonly string[]): Promise<void>;
  /** `key`: a name of its own (the upgrade import): writing it again is a no-op, so an import can be resumed */
  markCurrent(deployId: string, event: Mark['event'], at?: Date, key?: string, watch?: WatchSummary[]): Promise<void>;
  readState(): Promise<StoreState>;
  appendAudit(record: AuditRecord, key?: string): Promise<void>;
  readAudit(): Promise<AuditRecord[]>;
  /** Drops what is no longer needed: marks of releases that are gone, audit records beyond the newest `keepAudit`. */
  compact(keepAudit: number): Promise<void>;
}

/** The owner record as written, when it is one. */
export function parseOwner(data: string | undefined): LockOwner | undefined {
  try {
    const o = JSON.parse(data ?? '') as Partial<LockOwner>;
    return o && typeof o === 'object' && typeof o.pid === 'number' && typeof o.deployId === 'string' ? (o as LockOwner) : undefined;
  } catch {
    return undefined;
  }
}

export function describeOwner(owner: LockOwner | string | undefined): string {
  if (owner === undefined) return 'an unknown owner (no owner record)';
  if (typeof owner === 'string') {
    try {
      return describeOwner(JSON.parse(owner) as LockOwner);
    } catch {
      return owner.trim() ? `an unreadable owner record: ${owner.trim().slice(0, 200)}` : 'an unknown owner (no owner record)';
    }
  }
  const gone = goneHolder(owner);
  return `${owner.who} (pid ${owner.pid}, deploy ${owner.deployId}, git ${owner.gitSha ?? 'n/a'}, since ${owner.startedAt}${owner.via ? `, through ${owner.via}` : ''})${gone ? ` — ${gone}` : ''}`;
}

/**
 * The cluster's order: by the index swarm gave each object when it was written. Objects without one (kept in memory,
 * or from an earlier version's files) keep the order they are given in.
 */
export function byClusterOrder<T extends { seq?: number }>(items: readonly T[]): T[] {
  return items
    .map((item, i) => ({ item, i }))
    .sort((a, b) => (a.item.seq !== undefined && b.item.seq !== undefined ? a.item.seq - b.item.seq : a.i - b.i))
    .map((x) => x.item);
}

/** The state from the marks, in the cluster's order: current is the newest mark, history the releases deploys made known-good. */
export function stateFromMarks(marks: readonly Mark[]): StoreState {
  const sorted = byClusterOrder(marks);
  const history: string[] = [];
  for (const m of sorted) if (m.event !== 'rollback' && !history.includes(m.deployId)) history.push(m.deployId);
  return { current: sorted.at(-1)?.deployId, history, marks: sorted };
}

/** Deploy ids end in _yyyymmddHHMMSS: newest first by that stamp. */
export function byStampNewestFirst(a: string, b: string): number {
  const stamp = (id: string) => /_(\d{14})$/.exec(id)?.[1] ?? '';
  return stamp(b).localeCompare(stamp(a));
}

/** Newest first: by the cluster's order of writes when both have one, else by the stamp that ends a deploy id. */
export function newestFirst(a: { deployId: string; seq?: number }, b: { deployId: string; seq?: number }): number {
  return a.seq !== undefined && b.seq !== undefined ? b.seq - a.seq : byStampNewestFirst(a.deployId, b.deployId);
}

/**
 * The release records to remove: beyond the newest `keep` (in the order the cluster recorded them), never one in
 * `protect` (the known-good release, the previous one, the run in progress) — the decision is made from the
 * cluster-wide record, whichever manager the run came through.
 */
export function selectOldReleases(records: ReadonlyArray<{ deployId: string; seq?: number }>, keep: number, protect: ReadonlySet<string>): string[] {
  const stamped = records.filter((r) => /_(\d{14})$/.test(r.deployId)).sort(newestFirst);
  return stamped.slice(keep).map((r) => r.deployId).filter((id) => !protect.has(id));
}
