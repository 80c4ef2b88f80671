/**
 * `honeydue-deploy status`: per service the image tag, replicas, update state and, per task, the node and its
 * state; the known-good release; the lock. Exit 0 only when every service has converged on the known-good
 * release, 1 otherwise — so it can gate scripts. Read-only.
 */
import { inspectNodes } from '../commands/docker.js';
import type { Flags } from '../config/settings.js';
import { EXIT } from '../errors.js';
import { exec, store, type Ctx } from '../steps/context.js';
import { judgeAll, type ServiceView, type TaskView } from '../steps/converge-eval.js';
import { degradedText, downNodes, intendedImages, nodeDescriber, readStack } from '../steps/converge.js';
import { parseNodes, type NodeView } from '../steps/nodes-eval.js';
import { table } from '../ui/table.js';
import type { Reporter } from '../ui/reporter.js';
import { finalLine, type ActionResult } from '../result.js';
import { openCtx } from './session.js';
import { readReleases } from './records.js';

export interface StackView {
  services: ServiceView[];
  tasks: TaskView[];
  nodes: NodeView[];
}

export async function observeStack(ctx: Ctx): Promise<StackView> {
  const { services, tasks } = await readStack(ctx);
  const nodes = await exec(ctx, inspectNodes());
  return { services, tasks, nodes: nodes.exitCode === 0 ? parseNodes(nodes.stdout) : [] };
}

function tagOf(image: string): string {
  const last = image.slice(image.lastIndexOf('/') + 1);
  return last.includes(':') ? last.slice(last.indexOf(':') + 1) : 'latest';
}

export function statusLines(stack: string, view: StackView): string[] {
  const rows: string[][] = [['SERVICE', 'TAG', 'REPLICAS', 'UPDATE']];
  for (const s of view.services) {
    const live = view.tasks.filter((t) => t.service === s.name && t.desiredRunning !== false);
    rows.push([s.name.slice(stack.length + 1), tagOf(s.specImage), `${live.filter((t) => t.running).length}/${s.replicas ?? 'global'}`, s.updateState ?? '-']);
  }
  const lines = table(rows, '  ');
  const taskRows: string[][] = [['TASK', 'NODE', 'STATE']];
  for (const t of view.tasks.filter((x) => x.desiredRunning !== false)) {
    // hostnames repeat (a node joined again): the ready node of that name first
    const node = view.nodes.find((n) => n.hostname === t.node && n.state === 'ready') ?? view.nodes.find((n) => n.hostname === t.node);
    taskRows.push([t.service.slice(stack.length + 1), node ? `${node.id.slice(0, 12)} (${node.hostname})` : (t.node ?? '?'), `${t.state}${t.error ? ` (${t.error})` : ''}`]);
  }
  return [...lines, '', ...table(taskRows, '  ')];
}

/**
 * The stack judged against the known-good release, with the nodes: converged (perhaps degraded: every live replica
 * runs it, the rest wait for nodes that are down) or not, per service.
 */
export function judgeServing(stack: string, view: StackView, current: { serviceImages: Record<string, string> } | undefined) {
  const judged = current
    ? judgeAll(view.services, view.tasks, intendedImages(stack, current.serviceImages), { nodes: view.nodes, downNodes: downNodes(view.nodes), describe: nodeDescriber(view.nodes) })
    : [];
  return {
    judged,
    converged: Boolean(current) && judged.every((j) => j.status === 'converged'),
    degraded: degradedText({ release: { stackName: stack } }, judged.filter((j) => j.degraded)),
  };
}

export async function statusAction(flags: Flags, env: NodeJS.ProcessEnv, reporter: Reporter): Promise<ActionResult> {
  const ctx = await openCtx(flags, env, reporter, 'status');
  try {
    const stack = ctx.release.stackName;
    const releases = await readReleases(ctx);
    const current = releases.find((r) => r.current);
    const owner = await store(ctx).inspectLock();
    const view = await observeStack(ctx);
    // every live replica runs the known-good release, the rest wait for nodes that are down: degraded, not failing
    const { judged, converged, degraded } = judgeServing(stack, view, current);
    if (flags.json) {
      process.stdout.write(`${reporter.redactor.redact(JSON.stringify({
        stack, knownGood: current ? { deployId: current.deployId, tag: current.tag, deployedBy: current.deployedBy, deployedAt: current.deployedAt } : null,
        lock: owner ?? null, convergedOnKnownGood: converged, degraded: degraded ?? null,
        services: view.services.map((s) => ({ name: s.name, image: s.specImage, replicas: s.replicas ?? null, updateState: s.updateState ?? null })),
        tasks: view.tasks.filter((t) => t.desiredRunning !== false).map((t) => ({ service: t.service, node: t.node ?? null, state: t.state, error: t.error || null })),
      }, null, 2))}\n`);
    } else {
      reporter.line(`stack ${stack}, through the manager ${ctx.session!.describe()}`);
      reporter.line(`known-good release: ${current ? `${current.deployId} (tag ${current.tag}, by ${current.deployedBy ?? '?'}, at ${current.deployedAt ?? '?'})` : 'none recorded'}`);
      reporter.line(`deploy lock: ${owner ? `held by ${owner}` : 'free'}`);
      reporter.line('');
      for (const l of statusLines(stack, view)) reporter.line(l);
      for (const j of judged.filter((x) => x.status !== 'converged')) reporter.line(`not on the known-good release: ${j.text}`);
      if (degraded) reporter.line(`degraded: ${degraded}`);
    }
    const code = converged ? EXIT.ok : EXIT.rolledBack;
    const text = converged ? `every service runs the known-good release ${current!.deployId}${degraded ? `, degraded: ${degraded}` : ''}` : current ? `the stack is not converged on the known-good release ${current.deployId}` : 'no known-good release recorded';
    return { exitCode: code, finalLine: finalLine(code, text, converged ? (degraded ? 'degraded' : 'ok') : 'not converged') };
  } finally {
    ctx.session?.close();
  }
}
