import { loadConfig } from '../config/index.js';
import { resolveSettings, toggleTypos, type Flags } from '../config/settings.js';
import { ConfigError, EXIT } from '../errors.js';
import { ManagerSession } from '../io/ssh.js';
import { operationRelease } from '../release.js';
import { finalLine, type ActionResult } from '../result.js';
import { auditRecord } from '../audit.js';
import { sessionOptions, sshTargets } from '../steps/connect.js';
import * as lock from '../steps/lock.js';
import { lockName } from '../steps/lock.js';
import * as connect from '../steps/connect.js';
import { cmd, showEntry } from '../steps/context.js';
import { readObject, removeObjects } from '../commands/store.js';
import { SwarmStore } from '../store/swarm.js';
import type { Reporter } from '../ui/reporter.js';

/** `unlock [--force]`: shows who holds the cluster's deploy lock; removes it only with --force. Any manager serves. */
export async function unlockAction(flags: Flags & { force?: boolean }, env: NodeJS.ProcessEnv, reporter: Reporter): Promise<ActionResult> {
  const settings = resolveSettings({ deployDir: flags.deployDir, dryRun: flags.dryRun, sshTimeout: flags.sshTimeout }, { HONEYDUE_DEPLOY_DIR: env.HONEYDUE_DEPLOY_DIR, DRY_RUN: env.DRY_RUN, DEPLOY_SSH_TIMEOUT: env.DEPLOY_SSH_TIMEOUT });
  const typos = toggleTypos(env);
  if (typos.length && !settings.dryRun && flags.force) throw new ConfigError(typos);
  const cfg = loadConfig(settings.deployDir, env, { readOnly: true });
  for (const w of [...cfg.warnings, ...typos]) reporter.warn(w);
  const release = operationRelease(cfg, new Date(), 'unlock');
  const stack = release.stackName;
  if (settings.dryRun) {
    // resolving every listed manager (as the plan does) finds bad ~/.ssh/config input: exit 2
    const plan = connect.plan({ cfg });
    reporter.lines([
      `DRY RUN — the plan for ${flags.force ? 'removing' : 'showing'} the deploy lock of ${stack}. Nothing is connected to or changed.`,
      '',
      ` 1. ${plan.title}`,
      ...plan.entries.map((e) => `      ${showEntry(e)}`),
      ' 2. Read the lock',
      `      ${showEntry(cmd(readObject(lockName(stack))))}`,
      ...(flags.force
        ? [' 3. Remove it (whoever holds it) and record that in the audit trail', `      ${showEntry(cmd(removeObjects([lockName(stack)])))}`, ...lock.auditPlan({ release }).entries.map((e) => `      ${showEntry(e)}`)]
        : [`      # without --force: only say who holds it`]),
      '',
    ]);
    return { exitCode: EXIT.ok, finalLine: finalLine(EXIT.ok, 'dry run: nothing was changed; the serving release is unchanged') };
  }
  const started = Date.now();
  const session = await ManagerSession.connect(sshTargets({ cfg }), sessionOptions(cfg, settings));
  const store = new SwarmStore(session, stack);
  try {
    const whose = await store.inspectLock();
    if (!whose) return { exitCode: EXIT.ok, finalLine: finalLine(EXIT.ok, `no deploy lock of ${stack} is held (${lockName(stack)} in the swarm); nothing to do`) };
    if (!flags.force) {
      throw new ConfigError(`command line: --force: the lock is held by ${whose} — make sure that run is not going on, then run \`honeydue-deploy unlock --force\``);
    }
    await store.forceUnlock();
    reporter.line(`removed the deploy lock held by ${whose}`);
    await store.appendAudit(auditRecord({ event: 'unlock', start: new Date(started).toISOString(), durationMs: Date.now() - started, outcome: 'unlocked', detail: `lock was held by ${whose}` })).catch(() => undefined);
    return { exitCode: EXIT.ok, finalLine: finalLine(EXIT.ok, `the lock held by ${whose} was removed; the serving release is unchanged`) };
  } finally {
    session.close();
  }
}
