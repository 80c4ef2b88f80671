import { loadConfig } from '../config/index.js';
import { DEPLOY_ID_PATTERN, resolveSettings, toggleTypos, type Flags } from '../config/settings.js';
import type { Interrupt } from '../interrupt.js';
import { LocalRunner } from '../io/local.js';
import { printRollbackPlan, runRollback } from '../manual-rollback.js';
import { operationRelease } from '../release.js';
import { ConfigError, EXIT } from '../errors.js';
import { referenceProblems, resolveReferences } from '../secrets/resolve.js';
import { finalLine, printManual, type ActionResult } from '../result.js';
import type { Reporter } from '../ui/reporter.js';
import { teachRedactor } from '../ui/teach-redactor.js';

/** `rollback [DEPLOY_ID]`: back to the previous or a chosen recorded release, with the checks of manual-rollback.ts. */
export async function rollbackAction(flags: Flags, env: NodeJS.ProcessEnv, reporter: Reporter, interrupt: Interrupt, deployId?: string): Promise<ActionResult> {
  // what was asked is checked before anything else: a deploy id is one the tool could have made
  if (deployId !== undefined && !DEPLOY_ID_PATTERN.test(deployId)) {
    throw new ConfigError(`command line: DEPLOY_ID: "${deployId}" is not a deploy id — a deploy id is TAG_yyyymmddHHMMSS (e.g. abc1234_20261127101112); \`honeydue-deploy releases\` lists them`);
  }
  const settings = resolveSettings({ deployDir: flags.deployDir, skipHealthcheck: flags.skipHealthcheck, lockWait: flags.lockWait, dryRun: flags.dryRun, sshTimeout: flags.sshTimeout, ageIdentity: flags.ageIdentity, secretTimeout: flags.secretTimeout }, env);
  const typos = toggleTypos(env);
  if (typos.length && !settings.dryRun) throw new ConfigError(typos);
  for (const t of typos) reporter.warn(`${t} (a real rollback stops here)`);
  const cfg = loadConfig(settings.deployDir, env, { ageIdentity: settings.ageIdentity });
  const sources = referenceProblems(cfg.references, env, settings.ageIdentity);
  // the registry token and the withheld prod.env values of the release rolled back to: fetched before anything is touched
  if (!settings.dryRun) {
    if (sources.length) throw new ConfigError(sources);
    await resolveReferences(cfg, { local: new LocalRunner(), timeoutSeconds: settings.secretTimeoutSeconds, redactor: reporter.redactor });
  } else for (const p of sources) reporter.warn(`${p} (a real rollback stops here)`);
  teachRedactor(reporter, cfg);
  if (settings.dryRun) {
    // the same command values the run uses (every listed manager resolved as the plan does); nothing is connected to
    const lines: string[] = [];
    printRollbackPlan({ cfg, settings, release: operationRelease(cfg, new Date(), 'rollback') }, deployId, (l) => lines.push(l));
    reporter.lines([...lines, '']);
    return { exitCode: EXIT.ok, finalLine: finalLine(EXIT.ok, 'dry run: nothing was changed; the serving release is unchanged') };
  }
  const summary = await runRollback(cfg, settings, reporter, new LocalRunner(), interrupt, deployId);
  printManual(reporter, summary.manual);
  return {
    exitCode: summary.exitCode,
    finalLine: finalLine(summary.exitCode, summary.serving),
    audit: { outcome: summary.outcome, deployId: summary.to, serving: summary.serving },
  };
}
