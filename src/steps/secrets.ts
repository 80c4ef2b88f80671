import { SECRETS } from '../config/files.js';
import { createSecret, listSecrets, removeSecrets } from '../commands/secrets.js';
import { cmd, exec, execChecked, note, store, type Ctx, type StepPlan } from './context.js';

function creates(ctx: Pick<Ctx, 'cfg' | 'release'>) {
  return ctx.cfg.secrets.map((s) => {
    const name = ctx.release.secretNames[s.key]!;
    return createSecret(name, s.key, ctx.release.stackName, ctx.release.deployId, s.file, s.data);
  });
}

export function plan(ctx: Pick<Ctx, 'cfg' | 'release'>): StepPlan {
  return {
    title: 'Create versioned secrets',
    entries: [
      ...creates(ctx).map(cmd),
      note('raw bytes on stdin of the ssh channel: never in argv, never on the manager\'s disk'),
    ],
  };
}

/** All at once over the one connection; every one that was created is remembered, also when another fails. */
export async function run(ctx: Ctx): Promise<void> {
  ctx.interrupt.check();
  const results = await Promise.allSettled(
    creates(ctx).map(async (c) => {
      await execChecked(ctx, c, 'creating a secret');
      ctx.state.createdSecrets.push(c.argv[c.argv.length - 2]!);
    }),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  ctx.interrupt.check();
}

/** Removes this run's secrets when the release never reached the stack. Returns what it could not remove. */
export async function removeCreated(ctx: Ctx): Promise<string[]> {
  const names = ctx.state.createdSecrets;
  if (names.length === 0 || !ctx.session?.alive) return names;
  const r = await exec(ctx, removeSecrets(names)).catch(() => ({ exitCode: 1, stdout: '', stderr: '' }));
  if (r.exitCode === 0) {
    ctx.state.createdSecrets = [];
    return [];
  }
  return names;
}

export const SECRET_KEYS = SECRETS.map((s) => s.key);

/** Deploy ids end in _yyyymmddHHMMSS: the newest version of a secret has the largest stamp. */
function stamp(name: string): string {
  return /_(\d{14})$/.exec(name)?.[1] ?? '';
}

/** A secret the tool made: its name, and the stack label (undefined on secrets made before the label existed). */
export interface OwnSecret {
  name: string;
  stack?: string;
}

export function parseOwnSecrets(text: string): OwnSecret[] {
  return text.split('\n').filter((l) => l.trim()).map((l) => {
    const [name, stack] = l.split('\t');
    return { name: name!.trim(), stack: stack?.trim() || undefined };
  });
}

/** Exactly `<stack>_<key>_<deploy id>`, a deploy id being `<tag>_<yyyymmddHHMMSS>`. */
function isVersionOf(name: string, stack: string, key: string): boolean {
  const prefix = `${stack}_${key}_`;
  return name.startsWith(prefix) && /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}_\d{14}$/.test(name.slice(prefix.length));
}

/**
 * Keeps, per secret, the newest `keep` versions plus every version named in `protect` (the current and the
 * previous known-good release); returns the rest. Only the tool's secrets of this stack are candidates: the
 * stack label must name it (or be absent, on secrets made before it existed) and the name must have the exact
 * `<stack>_<key>_<deploy id>` shape — so another stack's secret is never chosen.
 */
export function selectForPruning(all: readonly OwnSecret[], stack: string, keep: number, protect: ReadonlySet<string>): string[] {
  const remove: string[] = [];
  const mine = all.filter((s) => s.stack === undefined || s.stack === stack).map((s) => s.name);
  for (const key of SECRET_KEYS) {
    const versions = mine.filter((n) => isVersionOf(n, stack, key)).sort((a, b) => stamp(b).localeCompare(stamp(a)) || b.localeCompare(a));
    versions.slice(keep).forEach((n) => {
      if (!protect.has(n)) remove.push(n);
    });
  }
  return remove;
}

export function prunePlan(ctx: Pick<Ctx, 'settings' | 'release'>): StepPlan {
  return {
    title: 'Prune old secret versions (only after the health check passed)',
    entries: [
      cmd(listSecrets()),
      note(`per secret keep the newest ${ctx.settings.keepSecrets} versions and every version the previous known-good release and the release the swarm's record calls current use; remove the rest with \`docker secret rm\`; in-use secrets are reported and skipped`),
    ],
  };
}

/** Never fails the deploy: a secret docker refuses to delete is reported and left for the next run. */
export async function prune(ctx: Ctx): Promise<{ removed: string[]; skipped: string[] }> {
  // decided from the cluster-wide record: the release the swarm's newest mark names (whoever marked it), the
  // previous known-good one, and this run's
  const [list, { current }] = await Promise.all([execChecked(ctx, listSecrets(), 'listing secrets'), store(ctx).readState()]);
  const serving = current && current !== ctx.release.deployId ? await store(ctx).readRelease(current) : undefined;
  const protect = new Set<string>([
    ...Object.values(ctx.release.secretNames),
    ...Object.values(ctx.state.previous?.secretNames ?? {}),
    ...Object.values(serving?.secretNames ?? {}),
  ]);
  const candidates = selectForPruning(parseOwnSecrets(list.stdout), ctx.release.stackName, ctx.settings.keepSecrets, protect);
  // one by one (a refusal names its secret) but side by side
  const results = await Promise.all(candidates.map(async (name) => ({ name, r: await exec(ctx, removeSecrets([name])) })));
  return {
    removed: results.filter((x) => x.r.exitCode === 0).map((x) => x.name),
    skipped: results.filter((x) => x.r.exitCode !== 0).map((x) => `${x.name} (${x.r.stderr.trim().split('\n').pop()})`),
  };
}
