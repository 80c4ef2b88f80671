/** `honeydue-deploy releases`: the recorded releases on the manager, newest first. Read-only. */
import type { Flags } from '../config/settings.js';
import { EXIT } from '../errors.js';
import { table } from '../ui/table.js';
import type { Reporter } from '../ui/reporter.js';
import { finalLine, type ActionResult } from '../result.js';
import { openCtx } from './session.js';
import { readReleases, type ReleaseRow } from './records.js';

function when(iso: string | undefined): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : '?';
}

/** `3/240 failed, gap 1.2 s` for the update (and the rollback after it); `-` when it was not watched. */
function usersSaw(r: ReleaseRow): string {
  return r.watch?.length ? r.watch.map((w) => `${w.phase === 'rollback' ? 'rollback ' : ''}${w.failed}/${w.total} failed, gap ${w.longestGapSeconds.toFixed(1)} s`).join('; ') : '-';
}

export function releasesTable(rows: ReleaseRow[]): string[] {
  return table([
    ['', 'DEPLOY ID', 'TAG', 'WHO', 'WHEN', 'OUTCOME', 'DURING THE UPDATE'],
    ...rows.map((r) => [r.current ? '*' : '', r.deployId, r.tag, r.deployedBy ?? '?', when(r.deployedAt), `${r.outcome}${r.current ? ' (current)' : ''}`, usersSaw(r)]),
  ]);
}

export async function releasesAction(flags: Flags, env: NodeJS.ProcessEnv, reporter: Reporter): Promise<ActionResult> {
  const ctx = await openCtx(flags, env, reporter, 'releases');
  try {
    const rows = await readReleases(ctx);
    if (flags.json) {
      process.stdout.write(`${reporter.redactor.redact(JSON.stringify(rows.map(({ deployId, tag, gitSha, deployedBy, deployedAt, outcome, current, knownGood, images, watch }) => ({ deployId, tag, gitSha, deployedBy, deployedAt, outcome, current, knownGood, images, watch: watch ?? null })), null, 2))}\n`);
    } else {
      reporter.line(`releases of ${ctx.release.stackName}, kept in the swarm, through ${ctx.session!.describe()} (the newest ${ctx.cfg.cluster.DEPLOY_KEEP_RELEASES} are kept, DEPLOY_KEEP_RELEASES; * is current)`);
      for (const l of releasesTable(rows)) reporter.line(l);
    }
    const current = rows.find((r) => r.current);
    return { exitCode: EXIT.ok, finalLine: finalLine(EXIT.ok, `${rows.length} release(s) recorded; ${current ? `current: ${current.deployId} (tag ${current.tag})` : 'none is current'}`) };
  } finally {
    ctx.session?.close();
  }
}
