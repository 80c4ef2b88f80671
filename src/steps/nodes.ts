import { allServiceSpecs, inspectNodes } from '../commands/docker.js';
import { PreflightError } from '../errors.js';
import { clusterEnvShown, cmd, execChecked, note, type Ctx, type StepPlan } from './context.js';
import { describeNode, hostPortConflicts, hostPorts, healthUrlOnNode, impossiblePlacements, shortPlacements, labelPins, labelProblems, parseNodes, placementNeeds, usable, type NodeView } from './nodes-eval.js';

export function plan(ctx: Pick<Ctx, 'cfg' | 'release'>): StepPlan {
  const localMulti = ctx.cfg.storage === 'local' && ctx.cfg.cluster.API_REPLICAS > 1;
  return {
    title: 'Check the swarm nodes',
    entries: [
      cmd(inspectNodes()),
      note('nodes that are not Ready and Active are listed (no task is placed on them); an even number of managers is a warning (no more fault tolerance than one fewer)'),
      note('stop (exit 2) when a service\'s replicas could not be placed even with every node up and active (replicas x max_replicas_per_node, role constraints); when they do not fit only because nodes are down or drained, a warning naming them: the release serves on fewer replicas until they are back'),
      ...labelPins(ctx.release.stackFile).map((p) => note(`${p.service} is placed by node.labels.${p.key} == ${p.value}: stop (exit 2) unless a ready, active node has that label${p.volume ? ' — exactly one, since its data is on a volume of that node' : ''} (the command to add it is printed)`)),
      ...(hostPorts(ctx.release.stackFile).length
        ? [cmd(allServiceSpecs()), note(`stop (exit 2) when a service of another stack already holds a host-mode port this stack publishes (${hostPorts(ctx.release.stackFile).map((p) => `${p.port}/${p.protocol}`).join(', ')}): swarm would never place the task`)]
        : []),
      ...(localMulti
        ? [note(`API_REPLICAS=${ctx.cfg.cluster.API_REPLICAS} with the local uploads volume: allowed on a one-node swarm only — checked here against the manager's node list (exit 2 on more nodes)`)]
        : []),
    ],
  };
}

/** The one-node rule for the local uploads volume (volumes are per node), decided where the truth is. */
export function localVolumeProblem(ctx: Pick<Ctx, 'cfg'>, nodes: NodeView[]): string | undefined {
  const n = ctx.cfg.cluster.API_REPLICAS;
  if (ctx.cfg.storage !== 'local' || n <= 1 || nodes.length <= 1) return undefined;
  return `${clusterEnvShown(ctx.cfg)}: API_REPLICAS: ${n} replicas with the local uploads volume on a swarm of ${nodes.length} nodes would lose uploads (volumes are per node: a file written on one node is a 404 on the others) — set all four B2_* in prod.env for S3-compatible storage, or set API_REPLICAS=1`;
}

/** An even number of managers tolerates no more failures than one manager fewer: worth a warning, not a stop. */
export function evenManagers(nodes: NodeView[]): string | undefined {
  const managers = nodes.filter((n) => n.role === 'manager').length;
  if (managers === 0 || managers % 2 === 1) return undefined;
  return `the swarm has ${managers} managers: an even number survives no more manager failures than ${managers - 1} (quorum needs ${Math.floor(managers / 2) + 1}) — promote one more (docker node promote <node>) or demote one (docker node demote <node>)`;
}

export async function run(ctx: Ctx): Promise<void> {
  // the node list and the services' ports, side by side
  const [nodeList, specs] = await Promise.all([
    execChecked(ctx, inspectNodes(), 'listing the swarm nodes'),
    hostPorts(ctx.release.stackFile).length ? execChecked(ctx, allServiceSpecs(), 'listing the services of the swarm') : undefined,
  ]);
  const nodes = parseNodes(nodeList.stdout);
  ctx.state.nodes = nodes;
  for (const n of nodes.filter((x) => !usable(x))) {
    ctx.reporter.warn(`node ${describeNode(n)} is ${n.state}/${n.availability}: no task is placed on it`);
  }
  const onNode = healthUrlOnNode(ctx.release.healthUrl, nodes.flatMap((n) => [{ host: n.addr, what: `the node ${describeNode(n)}` }, { host: n.hostname, what: `the node ${describeNode(n)}` }]));
  if (onNode) ctx.reporter.warn(onNode);
  const even = evenManagers(nodes);
  if (even) ctx.reporter.warn(even);
  const needs = placementNeeds(ctx.release.stackFile);
  for (const short of shortPlacements(needs, nodes)) ctx.reporter.warn(`placement: ${short} — bring the nodes back (start their docker, or docker node update --availability active), or remove them (docker node rm) and lower the replicas`);
  const problems = [localVolumeProblem(ctx, nodes), ...impossiblePlacements(needs, nodes).map((p) => `placement: ${p} — add nodes, or lower the replicas`)].filter(
    (p): p is string => p !== undefined,
  );
  problems.push(...labelProblems(labelPins(ctx.release.stackFile), nodes).map((p) => `placement: ${p}`));
  if (specs) {
    problems.push(...hostPortConflicts(ctx.release.stackName, ctx.release.stackFile, specs.stdout).map((p) => `ports: ${p}`));
  }
  if (problems.length) throw new PreflightError(problems.join('\n'));
}
