/**
 * The store in the swarm: one config per lock, release record, mark and audit record, each labelled with the
 * stack and its kind. Any manager reads and writes the same objects; a config name that exists cannot be created
 * again, which makes the lock atomic across managers.
 */
import type { WatchSummary } from '../watch/samples.js';
import crypto from 'node:crypto';
import type { AuditRecord } from '../audit.js';
import { display, type Command } from '../commands/command.js';
import { CONFIG_MAX_BYTES, ID_LABEL, KIND_LABEL, createObject, listObjectNames, objectName, readObject, readObjects, releaseLockObject, removeObjects, type ObjectKind } from '../commands/store.js';
import { CommandFailed, PreflightError } from '../errors.js';
import { tail, type RunResult } from '../io/runner.js';
import { byClusterOrder, describeOwner, parseOwner, stateFromMarks, type LockAttempt, type LockOwner, type Mark, type ReleaseRecord, type Store, type StoreState } from './store.js';

export interface StoredObject {
  name: string;
  labels: Record<string, string>;
  data: string;
  /** swarm's Raft index of the object: the cluster's order of writes */
  seq?: number;
}

/** One object per line, `INDEX {spec JSON}` (commands/store.ts), or a bare JSON spec. */
export function parseObjects(text: string): StoredObject[] {
  return text
    .split('\n')
    .map((l) => /^\s*(?:(\d+) )?(\{.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => {
      const spec = JSON.parse(m[2]!) as { Name: string; Labels?: Record<string, string>; Data?: string };
      return { name: spec.Name, labels: spec.Labels ?? {}, data: Buffer.from(spec.Data ?? '', 'base64').toString('utf8'), ...(m[1] ? { seq: Number(m[1]) } : {}) };
    });
}

const EVENTS: ReadonlySet<string> = new Set(['deploy', 'rollback', 'import']);

/** What is wrong with a release record as read back, or undefined when it is one. */
export function releaseProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return `holds ${value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value}, not a release record`;
  const r = value as Partial<ReleaseRecord>;
  if (typeof r.deployId !== 'string' || !r.deployId) return 'has no deployId';
  for (const k of ['serviceImages', 'secretNames', 'images'] as const) {
    if (r[k] !== undefined && (r[k] === null || typeof r[k] !== 'object')) return `has a ${k} that is not a map`;
  }
  if (!r.serviceImages) return 'has no serviceImages';
  return undefined;
}

/** What is wrong with a mark as read back, or undefined when it is one (a mark without its time is still one). */
export function markProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return `holds ${value === null ? 'null' : typeof value}, not a mark`;
  const m = value as Partial<Mark>;
  if (typeof m.deployId !== 'string' || !m.deployId) return 'has no deployId';
  if (typeof m.event !== 'string' || !EVENTS.has(m.event)) return `has the event ${JSON.stringify(m.event)} (deploy, rollback or import expected)`;
  return undefined;
}

function parseJson(data: string): { value?: unknown; error?: string } {
  try {
    return { value: JSON.parse(data) as unknown };
  } catch {
    return { error: 'is not valid JSON' };
  }
}

let lastStamp = 0;

/**
 * yyyymmddHHMMSSmmm and four random hex digits: names that sort by time and never collide. Within one process the
 * milliseconds only go up, so two records written in the same millisecond keep their order.
 */
export function timeSuffix(at: Date, monotonic = true): string {
  const ms = monotonic ? Math.max(at.getTime(), lastStamp + 1) : at.getTime();
  if (monotonic) lastStamp = ms;
  return `${new Date(ms).toISOString().replace(/[-:T.Z]/g, '').slice(0, 17)}_${crypto.randomBytes(2).toString('hex')}`;
}

const EXISTS = /already exists|AlreadyExists/i;

export interface StoreRunner {
  run(cmd: Command): Promise<RunResult>;
}

export class SwarmStore implements Store {
  readonly where: string;
  /** bad objects already told about: each is named once a run */
  private told = new Set<string>();
  constructor(
    private readonly runner: StoreRunner,
    private readonly stack: string,
    /** how a bad object is told about (a warning line); it is then left out, never deleted */
    private readonly warn: (text: string) => void = () => undefined,
  ) {
    this.where = `swarm configs labelled ${KIND_LABEL} (stack ${stack})`;
  }

  /** Names a config the tool cannot use, once: what it is, what is wrong, and how to look at it or remove it. */
  private bad(kind: ObjectKind, name: string, problem: string, consequence: string): void {
    if (this.told.has(name)) return;
    this.told.add(name);
    this.warn(`the ${kind} config ${name} of ${this.stack} ${problem} — it is left out (${consequence}); look at it with \`docker config inspect ${name}\`, or remove it with \`docker config rm ${name}\``);
  }

  /** The release records that can be read, each with its place in the cluster's order; the rest are named. */
  private releasesOf(objects: readonly StoredObject[]): { records: ReleaseRecord[]; unreadable: string[] } {
    const records: ReleaseRecord[] = [];
    const unreadable: string[] = [];
    for (const o of objects) {
      const { value, error } = parseJson(o.data);
      const problem = error ?? releaseProblem(value);
      if (problem) {
        unreadable.push(o.name);
        this.bad('release', o.name, problem, 'that release cannot be rolled back to');
        continue;
      }
      records.push({ ...(value as ReleaseRecord), ...(o.seq !== undefined ? { seq: o.seq } : {}) });
    }
    return { records, unreadable };
  }

  private async checked(cmd: Command, what: string): Promise<RunResult> {
    const r = await this.runner.run(cmd);
    if (r.exitCode !== 0) throw new CommandFailed(display(cmd), r.exitCode, tail(r.stderr || r.stdout), what);
    return r;
  }

  private async objects(kind: ObjectKind): Promise<StoredObject[]> {
    const r = await this.checked(readObjects(this.stack, kind), `reading the ${kind} records from the swarm`);
    try {
      return parseObjects(r.stdout);
    } catch (e) {
      throw new PreflightError(`the ${kind} records of ${this.stack} in the swarm (configs labelled ${KIND_LABEL}=${kind}) cannot be read: ${(e as Error).message} — inspect them with \`docker config ls --filter label=${KIND_LABEL}=${kind}\``);
    }
  }

  private async create(kind: ObjectKind, name: string, label: string, data: string, deployId?: string): Promise<RunResult> {
    if (Buffer.byteLength(data) >= CONFIG_MAX_BYTES) {
      throw new PreflightError(`the ${label} is ${Buffer.byteLength(data)} bytes; swarm keeps at most ${CONFIG_MAX_BYTES - 1} bytes in one config — shorten the stack file or prod.env`);
    }
    return this.runner.run(createObject(this.stack, kind, name, label, data, deployId));
  }

  private lockName(): string {
    return objectName(this.stack, 'lock');
  }

  async acquireLock(owner: LockOwner): Promise<LockAttempt> {
    const r = await this.create('lock', this.lockName(), 'lock owner record (JSON)', `${JSON.stringify(owner)}\n`, owner.deployId);
    if (r.exitCode === 0) return { acquired: true };
    if (!EXISTS.test(r.stderr)) throw new CommandFailed(display(createObject(this.stack, 'lock', this.lockName(), 'lock owner record (JSON)', '', owner.deployId)), r.exitCode, tail(r.stderr), 'taking the deploy lock');
    const held = await this.readLock();
    // released between our attempt and the look: the caller tries again
    if (!held) return { acquired: false, holder: 'a run that has just finished' };
    const parsed = parseOwner(held);
    return { acquired: false, holder: describeOwner(held), ...(parsed ? { owner: parsed } : {}) };
  }

  async releaseLock(deployId: string): Promise<void> {
    await this.checked(releaseLockObject(this.lockName(), deployId), 'releasing the deploy lock');
  }

  async inspectLock(): Promise<string | undefined> {
    const held = await this.readLock();
    return held === undefined ? undefined : describeOwner(held);
  }

  /** The lock's owner record as written ('' when it has none), or undefined when the lock is free. */
  private async readLock(): Promise<string | undefined> {
    const r = await this.runner.run(readObject(this.lockName()));
    if (r.exitCode !== 0) {
      if (/no such config|not found/i.test(r.stderr)) return undefined;
      throw new CommandFailed(display(readObject(this.lockName())), r.exitCode, tail(r.stderr), 'reading the deploy lock');
    }
    const [obj] = parseObjects(r.stdout);
    return obj?.data ?? '';
  }

  async forceUnlock(): Promise<boolean> {
    const r = await this.runner.run(removeObjects([this.lockName()]));
    if (r.exitCode === 0) return true;
    if (/no such config|not found/i.test(r.stderr)) return false;
    throw new CommandFailed(display(removeObjects([this.lockName()])), r.exitCode, tail(r.stderr), 'removing the deploy lock');
  }

  releaseName(deployId: string): string {
    return objectName(this.stack, 'release', deployId);
  }

  async recordRelease(record: ReleaseRecord): Promise<void> {
    const { seq: _seq, ...data } = record;
    const r = await this.create('release', this.releaseName(record.deployId), `release record of ${record.deployId} (JSON: ids, images, secret names, stack file, prod.env)`, JSON.stringify(data), record.deployId);
    if (r.exitCode === 0) return;
    // the same record again (a run that resumed through another manager): already there
    if (EXISTS.test(r.stderr) && (await this.readRelease(record.deployId))) return;
    throw new CommandFailed(`docker config create … ${this.releaseName(record.deployId)} -`, r.exitCode, tail(r.stderr), 'recording the release');
  }

  async listReleases(): Promise<ReleaseRecord[]> {
    return this.releasesOf(await this.objects('release')).records;
  }

  async readRelease(deployId: string): Promise<ReleaseRecord | undefined> {
    const r = await this.runner.run(readObject(this.releaseName(deployId)));
    if (r.exitCode !== 0) return undefined;
    return this.releasesOf(parseObjects(r.stdout)).records[0];
  }

  async removeReleases(deployIds: readonly string[]): Promise<void> {
    if (deployIds.length) await this.checked(removeObjects(deployIds.map((id) => this.releaseName(id))), 'removing old release records');
  }

  async markCurrent(deployId: string, event: Mark['event'], at = new Date(), key?: string, watch?: WatchSummary[]): Promise<void> {
    // `at` is for people; the cluster's order of writes decides which mark is the newest
    const mark: Mark = { deployId, event, at: at.toISOString(), ...(key ? { key } : {}), ...(watch?.length ? { watch } : {}) };
    let r = await this.create('mark', objectName(this.stack, 'mark', key ?? timeSuffix(at, false)), `known-good mark (${event} of ${deployId})`, JSON.stringify(mark), deployId);
    // a name is only a name (the cluster's order decides): one taken by another run's mark is retried with another
    for (let again = 0; !key && again < 3 && r.exitCode !== 0 && EXISTS.test(r.stderr); again++) {
      r = await this.create('mark', objectName(this.stack, 'mark', timeSuffix(at)), `known-good mark (${event} of ${deployId})`, JSON.stringify(mark), deployId);
    }
    // a keyed mark that exists was written by an earlier attempt of the same import
    if (r.exitCode !== 0 && !(key && EXISTS.test(r.stderr))) throw new CommandFailed(`docker config create … ${objectName(this.stack, 'mark', '…')} -`, r.exitCode, tail(r.stderr), 'marking the release known-good');
  }

  private async marks(): Promise<Array<Mark & { name: string }>> {
    return (await this.objects('mark')).flatMap((o) => {
      const { value, error } = parseJson(o.data);
      const problem = error ?? markProblem(value);
      if (problem) {
        this.bad('mark', o.name, problem, 'the known-good history is read without it');
        return [];
      }
      const m = value as Mark;
      return [{ deployId: m.deployId, event: m.event, ...(typeof m.at === 'string' ? { at: m.at } : {}), ...(typeof m.key === 'string' ? { key: m.key } : {}), ...(o.seq !== undefined ? { seq: o.seq } : {}), name: o.name }];
    });
  }

  async readState(): Promise<StoreState> {
    return stateFromMarks(await this.marks());
  }

  async appendAudit(record: AuditRecord, key?: string): Promise<void> {
    const r = await this.create('audit', objectName(this.stack, 'audit', key ?? timeSuffix(new Date())), 'one audit record (JSON)', JSON.stringify(record), record.deployId);
    if (r.exitCode !== 0 && !(key && EXISTS.test(r.stderr))) throw new CommandFailed('docker config create … audit record', r.exitCode, tail(r.stderr), 'appending the audit record');
  }

  async readAudit(): Promise<AuditRecord[]> {
    return byClusterOrder(await this.objects('audit')).flatMap((o) => {
      const { value, error } = parseJson(o.data);
      if (error || value === null || typeof value !== 'object') {
        this.bad('audit', o.name, error ?? 'is not an audit record', 'the audit trail is read without it');
        return [];
      }
      return [value as AuditRecord];
    });
  }

  async compact(keepAudit: number): Promise<void> {
    const [releaseObjects, marks, auditList] = await Promise.all([this.objects('release'), this.marks(), this.checked(listObjectNames(this.stack, 'audit'), 'listing the audit records')]);
    const audits = byClusterOrder(
      auditList.stdout.split('\n').map((l) => /^\s*(\d+) (\S+)/.exec(l)).filter((m): m is RegExpExecArray => m !== null).map((m) => ({ name: m[2]!, seq: Number(m[1]) })),
    );
    const { records, unreadable } = this.releasesOf(releaseObjects);
    // a record read by its contents, never by a label a hand may have removed
    const releases = new Set(records.map((r) => r.deployId));
    const state = stateFromMarks(marks);
    // the newest mark says what serves: kept whatever it names
    const newest = state.marks.at(-1);
    // nothing is deleted on the strength of a record the tool could not read: with one unreadable, every mark stays
    // (stateFromMarks sorts the same objects: the newest is one of `marks` itself)
    const staleMarks = unreadable.length ? [] : marks.filter((m) => !releases.has(m.deployId) && m !== newest).map((m) => m.name);
    const staleAudits = audits.slice(0, Math.max(0, audits.length - keepAudit)).map((o) => o.name);
    const stale = [...staleMarks, ...staleAudits];
    if (stale.length) await this.checked(removeObjects(stale), 'removing old marks and audit records');
  }
}
