import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from './config/index.js';
import { createMissingFiles, whatToFill } from './config/load.js';
import { deployDirInBuildContext, trackedSecretFiles, writeGitignore } from './config/repository.js';
import { resolveSettings, type Flags, type Settings } from './config/settings.js';
import { ConfigError, EXIT, PreflightError } from './errors.js';
import { finalLine, type ActionResult } from './result.js';
import { stackConfig } from './commands/docker.js';
import { appendAudit, forceUnlock, lockExists, readLockOwner } from './commands/remote-files.js';
import { LocalRunner } from './io/local.js';
import { ManagerSession } from './io/ssh.js';
import { Interrupt } from './interrupt.js';
import { runDeploy, type Summary } from './pipeline.js';
import { runRollback } from './manual-rollback.js';
import { planJson, printPlan } from './plan.js';
import { buildRelease, PLACEHOLDER_TAG, readGit, remoteDirOf, type Release } from './release.js';
import { RunState, type Ctx } from './steps/context.js';
import { builderProblems, probeBuilder } from './steps/build.js';
import { sshTarget } from './steps/connect.js';
import { auditRecord } from './audit.js';
import { describeOwner, lockDir } from './steps/lock.js';
import { Reporter } from './ui/reporter.js';
import { teachRedactor } from './subcommands/session.js';

/** Exit 3: the exact commands a person must run to finish. */
function printManual(reporter: Reporter, manual: string[]): void {
  if (!manual.length) return;
  reporter.error('Run these by hand to finish:');
  for (const m of manual) reporter.error(`  ${m}`);
}

/** Validates the rendered stack file with docker's own schema, when a docker CLI that can is installed. */
async function dockerValidates(release: Release, cfg: Config, reporter: Reporter): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-stack-'));
  try {
    fs.writeFileSync(path.join(dir, 'swarm-stack.yml'), release.stackFile, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'prod.env'), release.envFile, { mode: 0o600 });
    const r = await new LocalRunner().run(stackConfig(path.join(dir, 'swarm-stack.yml')));
    if (r.exitCode === 0) return;
    if (r.exitCode === 127 || /unknown (shorthand )?flag|unknown command|is not a docker command/.test(r.stderr)) {
      reporter.warn('the local docker CLI cannot run `docker stack config`: the stack file was not checked against docker\'s schema');
      return;
    }
    const file = cfg.stack.packaged ? 'templates/swarm-stack.yml (packaged)' : cfg.stack.path;
    const lines = reporter.redactor.redact(r.stderr).trim().split('\n').filter(Boolean);
    throw new ConfigError(lines.map((l) => `${file}: ${l.replace(/^(error|Error): /, '')} — docker stack deploy would reject this; fix the stack file`));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

interface Prepared {
  settings: Settings;
  cfg: Config;
  release: Release;
}

/**
 * What is built must exist: the context folder and its Dockerfile (not needed with SKIP_BUILD). A real deploy
 * stops on it; a dry run shows it as a warning in the plan (the plan can be reviewed from anywhere).
 */
export function buildInputProblems(settings: Settings, env: NodeJS.ProcessEnv, flags: Flags): string[] {
  if (settings.skipBuild) return [];
  const problems: string[] = [];
  const where = (flag: string, envName: string, given: unknown) => (given !== undefined ? `command line: ${flag}` : env[envName] ? `environment: ${envName}` : `command line: ${flag}`);
  if (!fs.existsSync(settings.context) || !fs.statSync(settings.context).isDirectory()) {
    problems.push(`${where('--context', 'BUILD_CONTEXT', flags.context)}: ${settings.context} is not a folder — point it at the honeyDue API repository (the one with the Dockerfile), or use SKIP_BUILD`);
  } else if (!fs.existsSync(settings.dockerfile)) {
    problems.push(`${where('--dockerfile', 'DOCKERFILE', flags.dockerfile)}: ${settings.dockerfile} does not exist — the build needs a Dockerfile with the targets api, worker and admin`);
  }
  return problems;
}

async function prepare(flags: Flags, env: NodeJS.ProcessEnv, reporter: Reporter, plan: boolean): Promise<Prepared> {
  const settings = resolveSettings(flags, env, { plan });
  const cfg = loadConfig(settings.deployDir);
  const inputs = buildInputProblems(settings, env, flags);
  if (inputs.length && !settings.dryRun) throw new ConfigError(inputs);
  // the read-only looks at git and docker run side by side: a plan should not wait for them one by one
  const local = new LocalRunner();
  const builderProbe = settings.skipBuild ? undefined : probeBuilder(local, settings);
  const [tracked, git] = await Promise.all([trackedSecretFiles(settings.deployDir, local), readGit(settings.context, local)]);
  const leaks = [
    ...tracked,
    ...(settings.skipBuild || inputs.length ? [] : [deployDirInBuildContext(settings.deployDir, settings.context, settings.dockerfile)].filter((p): p is string => p !== undefined)),
  ];
  if (leaks.length) throw new ConfigError(leaks);
  cfg.warnings.push(...inputs.map((p) => `${p} (a real deploy stops here)`));
  teachRedactor(reporter, cfg);
  // ~/.ssh/config problems (ProxyCommand, Match criteria, bad jump hosts) are bad input: found before anything runs
  sshTarget({ cfg });
  const release = buildRelease(cfg, settings, env, git, new Date());
  if (release.tagSource === 'placeholder') {
    cfg.warnings.push(`command line: --context: ${settings.context} is not a git repository and no --tag (DEPLOY_TAG) was given; the plan shows the tag as ${PLACEHOLDER_TAG} (a real deploy stops here)`);
  }
  const [, builder] = await Promise.all([dockerValidates(release, cfg, reporter), builderProbe]);
  if (builder) {
    release.builder = builder;
    const problems = builderProblems(settings, builder, flags.platform !== undefined);
    if (problems.length) throw new ConfigError(problems);
  }
  return { settings, cfg, release };
}

export async function deployAction(flags: Flags, env: NodeJS.ProcessEnv, reporter: Reporter, opts: { plan: boolean; interrupt?: Interrupt }): Promise<ActionResult> {
  const { settings, cfg, release } = await prepare(flags, env, reporter, opts.plan);
  if (settings.dryRun) {
    if (settings.json) {
      process.stdout.write(`${reporter.redactor.redact(JSON.stringify(planJson({ cfg, settings, release }), null, 2))}\n`);
    } else {
      printPlan({ cfg, settings, release }, (l) => reporter.line(l));
      reporter.line('');
    }
    return { exitCode: EXIT.ok, finalLine: finalLine(EXIT.ok, 'dry run: nothing was changed; the serving release is unchanged') };
  }
  const audit = { deployId: release.deployId, tag: release.tag };
  reporter.heading(`Deploying ${release.stackName} ${release.tag} (deploy id ${release.deployId}) to ${cfg.cluster.DEPLOY_MANAGER_HOST}`);
  reporter.info(`storage backend: ${cfg.storage === 's3' ? 'S3-compatible (B2)' : 'local volume'}`);
  reporter.info(`connection budget: ${cfg.budget.total} peak open connections`);
  for (const w of cfg.warnings) reporter.warn(w);
  if (release.dirty && !settings.skipBuild) reporter.warn(`the working tree is dirty: building it as ${release.tag}`);
  const ctx: Ctx = { cfg, settings, release, reporter, local: new LocalRunner(), interrupt: opts.interrupt ?? new Interrupt(), state: new RunState() };
  const summary: Summary = await runDeploy(ctx);
  printManual(reporter, summary.manual);
  return { exitCode: summary.exitCode, finalLine: finalLine(summary.exitCode, summary.serving), audit: { ...audit, outcome: summary.outcome, serving: summary.serving } };
}

export function initAction(flags: Flags, env: NodeJS.ProcessEnv, reporter: Reporter): ActionResult {
  const settings = resolveSettings({ deployDir: flags.deployDir }, { HONEYDUE_DEPLOY_DIR: env.HONEYDUE_DEPLOY_DIR });
  fs.mkdirSync(settings.deployDir, { recursive: true, mode: 0o700 });
  const created = createMissingFiles(settings.deployDir);
  if (writeGitignore(settings.deployDir)) created.push('.gitignore');
  for (const rel of created) reporter.line(`created ${path.join(settings.deployDir, rel)} — ${whatToFill(rel)}`);
  const context = env.BUILD_CONTEXT || '.';
  const leak = deployDirInBuildContext(settings.deployDir, context, env.DOCKERFILE || path.join(context, 'Dockerfile'));
  if (leak) reporter.warn(leak.replace(/^[^:]+: \(file\): /, ''));
  const text = created.length
    ? `created ${created.length} file(s) in ${settings.deployDir}; fill them in, then run \`honeydue-deploy plan --deploy-dir ${settings.deployDir}\``
    : `every file already exists in ${settings.deployDir}; nothing was created`;
  return { exitCode: EXIT.ok, finalLine: finalLine(EXIT.ok, `${text}; nothing on the cluster was touched`) };
}

export async function rollbackAction(flags: Flags, env: NodeJS.ProcessEnv, reporter: Reporter, interrupt: Interrupt, deployId?: string): Promise<ActionResult> {
  const settings = resolveSettings({ deployDir: flags.deployDir, skipHealthcheck: flags.skipHealthcheck, lockWait: flags.lockWait }, env);
  const cfg = loadConfig(settings.deployDir);
  teachRedactor(reporter, cfg);
  const summary = await runRollback(cfg, settings, reporter, new LocalRunner(), interrupt, deployId);
  printManual(reporter, summary.manual);
  return {
    exitCode: summary.exitCode,
    finalLine: finalLine(summary.exitCode, summary.serving),
    audit: { outcome: summary.outcome, deployId: summary.to, serving: summary.serving },
  };
}

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
