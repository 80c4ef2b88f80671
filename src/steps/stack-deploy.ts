import { display } from '../commands/command.js';
import { stackDeploy, stackServiceNames } from '../commands/stack.js';
import { DeployFailed } from '../errors.js';
import { tail } from '../io/runner.js';
import { cmd, exec, execChecked, note, type Ctx, type StepPlan } from './context.js';

/** docker prints this and exits 0 when the manager is not logged in: the nodes then cannot pull (SWARM-FACTS). */
export const DIGEST_WARNING = /could not be accessed on a registry to record\s+its digest/;

export function plan(ctx: Pick<Ctx, 'release'>): StepPlan {
  return {
    title: 'Deploy the stack',
    entries: [
      cmd(stackServiceNames(ctx.release.stackName)),
      note('remember which services existed before (a first deploy has none)'),
      cmd(stackDeploy(ctx.release.stackName, ctx.release.releaseDir)),
      note('fatal: a non-zero exit, or the warning that an image "could not be accessed on a registry to record its digest"'),
    ],
  };
}

export async function run(ctx: Ctx): Promise<void> {
  const before = await execChecked(ctx, stackServiceNames(ctx.release.stackName), 'listing the stack services');
  ctx.state.servicesBefore = new Set(before.stdout.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('Nothing found')));
  ctx.interrupt.check();
  ctx.state.stackTouched = true;
  const command = stackDeploy(ctx.release.stackName, ctx.release.releaseDir);
  const r = await exec(ctx, command);
  const output = `${r.stdout}\n${r.stderr}`;
  if (r.exitCode !== 0) throw new DeployFailed(`\`${display(command)}\` exited ${r.exitCode}:\n${ctx.reporter.redactor.redact(tail(r.stderr || r.stdout))}`);
  if (DIGEST_WARNING.test(output)) {
    throw new DeployFailed(
      'docker stack deploy could not record an image digest: the nodes would fail to pull (an outage in the making) — treating it as a failed deploy; check the manager\'s registry login',
    );
  }
}
