import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stackConfig } from '../commands/docker.js';
import { parseManagerList } from '../config/managers.js';
import type { Config } from '../config/index.js';
import { deployDirInBuildContext, readGit, trackedSecretFiles, trackedSecretProblems } from '../config/repository.js';
import { resolveSettings, toggleTypos, type Flags, type Settings } from '../config/settings.js';
import { ConfigError, EXIT } from '../errors.js';
import { Interrupt } from '../interrupt.js';
import { LocalRunner } from '../io/local.js';
import { warmSshEarly } from '../io/ssh-warm.js';
import type { Release } from '../release.js';
import { finalLine, printManual, type ActionResult } from '../result.js';
import { builderProblems, probeBuilder } from '../steps/builder.js';
import { clusterEnvShown, type Ctx } from '../steps/context.js';
import type { Reporter } from '../ui/reporter.js';

/**
 * `deploy` and `plan` (a dry run). What they need first — settings, the process runner and the read-only
 * git/docker probes — is loaded with this file; the config schema, the YAML renderer, the plan and the
 * pipeline are loaded while those probes run.
 */

/**
 * Validates the rendered stack file with docker's own schema, when a docker CLI that can is installed: what
 * docker rejects, one problem per line (not yet redacted: the caller redacts once it knows every secret).
 */
async function dockerValidates(release: Release, file: string, reporter: Reporter): Promise<string[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-stack-'));
  try {
    fs.writeFileSync(path.join(dir, 'swarm-stack.yml'), release.stackFile, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'prod.env'), release.envFile, { mode: 0o600 });
    const r = await new LocalRunner().run(stackConfig(path.join(dir, 'swarm-stack.yml')));
    if (r.exitCode === 0) return [];
    if (r.exitCode === 127 || /unknown (shorthand )?flag|unknown command|is not a docker command/.test(r.stderr)) {
      reporter.warn('the local docker CLI cannot run `docker stack config`: the stack file was not checked against docker\'s schema');
      return [];
    }
    const lines = r.stderr.trim().split('\n').filter(Boolean);
    return lines.map((l) => `${file}: ${l.replace(/^(error|Error): /, '')} — docker stack deploy would reject this; fix the stack file`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

interface Prepared {
  settings: Settings;
  cfg: Config;
  release: Release;
  /** docker's own check of the rendered stack file, still running: what it rejects (exit 2) */
  validation: Promise<string[]>;
}

/**
 * What is built must exist: the context folder and its Dockerfile (not needed with SKIP_BUILD). A real deploy
 * stops on it; a dry run shows it as a warning in the plan (the plan can be reviewed from anywhere).
 */
/** How the plan marks what a real deploy would stop on. */
export const STOPS_HERE = ' (a real deploy stops here)';

export function buildInputProblems(settings: Settings, env: NodeJS.ProcessEnv, flags: Flags): string[] {
  if (settings.skipBuild) return [];
  const problems: string[] = [];
  const where = (flag: string, envName: string, given: unknown, fallback: string) => (given !== undefined ? `command line: ${flag}` : env[envName] ? `environment: ${envName}` : fallback);
  if (!fs.existsSync(settings.context) || !fs.statSync(settings.context).isDirectory()) {
    problems.push(`${where('--context', 'BUILD_CONTEXT', flags.context, 'the build context (--context / BUILD_CONTEXT, default .)')}: ${settings.context} is not a folder — point it at the honeyDue API repository (the one with the Dockerfile), or use SKIP_BUILD`);
  } else if (!fs.existsSync(settings.dockerfile)) {
    problems.push(`${where('--dockerfile', 'DOCKERFILE', flags.dockerfile, 'the Dockerfile (--dockerfile / DOCKERFILE, default <context>/Dockerfile)')}: ${settings.dockerfile} does not exist — the build needs a Dockerfile with the targets api, worker and admin`);
  } else {
    const missing = missingTargets(fs.readFileSync(settings.dockerfile, 'utf8'));
    if (missing.missing.length) {
      problems.push(`${settings.dockerfile}: has no build stage named ${missing.missing.join(', ')} — the tool builds the targets api, worker and admin (\`FROM … AS api\`); it has ${missing.has.length ? missing.has.join(', ') : 'no named stage'}`);
    }
  }
  return problems;
}

/** The build targets the tool needs that a Dockerfile does not name (`FROM image AS name`), and the ones it names. */
export function missingTargets(dockerfile: string): { missing: string[]; has: string[] } {
  // instructions continue over a trailing backslash; names are case-insensitive, as docker reads them
  const text = dockerfile.replace(/\\\r?\n/g, ' ');
  const has = [...text.matchAll(/^\s*FROM\s+(?:--\S+\s+)*\S+\s+AS\s+(\S+)/gim)].map((m) => m[1]!.toLowerCase());
  return { missing: ['api', 'worker', 'admin'].filter((t) => !has.includes(t)), has };
}

async function prepare(flags: Flags, env: NodeJS.ProcessEnv, reporter: Reporter, plan: boolean): Promise<Prepared> {
  const settings = resolveSettings(flags, env, { plan });
  // The read-only looks at git and docker start first and run while the rest of the code loads, the config is
  // read and the stack file parsed; docker's check of a rendered own stack file starts as soon as it can, and
  // the ssh config and the plan printer are dealt with while it runs. Every look is read-only: bad input found
  // at any point still stops the run with nothing touched.
  const local = new LocalRunner();
  const gitProbe = readGit(settings.context, local);
  const trackedProbe = trackedSecretFiles(settings.deployDir, local);
  const builderProbe = settings.skipBuild ? undefined : probeBuilder(local, settings);
  // `ssh -G` for the managers, from a quick read of cluster.env, while the code and the config load
  const sshWarm = warmSshEarly(settings.deployDir, env);
  const [{ loadConfig }, { buildRelease, PLACEHOLDER_TAG, stackShown }, { parseStack }, { sshTargets, laptopSshProblems }] = await Promise.all([
    import('../config/index.js'),
    import('../release.js'),
    import('../stack/render.js'),
    import('../steps/connect.js'),
  ]);
  const cfg = loadConfig(settings.deployDir, env, { ageIdentity: settings.ageIdentity, copyMissing: !settings.dryRun });
  const parsed = parseStack(cfg.stack.text, stackShown(cfg));
  const inputs = [...toggleTypos(env), ...buildInputProblems(settings, env, flags)];
  if (inputs.length && !settings.dryRun) throw new ConfigError(inputs);
  const [tracked, git] = await Promise.all([trackedProbe, gitProbe, sshWarm]);
  const leaks = [
    ...trackedSecretProblems(settings.deployDir, tracked, cfg.literal),
    ...(settings.skipBuild || inputs.length ? [] : [deployDirInBuildContext(settings.deployDir, settings.context, settings.dockerfile)].filter((p): p is string => p !== undefined)),
  ];
  if (leaks.length) throw new ConfigError(leaks);
  cfg.warnings.push(...inputs.map((p) => `${p}${STOPS_HERE}`));
  const { referenceProblems, resolveReferences } = await import('../secrets/resolve.js');
  const sources = referenceProblems(cfg.references, env, settings.ageIdentity);
  if (settings.dryRun) cfg.warnings.push(...sources.map((p) => `${p}${STOPS_HERE}`));
  else {
    if (sources.length) throw new ConfigError(sources);
    // every value from a password manager, before the release is built and anything is touched
    await resolveReferences(cfg, { local, timeoutSeconds: settings.secretTimeoutSeconds, redactor: reporter.redactor });
  }
  const release = buildRelease(cfg, settings, env, git, new Date(), parsed);
  // what would cost users answers during the update: said before anything is deployed (never a refusal)
  const [{ downtimeWarnings }, { stackDoc }] = await Promise.all([import('../stack/downtime.js'), import('../stack/services.js')]);
  cfg.warnings.push(...downtimeWarnings(stackDoc(release.stackFile)).map((w) => `${stackShown(cfg)}: ${w}`));
  const { healthUrlOnNode } = await import('../steps/nodes-eval.js');
  const onNode = healthUrlOnNode(release.healthUrl, parseManagerList(cfg.cluster.DEPLOY_MANAGER_HOST ?? '').entries.map((e) => ({ host: e.host, what: `the manager ${e.host} of DEPLOY_MANAGER_HOST` })));
  if (onNode) cfg.warnings.push(`${clusterEnvShown(cfg)}: ${onNode}`);
  if (release.tagSource === 'placeholder') {
    cfg.warnings.push(`command line: --context: ${settings.context} is not a git repository and no --tag (DEPLOY_TAG) was given; the plan shows the tag as ${PLACEHOLDER_TAG}${STOPS_HERE}`);
  }
  // An own stack file is checked by docker itself. The packaged template is not: the test suite checks it with
  // `docker stack config` for every kind of value, every variable in it lands in a string or in a place the
  // renderer types and range-checks as docker does, and prod.env's lines are checked when the config loads —
  // so docker could not reject it, and a plan need not wait a docker start-up to hear that.
  // (A failure to run the check at all is held as a rejection the caller sees, never left unhandled meanwhile.)
  const validation = cfg.stack.packaged ? Promise.resolve([]) : dockerValidates(release, stackShown(cfg), reporter);
  validation.catch(() => undefined);
  const { teachRedactor } = await import('../ui/teach-redactor.js');
  teachRedactor(reporter, cfg);
  // ~/.ssh/config problems (ProxyCommand, Match criteria, bad jump hosts) are bad input: found before anything runs;
  // the laptop's side of SSH (host keys, a key to log in with) is checked read-only and said in the plan
  const targets = sshTargets({ cfg });
  if (settings.dryRun) cfg.warnings.push(...laptopSshProblems(targets).map((p) => `${p}${STOPS_HERE}`));
  const builder = await builderProbe;
  if (builder) {
    release.builder = builder;
    const problems = builderProblems(settings, builder, flags.platform !== undefined);
    if (problems.length) throw new ConfigError(problems);
  }
  return { settings, cfg, release, validation };
}

async function rejectInvalid(validation: Prepared['validation'], reporter: Reporter): Promise<void> {
  const problems = await validation;
  if (problems.length) throw new ConfigError(problems.map((p) => reporter.redactor.redact(p)));
}

export async function deployAction(flags: Flags, env: NodeJS.ProcessEnv, reporter: Reporter, opts: { plan: boolean; interrupt?: Interrupt }): Promise<ActionResult> {
  const { settings, cfg, release, validation } = await prepare(flags, env, reporter, opts.plan);
  if (settings.dryRun) {
    // the plan is written out once docker has accepted the stack file
    const { planJson, printPlan } = await import('../plan.js');
    const lines: string[] = [];
    if (settings.json) lines.push(JSON.stringify(planJson({ cfg, settings, release }), null, 2));
    else printPlan({ cfg, settings, release }, (l) => lines.push(l));
    await rejectInvalid(validation, reporter);
    if (settings.json) process.stdout.write(`${reporter.redactor.redact(lines[0]!)}\n`);
    else reporter.lines([...lines, '']);
    // `plan --exit-code` gates CI as `diff --exit-code` does: exit 1 when a real deploy would stop on something found
    const stops = cfg.warnings.filter((w) => w.endsWith(STOPS_HERE)).length;
    if ((flags as Flags & { exitCode?: boolean }).exitCode && stops) {
      return { exitCode: EXIT.rolledBack, finalLine: finalLine(EXIT.rolledBack, `dry run: a real deploy would stop on ${stops} problem(s) above; nothing was changed`, 'plan found problems') };
    }
    return { exitCode: EXIT.ok, finalLine: finalLine(EXIT.ok, 'dry run: nothing was changed; the serving release is unchanged') };
  }
  await rejectInvalid(validation, reporter);
  const audit = { deployId: release.deployId, tag: release.tag };
  reporter.heading(`Deploying ${release.stackName} ${release.tag} (deploy id ${release.deployId}) to ${cfg.cluster.DEPLOY_MANAGER_HOST}`);
  reporter.info(`storage backend: ${cfg.storage === 's3' ? 'S3-compatible (B2)' : 'local volume'}`);
  reporter.info(`connection budget: ${cfg.budget.total} peak open connections`);
  for (const w of cfg.warnings) reporter.warn(w);
  if (release.dirty && !settings.skipBuild) reporter.warn(`the working tree is dirty: building it as ${release.tag}`);
  const [{ runDeploy }, { RunState }] = await Promise.all([import('../pipeline.js'), import('../steps/context.js')]);
  const ctx: Ctx = { cfg, settings, release, reporter, local: new LocalRunner(), interrupt: opts.interrupt ?? new Interrupt(), state: new RunState() };
  const summary = await runDeploy(ctx);
  printManual(reporter, summary.manual);
  return { exitCode: summary.exitCode, finalLine: finalLine(summary.exitCode, summary.serving), audit: { ...audit, outcome: summary.outcome, serving: summary.serving } };
}
