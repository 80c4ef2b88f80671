/**
 * What the day-two commands share: the same configuration as a deploy, the same single SSH connection (jump
 * hosts and host-key checks included), and a run context for the steps' helpers. Nothing here changes anything.
 */
import { loadConfig, type Config } from '../config/index.js';
import { resolveSettings, type Flags } from '../config/settings.js';
import { Interrupt } from '../interrupt.js';
import { LocalRunner } from '../io/local.js';
import { ManagerSession } from '../io/ssh.js';
import { operationRelease } from '../release.js';
import { sessionOptions, sshTargets } from '../steps/connect.js';
import { SwarmStore } from '../store/swarm.js';
import { RunState, type Ctx } from '../steps/context.js';
import { teachRedactor } from '../ui/teach-redactor.js';
import { resolveReferences } from '../secrets/resolve.js';
import type { Reporter } from '../ui/reporter.js';

/**
 * `fetchSecrets`: the command prints what the services print (logs): the values secrets.env refers to are fetched
 * first, so that the redactor knows them (a reference that fails stops it, exit 2).
 */
export async function openCtx(flags: Flags, env: NodeJS.ProcessEnv, reporter: Reporter, what: string, opts: { fetchSecrets?: boolean | 'try' } = {}): Promise<Ctx> {
  const settings = resolveSettings(
    { deployDir: flags.deployDir, sshTimeout: flags.sshTimeout, ageIdentity: flags.ageIdentity, secretTimeout: flags.secretTimeout },
    { HONEYDUE_DEPLOY_DIR: env.HONEYDUE_DEPLOY_DIR, DEPLOY_SSH_TIMEOUT: env.DEPLOY_SSH_TIMEOUT, DEPLOY_AGE_IDENTITY: env.DEPLOY_AGE_IDENTITY, DEPLOY_SECRET_TIMEOUT: env.DEPLOY_SECRET_TIMEOUT, HOME: env.HOME },
  );
  const cfg = loadConfig(settings.deployDir, env, { readOnly: true, ageIdentity: settings.ageIdentity });
  for (const w of cfg.warnings) reporter.warn(w);
  if (opts.fetchSecrets) {
    // 'try' (doctor): a reference that does not resolve is its own failed check; the rest of the checks go on
    const fetching = resolveReferences(cfg, { local: new LocalRunner(), timeoutSeconds: settings.secretTimeoutSeconds, redactor: reporter.redactor });
    await (opts.fetchSecrets === 'try' ? fetching.catch(() => undefined) : fetching);
  }
  teachRedactor(reporter, cfg);
  const session = await ManagerSession.connect(sshTargets({ cfg }), sessionOptions(cfg, settings));
  const release = operationRelease(cfg, new Date(), what);
  return { cfg, settings, release, reporter, local: new LocalRunner(), interrupt: new Interrupt(), state: new RunState(), session, store: new SwarmStore(session, release.stackName, (w) => reporter.warn(w)) };
}
