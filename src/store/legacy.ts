/**
 * The upgrade: earlier versions kept their memory in files in DEPLOY_REMOTE_DIR on one manager (current,
 * history, releases/<id>/{release.json,swarm-stack.yml,prod.env}, audit.log, lock/). This reads them — read-only —
 * and copies them into the store once; the files are left where they are.
 */
import type { AuditRecord } from '../audit.js';
import { onManager, type Command } from '../commands/command.js';
import { ENV_FILE, RELEASE_FILE, STACK_FILE } from '../commands/stack.js';
import type { StoreRunner } from './swarm.js';
import { describeOwner, type Mark, type ReleaseRecord, type Store } from './store.js';

/** Everything in one remote command, each part introduced by a line `\036 KIND NAME`. */
export function readLegacyDir(remoteDir: string): Command {
  return onManager([
    'sh', '-c',
    [
      'd="$1"',
      '[ -d "$d" ] || exit 0',
      'for f in current history audit.log lock/owner.json; do if [ -f "$d/$f" ]; then printf "\\036 file %s\\n" "$f"; cat "$d/$f"; printf "\\n"; fi; done',
      'if [ -d "$d/lock" ]; then printf "\\036 lockdir -\\n"; fi',
      `for r in "$d"/releases/*/; do [ -f "\${r}${RELEASE_FILE}" ] || continue; id=$(basename "$r"); for f in ${RELEASE_FILE} ${STACK_FILE} ${ENV_FILE}; do if [ -f "\${r}$f" ]; then printf "\\036 %s %s\\n" "$f" "$id"; cat "\${r}$f"; printf "\\n"; fi; done; done`,
    ].join('\n'),
    'sh', remoteDir,
  ]);
}

export interface LegacyState {
  current?: string;
  history: string[];
  releases: ReleaseRecord[];
  audit: AuditRecord[];
  /** an earlier version's run holds its lock: who, in words */
  lockHolder?: string;
  /** release folders whose release.json cannot be read (not imported; said in the import's line) */
  unreadable: string[];
}

/** The parts of readLegacyDir's output (the newline the reader adds after each file is dropped: the bytes are exact). */
export function parseLegacy(text: string): LegacyState | undefined {
  if (!text.includes('\u001e ')) return undefined;
  const parts = text.split(/^\u001e /m).slice(1);
  const files = new Map<string, string>();
  const byRelease = new Map<string, Record<string, string>>();
  let lockDir = false;
  for (const part of parts) {
    const nl = part.indexOf('\n');
    const [kind, name] = part.slice(0, nl).split(' ');
    const body = part.slice(nl + 1).replace(/\n$/, '');
    if (kind === 'file') files.set(name!, body);
    else if (kind === 'lockdir') lockDir = true;
    else {
      const r = byRelease.get(name!) ?? {};
      r[kind!] = body;
      byRelease.set(name!, r);
    }
  }
  const lines = (t: string | undefined) => (t ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
  const unreadable: string[] = [];
  const releases = [...byRelease.entries()].flatMap(([id, f]) => {
    try {
      const rec = JSON.parse(f[RELEASE_FILE] ?? '') as ReleaseRecord;
      return [{ ...rec, deployId: rec.deployId ?? id, stackFile: f[STACK_FILE], envFile: f[ENV_FILE] }];
    } catch {
      unreadable.push(id);
      return [];
    }
  });
  const audit = lines(files.get('audit.log')).flatMap((l) => {
    try {
      return [JSON.parse(l) as AuditRecord];
    } catch {
      return [];
    }
  });
  return {
    current: lines(files.get('current'))[0],
    history: lines(files.get('history')),
    releases,
    audit,
    lockHolder: lockDir ? describeOwner(files.get('lock/owner.json') ?? '') : undefined,
    unreadable,
  };
}

export async function readLegacy(runner: StoreRunner, remoteDir: string): Promise<LegacyState | undefined> {
  const r = await runner.run(readLegacyDir(remoteDir));
  return r.exitCode === 0 ? parseLegacy(r.stdout) : undefined;
}

/** The marks the import writes, oldest first: the history in order, the current one last (again, when rolled back to). */
function importMarks(legacy: LegacyState): Array<{ deployId: string; event: 'import' | 'rollback' }> {
  const known = new Set(legacy.releases.map((r) => r.deployId));
  const order = legacy.history.filter((id) => known.has(id));
  if (legacy.current && known.has(legacy.current)) order.push(legacy.current);
  return order.map((deployId, i) => ({ deployId, event: i === order.length - 1 && legacy.current !== undefined && order.indexOf(legacy.current) < i ? 'rollback' : 'import' }));
}

/**
 * Whether the import is still to do (or to finish): the legacy state has something to import and the store has
 * neither every mark the import writes nor any mark of a later deploy or rollback.
 */
export function importPending(legacy: LegacyState, marks: readonly Mark[]): boolean {
  if (!legacy.releases.length && !legacy.current) return false;
  if (marks.some((m) => !m.key)) return false;
  const written = new Set(marks.map((m) => m.key));
  return importMarks(legacy).some((_, i) => !written.has(`import-${i}`));
}

/**
 * Copies the legacy state into the store: every release record with its files, the audit records, then the history
 * (as marks, in order, the current one last). Every object has a name of its own, so an import that stopped half
 * way (a lost manager) is finished by the next run, each object written once; the marks come last, so the store
 * never names a current release before its record is there. Returns what it imported, in words.
 */
export async function importLegacy(store: Store, legacy: LegacyState, now = new Date()): Promise<string> {
  for (const r of legacy.releases) await store.recordRelease(r);
  for (let i = 0; i < legacy.audit.length; i++) await store.appendAudit(legacy.audit[i]!, `import-${i}`);
  const marks = importMarks(legacy);
  for (let i = 0; i < marks.length; i++) await store.markCurrent(marks[i]!.deployId, marks[i]!.event, now, `import-${i}`);
  const skipped = legacy.unreadable.length ? `; not imported, their release.json cannot be read: ${legacy.unreadable.join(', ')}` : '';
  return `${legacy.releases.length} release record(s), ${legacy.history.length} history entr${legacy.history.length === 1 ? 'y' : 'ies'}, ${legacy.audit.length} audit record(s)${skipped}`;
}
