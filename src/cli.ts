#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import path from 'node:path';
import { appendLocalAudit, auditRecord, type AuditRecord } from './audit.js';
import { parseBoolean, type Flags } from './config/settings.js';
import { ConfigError, EXIT, PreflightError, errorMessage } from './errors.js';
import { Interrupt } from './interrupt.js';
import { finalLine, type ActionResult } from './result.js';
import { closest } from './edit-distance.js';
import { Reporter } from './ui/reporter.js';
// every command's own module is loaded when that command runs: `--help` starts with commander alone

const pkg = createRequire(import.meta.url)('../package.json') as { version: string };

const EXAMPLES = `
Examples:
  # always review the plan first (validates everything, touches nothing)
  DRY_RUN=1 npx --no-install honeydue-deploy            # or: npx --no-install honeydue-deploy plan
  npx --no-install honeydue-deploy plan --json          # the same plan as JSON

  # then the real deploy
  npx --no-install honeydue-deploy

  # after pushing images by hand (e.g. a multi-arch buildx push of tag abc1234)
  SKIP_BUILD=1 DEPLOY_TAG=abc1234 npx --no-install honeydue-deploy

  # first time: create the config files from the examples
  npx --no-install honeydue-deploy init --deploy-dir ./deploy

Exit codes:
  0    the new release is serving and healthy (also: a dry run, init)
  1    the deploy failed and the previous release is serving (again)
  2    configuration, usage or preflight error: nothing on the cluster was touched
  3    failed and the previous state could not be restored: the output says exactly what to run
  130  interrupted (SIGINT/SIGTERM); the last line says what state the cluster is in
  status: 0 every service runs the known-good release, 1 it does not; doctor: 0 no check failed, 1 one did;
  releases, logs, dozzle: 0; diff: 0, with --exit-code 1 when the next deploy would change something;
  every command: 2 for bad input; an unreachable manager is 2, but for doctor (one failed check: 1)
  plan --exit-code: 1 when the plan found something a real deploy would stop on

Day two:
  npx --no-install honeydue-deploy status            # what runs where; exit 1 when not on the known-good release
  npx --no-install honeydue-deploy releases          # the recorded releases, newest first
  npx --no-install honeydue-deploy diff              # what the next deploy would change
  npx --no-install honeydue-deploy rollback abc1234_20261127101112
  npx --no-install honeydue-deploy logs api --since 10m --follow
  npx --no-install honeydue-deploy dozzle            # then browse the printed URL
  npx --no-install honeydue-deploy doctor            # before a deploy
`;

/** The deploy's flags; `plan` is a dry run by definition, so it has no --dry-run / --no-dry-run. */
function withDeployOptions(cmd: Command, opts: { plan?: boolean } = {}): Command {
  if (!opts.plan) {
    cmd.option('--dry-run', 'validate and print the plan; change nothing (DRY_RUN)').option('--no-dry-run', 'deploy for real even if DRY_RUN is set');
    // a plan takes no lock
    cmd.option('--lock-wait <seconds>', 'wait up to this long for another deploy\'s lock (DEPLOY_LOCK_WAIT; default 0: refuse at once)');
  }
  return cmd
    .option('--skip-build', 'deploy images already in the registry (SKIP_BUILD)')
    .option('--no-skip-build', 'build even if SKIP_BUILD is set')
    .option('--skip-healthcheck', 'skip the final URL check (SKIP_HEALTHCHECK)')
    .option('--no-skip-healthcheck', 'check health even if SKIP_HEALTHCHECK is set')
    .option('--tag <tag>', 'image tag to build and deploy (DEPLOY_TAG; default: short git SHA of the build context)')
    .option('--push-latest', 'also push :latest (PUSH_LATEST_TAG; default false)')
    .option('--no-push-latest', 'do not push :latest even if PUSH_LATEST_TAG is set')
    .option('--keep-secrets <n>', 'secret versions to keep per secret, at least 2 (SECRET_KEEP_VERSIONS; default 3)')
    .option('--deploy-dir <dir>', 'the config directory (HONEYDUE_DEPLOY_DIR; default ./deploy)')
    .option('--context <dir>', 'the app repo holding the Dockerfile with targets api, worker, admin (BUILD_CONTEXT; default .)')
    .option('--dockerfile <path>', 'Dockerfile path (DOCKERFILE; default <context>/Dockerfile)')
    .option('--platform <platforms>', 'target platform(s) for docker buildx, e.g. linux/arm64 (DEPLOY_PLATFORM)')
    .option('--build-arg <KEY=VALUE>', 'a build argument, repeatable (BUILD_ARGS, space-separated)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--ssh-timeout <seconds>', 'how long an SSH handshake may take, per manager and jump host (DEPLOY_SSH_TIMEOUT; default 20)')
    .option(...AGE_IDENTITY)
    .option(...SECRET_TIMEOUT)
    .option('--max-failed-requests <n>', 'requests to the health URL the update may fail before the release is rolled back (DEPLOY_MAX_FAILED_REQUESTS; default: none, only reported)')
    .option('--json', 'print the plan as JSON (with plan / --dry-run)');
}

/** The options of the commands that fetch the values secrets.env refers to. */
const AGE_IDENTITY = ['--age-identity <file>', 'the age identity that decrypts age: references in secrets.env (DEPLOY_AGE_IDENTITY; default ~/.config/age/keys.txt)'] as const;
const SECRET_TIMEOUT = ['--secret-timeout <seconds>', 'how long each secrets.env reference may take to fetch (DEPLOY_SECRET_TIMEOUT; default 30)'] as const;

/** `staus` → "did you mean status?" (the closest command within two edits). */
function unknownCommand(word: string, commands: string[]): string {
  const close = closest(word.toLowerCase(), commands);
  return `command line: ${word}: is not a command${close ? ` — did you mean ${close}?` : ''} (\`honeydue-deploy --help\` lists the commands; the deploy itself takes no arguments)`;
}

function installSignalHandlers(interrupt: Interrupt, reporter: Reporter): void {
  const onSignal = (signal: NodeJS.Signals) => {
    interrupt.trigger(signal);
    if (interrupt.count === 1) {
      reporter.warn(`${signal} received: stopping at the next safe point (rolling back if the stack was already changed). Press Ctrl-C again to skip waiting for the rollback.`);
    } else if (interrupt.count === 2) {
      reporter.warn(`${signal} received again: not waiting for the rollback to converge; still logging out and releasing the lock.`);
    } else {
      reporter.error(`${signal} received a third time: exiting NOW. Logout and unlock may not have happened — run \`honeydue-deploy status\` and, if needed, \`honeydue-deploy unlock --force\`.`);
      process.exit(EXIT.interrupted);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

async function main(argv: string[]): Promise<number> {
  const reporter = new Reporter();
  const started = new Date();
  /** set for a real deploy run: the deploy dir its local audit line names */
  let auditDir: string | undefined;
  let auditEvent: AuditRecord['event'] = 'deploy';
  const localAudit = (outcome: string, extra: ActionResult['audit'] = { outcome }) => {
    if (!auditDir) return;
    const record = auditRecord({ event: auditEvent, ...extra, outcome, start: started.toISOString(), durationMs: Date.now() - started.getTime() });
    appendLocalAudit({ ...record, deployDir: path.resolve(auditDir) }, (t: string) => reporter.redactor.redact(t));
  };
  const finish = (r: ActionResult): number => {
    // with --json, stdout is the JSON document alone and the reporter already writes to stderr
    reporter.line(r.finalLine);
    return r.exitCode;
  };
  const act = <O extends Flags>(fn: (opts: O) => Promise<ActionResult> | ActionResult) => async (opts: O) => {
    if (opts.json) reporter.humanOutputToStderr();
    const result = await fn(opts);
    if (result.audit) localAudit(result.audit.outcome, result.audit);
    exitCode = finish(result);
  };
  let exitCode: number = EXIT.ok;
  const program = new Command()
    .name('honeydue-deploy')
    .description('Ships the honeyDue API (api, worker, admin images) to a Docker Swarm: validate, build, push, deploy, verify, roll back.')
    .version(pkg.version)
    .exitOverride()
    .showHelpAfterError(false)
    .addHelpText('after', EXAMPLES);

  const interrupt = new Interrupt();
  /** A command that reads the deploy dir (every one but deploy and plan, which take the whole deploy option set). */
  const configCommand = (spec: string, description: string, opts: { connects?: boolean } = {}) => {
    const cmd = program.command(spec).description(description).option('--deploy-dir <dir>', 'the config directory (HONEYDUE_DEPLOY_DIR; default ./deploy)');
    // init connects to nothing: it takes no SSH setting
    return opts.connects === false ? cmd : cmd.option('--ssh-timeout <seconds>', 'how long an SSH handshake may take, per manager and jump host (DEPLOY_SSH_TIMEOUT; default 20)');
  };
  const deployDirOf = (opts: Flags) => opts.deployDir ?? process.env.HONEYDUE_DEPLOY_DIR ?? 'deploy';
  const deployCommand = withDeployOptions(program.command('deploy', { isDefault: true }).description('deploy the current build context (the default command)'))
    // the deploy takes no words: one here is a command misspelled (`honeydue-deploy staus`)
    .argument('[unknown...]')
    .addHelpText('after', EXAMPLES);
  deployCommand.action(async (unknown: string[], opts: Flags) =>
    act(async (o: Flags) => {
      if (unknown.length) throw new ConfigError(unknownCommand(unknown[0]!, program.commands.map((c) => c.name())));
      return runDeploy(o);
    })(opts),
  );
  const runDeploy = async (opts: Flags) => {
      installSignalHandlers(interrupt, reporter);
      const dryRun = opts.dryRun ?? parseBoolean(process.env.DRY_RUN ?? '') ?? false;
      if (!dryRun) auditDir = deployDirOf(opts);
      const { deployAction } = await import('./subcommands/deploy.js');
      return deployAction(opts, process.env, reporter, { plan: false, interrupt });
  };
  // the top-level help names the deploy's flags too: the deploy is what `honeydue-deploy` alone runs
  program.addHelpText('after', () => `\nDeploy options (honeydue-deploy [deploy] …; \`honeydue-deploy deploy --help\` for all):\n${deployCommand.options.map((o) => `  ${o.flags.padEnd(26)} ${o.description}`).join('\n')}\n`);
  withDeployOptions(program.command('plan').description('validate everything and print the whole plan (same as DRY_RUN=1); changes nothing'), { plan: true })
    .option('--exit-code', 'exit 1 when the plan found something a real deploy would stop on (as git diff --exit-code)')
    .action(act(async (opts) => (await import('./subcommands/deploy.js')).deployAction(opts, process.env, reporter, { plan: true })));
  configCommand('rollback [DEPLOY_ID]', 'go back to a recorded release (default: the known-good one before the current): check its images and secrets, redeploy it, verify it, make it current')
    .option(...AGE_IDENTITY)
    .option(...SECRET_TIMEOUT)
    .option('--dry-run', 'print the plan; connect to nothing, change nothing (DRY_RUN)')
    .option('--no-dry-run', 'roll back for real even if DRY_RUN is set')
    .option('--skip-healthcheck', 'skip the health check of the release rolled back to (SKIP_HEALTHCHECK)')
    .option('--lock-wait <seconds>', 'wait up to this long for another deploy\'s lock (DEPLOY_LOCK_WAIT)')
    .action(async (deployId: string | undefined, opts: Flags) =>
      act(async (o) => {
        installSignalHandlers(interrupt, reporter);
        if (!(o.dryRun ?? parseBoolean(process.env.DRY_RUN ?? '') ?? false)) auditDir = deployDirOf(o);
        auditEvent = 'rollback';
        return (await import('./subcommands/rollback.js')).rollbackAction(o, process.env, reporter, interrupt, deployId);
      })(opts),
    );
  configCommand('init', 'create the config files from the examples and stop', { connects: false })
    .option('--secrets-from <source>', 'lay out a deploy dir the team shares through git: secret values from op (1Password), pass, age or cmd, named in secrets.env')
    .action(act(async (opts) => (await import('./subcommands/init.js')).initAction(opts, process.env, reporter)));
  configCommand('unlock', 'remove a stale deploy lock (the cluster\'s one lock, through any manager; says whose it was)')
    .option('--force', 'really remove it')
    .option('--dry-run', 'print the plan; connect to nothing, change nothing (DRY_RUN)')
    .option('--no-dry-run', 'unlock for real even if DRY_RUN is set')
    .action(act(async (opts) => (await import('./subcommands/unlock.js')).unlockAction(opts, process.env, reporter)));
  configCommand('status', 'per service: tag, replicas, update state and where each task runs; the known-good release; the lock. Exit 0 only when every service runs the known-good release')
    .option('--json', 'print it as JSON')
    .action(act(async (opts) => (await import('./subcommands/status.js')).statusAction(opts, process.env, reporter)));
  configCommand('releases', 'the releases recorded in the swarm (the same through every manager), newest first: deploy id, tag, who, when, outcome, which is current')
    .option('--json', 'print them as JSON')
    .action(act(async (opts) => (await import('./subcommands/releases.js')).releasesAction(opts, process.env, reporter)));
  configCommand('diff', 'what the next deploy would change against the serving release: images, replicas, environment keys, secrets (by salted digest), the stack file. Read-only')
    .option('--tag <tag>', 'the tag the next deploy would use (DEPLOY_TAG; default: short git SHA of the build context)')
    .option('--context <dir>', 'the app repo whose git SHA is the default tag (BUILD_CONTEXT; default .)')
    .option('--json', 'print it as JSON')
    .option('--exit-code', 'exit 1 when the next deploy would change something (as git diff --exit-code)')
    .option(...AGE_IDENTITY)
    .option(...SECRET_TIMEOUT)
    .action(act(async (opts) => (await import('./subcommands/diff.js')).diffAction(opts, process.env, reporter)));
  configCommand('logs <SERVICE>', 'docker service logs of one service of the stack (api, worker, admin, …), every secret value redacted')
    .option('--since <time>', 'only lines since a duration (10m, 2h) or a date')
    .option('--tail <n>', 'only the last N lines of each task')
    .option('-f, --follow', 'keep printing new lines until Ctrl-C')
    .option(...AGE_IDENTITY)
    .option(...SECRET_TIMEOUT)
    .action(async (service: string, opts: Flags) => act(async (o) => (await import('./subcommands/logs.js')).logsAction(service, o, process.env, reporter))(opts));
  configCommand('dozzle', "open Dozzle (on the manager's 127.0.0.1:DOZZLE_PORT) through the SSH connection; prints the local URL; Ctrl-C to stop")
    .option('--port <n>', 'the local port (default: DOZZLE_PORT)')
    .action(act(async (opts) => (await import('./subcommands/dozzle.js')).dozzleAction(opts, process.env, reporter)));
  configCommand('doctor', 'read-only checks of the manager and the cluster, one line each: pass, warn or fail with what to do; exit 1 if any fails')
    .option('--json', 'print the checks as JSON')
    .option(...AGE_IDENTITY)
    .option(...SECRET_TIMEOUT)
    .action(act(async (opts) => (await import('./subcommands/doctor.js')).doctorAction(opts, process.env, reporter)));

  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.ok;
      return finish({ exitCode: EXIT.config, finalLine: finalLine(EXIT.config, 'usage error (see --help); nothing on the cluster was touched') });
    }
    if (err instanceof ConfigError) {
      localAudit('config-error');
      for (const p of err.problems) reporter.error(p);
      return finish({ exitCode: EXIT.config, finalLine: finalLine(EXIT.config, `${err.problems.length} problem(s) above; nothing on the cluster was touched`) });
    }
    if (err instanceof PreflightError) {
      localAudit('preflight-failed');
      reporter.error(err.message);
      return finish({ exitCode: EXIT.config, finalLine: finalLine(EXIT.config, 'preflight failed; nothing on the cluster was touched') });
    }
    localAudit('failed-needs-attention');
    reporter.error(`unexpected error: ${errorMessage(err)}`);
    if (process.env.HONEYDUE_DEBUG) reporter.error(String((err as Error).stack));
    return finish({ exitCode: EXIT.needsAttention, finalLine: finalLine(EXIT.needsAttention, 'an unexpected error stopped the run; check `honeydue-deploy status`') });
  }
}

// a reader that went away (`| head`) is not an error of the deploy
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}

process.exitCode = await main(process.argv);
// The outcome is decided and printed. Should any handle still hold the event loop open, do not hang a
// deploy pipeline on it: leave with the decided code shortly (unref'd: never delays a normal exit).
setTimeout(() => process.exit(process.exitCode), 3000).unref();
