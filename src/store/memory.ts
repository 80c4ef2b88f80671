/** The store in memory: the same contract as the swarm one, for tests of what builds on it. */
import type { WatchSummary } from '../watch/samples.js';
import type { AuditRecord } from '../audit.js';
import { describeOwner, stateFromMarks, type LockAttempt, type LockOwner, type Mark, type ReleaseRecord, type Store, type StoreState } from './store.js';

export class MemoryStore implements Store {
  readonly where = 'memory';
  lock?: LockOwner;
  releases = new Map<string, ReleaseRecord>();
  marks: Mark[] = [];
  audit: AuditRecord[] = [];
  /** the order of writes, as swarm's Raft index gives it */
  private seq = 0;

  async acquireLock(owner: LockOwner): Promise<LockAttempt> {
    if (this.lock) return { acquired: false, holder: describeOwner(this.lock), owner: this.lock };
    this.lock = owner;
    return { acquired: true };
  }
  async releaseLock(deployId: string): Promise<void> {
    if (this.lock?.deployId === deployId) this.lock = undefined;
  }
  async inspectLock(): Promise<string | undefined> {
    return this.lock ? describeOwner(this.lock) : undefined;
  }
  async forceUnlock(): Promise<boolean> {
    const had = this.lock !== undefined;
    this.lock = undefined;
    return had;
  }
  async recordRelease(record: ReleaseRecord): Promise<void> {
    this.written(`release ${record.deployId}`);
    if (!this.releases.has(record.deployId)) this.releases.set(record.deployId, { ...record, seq: ++this.seq });
  }
  async listReleases(): Promise<ReleaseRecord[]> {
    return [...this.releases.values()];
  }
  async readRelease(deployId: string): Promise<ReleaseRecord | undefined> {
    return this.releases.get(deployId);
  }
  async removeReleases(deployIds: readonly string[]): Promise<void> {
    for (const id of deployIds) this.releases.delete(id);
  }
  /** what fails the next write (a test's stand-in for a lost manager) */
  failNext?: (what: string) => Error | undefined;
  private keys = new Set<string>();

  private written(what: string, key?: string): boolean {
    const e = this.failNext?.(what);
    if (e) throw e;
    if (key === undefined) return false;
    if (this.keys.has(key)) return true;
    this.keys.add(key);
    return false;
  }

  async markCurrent(deployId: string, event: Mark['event'], at = new Date(), key?: string, watch?: WatchSummary[]): Promise<void> {
    if (this.written(`mark ${deployId}`, key && `mark ${key}`)) return;
    this.marks.push({ deployId, event, at: at.toISOString(), seq: ++this.seq, ...(key ? { key } : {}), ...(watch?.length ? { watch } : {}) });
  }
  async readState(): Promise<StoreState> {
    return stateFromMarks(this.marks);
  }
  async appendAudit(record: AuditRecord, key?: string): Promise<void> {
    if (this.written('audit', key && `audit ${key}`)) return;
    this.audit.push(record);
  }
  async readAudit(): Promise<AuditRecord[]> {
    return [...this.audit];
  }
  async compact(keepAudit: number): Promise<void> {
    const newest = stateFromMarks(this.marks).marks.at(-1);
    this.marks = this.marks.filter((m) => m === newest || this.releases.has(m.deployId));
    this.audit = this.audit.slice(Math.max(0, this.audit.length - keepAudit));
  }
}
