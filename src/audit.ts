/**
 * Audit records: one JSON line per run, on the manager and on the laptop. Built from ids and outcomes only,
 * never a secret; redacted all the same. The laptop's log is outside the deploy dir, so that a deploy dir inside
 * the app repository never makes the build context dirty: $XDG_STATE_HOME/honeydue-deploy/audit.log (default
 * ~/.local/state/honeydue-deploy/audit.log).
 */
import type { WatchSummary } from './watch/samples.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface AuditRecord {
  event: 'deploy' | 'rollback' | 'unlock';
  deployId?: string;
  tag?: string;
  who: string;
  from: string;
  start: string;
  durationMs: number;
  outcome: string;
  serving?: string;
  detail?: string;
  /** what the health URL answered while the stack changed (the update, a rollback) */
  watch?: WatchSummary[];
  /** laptop audit log only: which deploy dir the run used */
  deployDir?: string;
}

/** Who runs the tool, as the lock, the release record and the audit logs name them. */
export function operatorName(): string {
  return `${os.userInfo().username}@${os.hostname()}`;
}

export function auditRecord(fields: Omit<AuditRecord, 'who' | 'from'> & { who?: string }): AuditRecord {
  return { who: fields.who ?? operatorName(), from: os.hostname(), ...fields } as AuditRecord;
}

export function localAuditPath(env: NodeJS.ProcessEnv = process.env): string {
  const state = env.XDG_STATE_HOME || path.join(env.HOME || os.homedir(), '.local', 'state');
  return path.join(state, 'honeydue-deploy', 'audit.log');
}

export function appendLocalAudit(record: AuditRecord, redact: (text: string) => string, env: NodeJS.ProcessEnv = process.env): void {
  const file = localAuditPath(env);
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.appendFileSync(file, `${redact(JSON.stringify(record))}\n`, { mode: 0o600 });
  } catch {
    // an audit line must never fail a deploy
  }
}
