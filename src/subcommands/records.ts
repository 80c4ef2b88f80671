/**
 * What the cluster remembers about releases: the records, the known-good marks and history, and the audit
 * trail's outcome of each deploy — the same through every manager. Read-only.
 */
import type { AuditRecord } from '../audit.js';
import { store, type Ctx } from '../steps/context.js';
import { readLegacy } from '../store/legacy.js';
import { newestFirst, type ReleaseRecord } from '../store/store.js';
import type { WatchSummary } from '../watch/samples.js';

export type { ReleaseRecord };

export interface ReleaseRow extends ReleaseRecord {
  outcome: string;
  current: boolean;
  knownGood: boolean;
  /** what the health URL answered during its deploy (and the rollback that followed, if any) */
  watch?: WatchSummary[];
}

/** What the audit trail recorded the users saw during each deploy, by deploy id. */
export function watchedDuring(audit: readonly Partial<AuditRecord>[]): Map<string, WatchSummary[]> {
  const out = new Map<string, WatchSummary[]>();
  for (const r of audit) if (r.event === 'deploy' && r.deployId && r.watch?.length) out.set(r.deployId, r.watch);
  return out;
}

/** The last outcome the audit trail recorded for each deployed id. */
export function outcomes(audit: readonly Partial<AuditRecord>[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of audit) if (r.event === 'deploy' && r.deployId && r.outcome) out.set(r.deployId, r.outcome);
  return out;
}

/** Newest first, in the order the cluster recorded them (the stamp ending the deploy id for records of earlier versions). */
export function rows(records: ReleaseRecord[], current: string, history: readonly string[], audit: Map<string, string>, watched = new Map<string, WatchSummary[]>()): ReleaseRow[] {
  return records
    .map((r) => ({
      ...r, current: r.deployId === current, knownGood: history.includes(r.deployId), outcome: audit.get(r.deployId) ?? (history.includes(r.deployId) ? 'healthy' : 'unknown'),
      ...(watched.has(r.deployId) ? { watch: watched.get(r.deployId)! } : {}),
    }))
    .sort(newestFirst);
}

export async function readReleases(ctx: Ctx): Promise<ReleaseRow[]> {
  const s = store(ctx);
  const [records, state, audit] = await Promise.all([s.listReleases(), s.readState(), s.readAudit()]);
  if (!records.length && !state.marks.length) {
    // not upgraded yet: what an earlier version kept on this manager's disk, until the next deploy or rollback imports it
    const legacy = await readLegacy(ctx.session!, ctx.release.remoteDir);
    if (legacy?.releases.length) {
      ctx.reporter.warn(`these records are in ${ctx.release.remoteDir} on this manager only (kept by an earlier version); the next deploy or rollback copies them into the swarm, where every manager sees them`);
      return rows(legacy.releases, legacy.current ?? '', legacy.history, outcomes(legacy.audit));
    }
  }
  return rows(records, state.current ?? '', state.history, outcomes(audit), watchedDuring(audit));
}
