import { loadConfig } from '../config/index.js';
import { resolveSettings, type Flags } from '../config/settings.js';
import { ConfigError, EXIT } from '../errors.js';
import { ManagerSession } from '../io/ssh.js';
import { operationRelease } from '../release.js';
import { finalLine, type ActionResult } from '../result.js';
import { auditRecord } from '../audit.js';
import { refuseManager, sshTargets } from '../steps/connect.js';
import { lockName } from '../steps/lock.js';
import { SwarmStore } from '../store/swarm.js';
import type { Reporter } from '../ui/reporter.js';

/** `unlock [--force]`: shows who holds the cluster's deploy lock; removes it only with --force. Any manager serves. */
export async function unlockAction(flags: Flags & { force?: boolean }, env: NodeJS.ProcessEnv, reporter: Reporter): Promise<ActionResult> {
  const settings = resolveSettings({ deployDir: flags.deployDir }, { HONEYDUE_DEPLOY_DIR: env.HONEYDUE_DEPLOY_DIR });
  const cfg = loadConfig(settings.deployDir);
  const stack = operationRelease(cfg, new Date(), 'unlock').stackName;
  const started = Date.now();
  const session = await ManagerSession.connect(sshTargets({ cfg }), { accept: refuseManager });
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
