/**
 * What the manager remembers about releases: the records (release.json), the known-good pointer and history,
 * and the audit log's outcome of each deploy. Read-only.
 */
import { readAuditLog, readCurrentPointer, readReleaseRecords } from '../commands/remote-files.js';
import { execChecked, type Ctx } from '../steps/context.js';
import { readHistoryIds } from '../steps/releases.js';

export interface ReleaseRecord {
  deployId: string;
  tag: string;
  gitSha?: string | null;
  images: Record<string, string>;
  serviceImages: Record<string, string>;
  secretNames: Record<string, string>;
  deployedBy?: string;
  deployedAt?: string;
  healthUrl?: string | null;
  healthExpect?: string | null;
}

export interface ReleaseRow extends ReleaseRecord {
  outcome: string;
  current: boolean;
  knownGood: boolean;
}

export function parseReleaseRecords(text: string): ReleaseRecord[] {
  return text
    .split('\u001e')
    .map((t) => t.trim())
    .filter(Boolean)
    .flatMap((t) => {
      try {
        return [JSON.parse(t) as ReleaseRecord];
      } catch {
        return [];
      }
    });
}

/** The last outcome the audit log recorded for each deploy id. */
export function outcomes(auditLog: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of auditLog.split('\n')) {
    try {
      const r = JSON.parse(line) as { event?: string; deployId?: string; outcome?: string };
      if (r.event === 'deploy' && r.deployId && r.outcome) out.set(r.deployId, r.outcome);
    } catch {
      // not a JSON line
    }
  }
  return out;
}

/** Newest first: the stamp at the end of the deploy id orders them. */
export function rows(records: ReleaseRecord[], current: string, history: readonly string[], audit: Map<string, string>): ReleaseRow[] {
  const stamp = (id: string) => /_(\d{14})$/.exec(id)?.[1] ?? '';
  return records
    .map((r) => ({ ...r, current: r.deployId === current, knownGood: history.includes(r.deployId), outcome: audit.get(r.deployId) ?? (history.includes(r.deployId) ? 'healthy' : 'unknown') }))
    .sort((a, b) => stamp(b.deployId).localeCompare(stamp(a.deployId)));
}

export async function readReleases(ctx: Ctx): Promise<ReleaseRow[]> {
  const remoteDir = ctx.release.remoteDir;
  const records = parseReleaseRecords((await execChecked(ctx, readReleaseRecords(remoteDir), 'reading the release records')).stdout);
  const current = (await execChecked(ctx, readCurrentPointer(remoteDir), 'reading the known-good pointer')).stdout.trim();
  const { history } = await readHistoryIds(ctx, remoteDir);
  const audit = outcomes((await execChecked(ctx, readAuditLog(remoteDir), 'reading the audit log')).stdout);
  return rows(records, current, history, audit);
}
