import { loadConfig } from '../config/index.js';
import { resolveSettings, type Flags } from '../config/settings.js';
import { appendAudit, forceUnlock, lockExists, readLockOwner } from '../commands/remote-files.js';
import { ConfigError, EXIT, PreflightError } from '../errors.js';
import { ManagerSession } from '../io/ssh.js';
import { remoteDirOf } from '../release.js';
import { finalLine, type ActionResult } from '../result.js';
import { auditRecord } from '../audit.js';
import { sshTarget } from '../steps/connect.js';
import { describeOwner, lockDir } from '../steps/lock.js';
import type { Reporter } from '../ui/reporter.js';

/** `unlock [--force]`: shows who holds the deploy lock; removes it only with --force. */
export async function unlockAction(flags: Flags & { force?: boolean }, env: NodeJS.ProcessEnv, reporter: Reporter): Promise<ActionResult> {
  const settings = resolveSettings({ deployDir: flags.deployDir }, { HONEYDUE_DEPLOY_DIR: env.HONEYDUE_DEPLOY_DIR });
  const cfg = loadConfig(settings.deployDir);
  const remoteDir = remoteDirOf(cfg);
  const started = Date.now();
  const session = await ManagerSession.connect(sshTarget({ cfg }));
  try {
    const owner = await session.run(readLockOwner(remoteDir));
    const held = owner.stdout.trim() !== '';
    const exists = (await session.run(lockExists(remoteDir))).exitCode === 0;
    if (!exists) return { exitCode: EXIT.ok, finalLine: finalLine(EXIT.ok, `no deploy lock is held on the manager (${lockDir(remoteDir)}); nothing to do`) };
    const whose = held ? describeOwner(owner.stdout) : 'an unknown owner';
    if (!flags.force) {
      throw new ConfigError(`command line: --force: the lock is held by ${whose} — make sure that deploy is not running, then run \`honeydue-deploy unlock --force\``);
    }
    const r = await session.run(forceUnlock(remoteDir));
    if (r.exitCode !== 0) throw new PreflightError(`could not remove ${lockDir(remoteDir)}: ${r.stderr.trim()}`);
    reporter.line(`removed the deploy lock held by ${whose}`);
    const record = auditRecord({ event: 'unlock', start: new Date(started).toISOString(), durationMs: Date.now() - started, outcome: 'unlocked', detail: `lock was held by ${whose}` });
    await session.run(appendAudit(remoteDir, JSON.stringify(record)));
    return { exitCode: EXIT.ok, finalLine: finalLine(EXIT.ok, `the lock held by ${whose} was removed; the serving release is unchanged`) };
  } finally {
    session.close();
  }
}
