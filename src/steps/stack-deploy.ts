import { display, type Command } from '../commands/command.js';
import { stackDeploy, stackServiceSpecs, stackTasks } from '../commands/stack.js';
import { parseTasks } from './converge-eval.js';
import { DeployFailed } from '../errors.js';
import { tail, type RunResult } from '../io/runner.js';
import { cmd, exec, execChecked, note, type Ctx, type StepPlan } from './context.js';

/** docker prints this and exits 0 when the manager is not logged in: the nodes then cannot pull (SWARM-FACTS). */
export const DIGEST_WARNING = /could not be accessed on a registry to record\s+its digest/;

export function plan(ctx: Pick<Ctx, 'release'>): StepPlan {
  return {
    title: 'Deploy the stack',
    entries: [
      cmd(stackServiceSpecs(ctx.release.stackName)),
      cmd(stackTasks(ctx.release.stackName)),
      note('remember which services and tasks existed before (a first deploy has none), and each service\'s spec: what served before this run touched the stack (a rollback without a known-good record goes back to it)'),
      cmd(stackDeploy(ctx.release.stackName, ctx.release.releaseDir)),
      note('fatal: a non-zero exit, or the warning that an image "could not be accessed on a registry to record its digest"'),
    ],
  };
}

/**
 * `docker stack deploy`, retried while swarm answers "update out of sequence": the service changed between
 * docker's read and its write, typically because swarm is still running its own rollback of a failed update.
 * Redeploying a moment later is safe (the file is the whole truth) and is what a person would do.
 */
export async function deployStack(ctx: Ctx, command: Command, attempts = 5): Promise<RunResult> {
  for (let i = 1; ; i++) {
    const r = await exec(ctx, command);
    if (r.exitCode === 0 || i >= attempts || !OUT_OF_SEQUENCE.test(r.stderr)) return r;
    ctx.reporter.info(`swarm was still updating a service ("update out of sequence"): deploying again (attempt ${i + 1} of ${attempts})`);
    await ctx.interrupt.sleep(1000 * i);
  }
}

const OUT_OF_SEQUENCE = /update out of sequence/;

export async function run(ctx: Ctx): Promise<void> {
  // run again through another manager after a lost connection: what existed before is what the first try saw
  if (!ctx.state.stackTouched) {
    // side by side; `docker stack ps` exits 1 with "nothing found" on a first deploy: no tasks before
    const [before, tasks] = await Promise.all([execChecked(ctx, stackServiceSpecs(ctx.release.stackName), 'reading the stack services'), exec(ctx, stackTasks(ctx.release.stackName))]);
    ctx.state.specsBefore = parseSpecs(before.stdout);
    ctx.state.servicesBefore = new Set(ctx.state.specsBefore.keys());
    ctx.state.tasksBefore = new Set(ctx.state.servicesBefore.size && tasks.exitCode === 0 ? parseTasks(tasks.stdout).flatMap((t) => (t.id ? [t.id] : [])) : []);
    ctx.interrupt.check();
    ctx.state.stackTouched = true;
  }
  const command = stackDeploy(ctx.release.stackName, ctx.release.releaseDir);
  const r = await deployStack(ctx, command);
  const output = `${r.stdout}\n${r.stderr}`;
  if (r.exitCode !== 0) throw new DeployFailed(`\`${display(command)}\` exited ${r.exitCode}:\n${ctx.reporter.redactor.redact(tail(r.stderr || r.stdout))}`);
  if (DIGEST_WARNING.test(output)) {
    throw new DeployFailed(
      'docker stack deploy could not record an image digest: the nodes would fail to pull (an outage in the making) — treating it as a failed deploy; check the manager\'s registry login',
    );
  }
}

/** `{{json .Spec}}` lines: service name -> the spec's JSON as docker printed it. */
export function parseSpecs(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line.trim().startsWith('{')) continue;
    const name = (JSON.parse(line) as { Name?: string }).Name;
    if (name) out.set(name, line.trim());
  }
  return out;
}
