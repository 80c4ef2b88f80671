import { describeSource } from './secrets/resolve.js';
import type { PlanEntry, StepPlan } from './steps/context.js';
import { showEntry } from './steps/context.js';
import { FINALLY, ON_FAILURE, activeSteps, printHeader, type PlanCtx } from './pipeline.js';
import { budgetLine, budgetWarning, unknownProdKeys } from './config/rules.js';
import { SECRETS } from './config/files.js';
import { sshTarget } from './steps/connect.js';

export interface Plan {
  before: StepPlan[];
  onFailure: StepPlan[];
  always: StepPlan[];
}

/** user@host:port as the run would connect (an ~/.ssh/config alias resolved). */
function managerAddress(ctx: PlanCtx): string {
  const t = sshTarget(ctx);
  const via = t.jumps.length ? ` via ${t.jumps.map((j) => `${j.username}@${j.host}:${j.port}`).join(' -> ')}` : '';
  return `${t.username}@${t.host}:${t.port}${t.alias !== t.host ? ` (alias ${t.alias})` : ''}${via}`;
}

export function buildPlan(ctx: PlanCtx): Plan {
  return {
    before: activeSteps(ctx).map((s) => s.plan(ctx)),
    onFailure: ON_FAILURE.map((p) => p(ctx)).filter((p) => p.entries.length),
    always: FINALLY.map((p) => p(ctx)).filter((p) => p.entries.length),
  };
}

function entryJson(e: PlanEntry): Record<string, unknown> {
  if (e.kind === 'note') return { kind: 'note', text: e.text };
  if (e.kind === 'upload') {
    const u = e.upload;
    return { kind: 'upload', remotePath: u.remotePath, mode: `0${u.mode.toString(8)}`, bytes: Buffer.byteLength(u.data), label: u.label, display: showEntry(e) };
  }
  const c = e.command;
  return {
    kind: 'command',
    where: c.where,
    argv: c.argv,
    ...(c.cwd ? { cwd: c.cwd } : {}),
    ...(c.env ? { env: c.env } : {}),
    ...(c.stdin ? { stdin: c.stdin.secret ? { secret: true, label: c.stdin.label, value: '[redacted]' } : { secret: false, label: c.stdin.label } } : {}),
    display: showEntry(e),
  };
}

export function planJson(ctx: PlanCtx): Record<string, unknown> {
  const { cfg, settings, release: r } = ctx;
  const plan = buildPlan(ctx);
  const steps = (list: StepPlan[]) => list.map((s) => ({ title: s.title, entries: s.entries.map(entryJson) }));
  return {
    deployId: r.deployId,
    tag: r.tag,
    tagSource: r.tagSource,
    gitSha: r.gitSha ?? null,
    dirtyTree: r.dirty,
    stack: r.stackName,
    manager: managerAddress(ctx),
    storage: cfg.storage,
    images: r.images,
    pushLatest: settings.pushLatest,
    skipBuild: settings.skipBuild,
    replicas: { api: cfg.cluster.API_REPLICAS, worker: cfg.cluster.WORKER_REPLICAS, admin: cfg.cluster.ADMIN_REPLICAS },
    connectionBudget: { ...cfg.budget, warning: budgetWarning(cfg.budget) ?? null },
    secrets: r.secretNames,
    valueSources: valueSources(cfg),
    keepSecretVersions: settings.keepSecrets,
    healthcheck: { url: r.healthUrl ?? null, expect: r.healthExpect ?? null, skipped: settings.skipHealthcheck || !r.healthUrl },
    remoteDir: r.remoteDir,
    releaseDir: r.releaseDir,
    steps: steps(plan.before),
    onFailure: steps(plan.onFailure),
    always: steps(plan.always),
    stackFile: r.stackFile,
    stackChecked: stackChecked(cfg),
    warnings: cfg.warnings,
    unknownProdKeys: unknownProdKeys(cfg.prodEnv),
  };
}

/** Where each secret value comes from: its file, or its reference (never the value). */
export function valueSources(cfg: PlanCtx['cfg']): Array<{ name: string; source: string; reference: boolean }> {
  const refs = new Map(cfg.references.map((x) => [x.name, x]));
  const src = (name: string, file: string) => {
    const ref = refs.get(name);
    return ref ? { name, source: describeSource(ref), reference: true } : { name, source: file, reference: false };
  };
  return [
    ...SECRETS.map((s) => src(s.key, s.file)),
    src('REGISTRY_TOKEN', 'registry.env'),
    ...cfg.references.filter((x) => x.target === 'prod').map((x) => src(x.name, 'prod.env')),
  ];
}

/** Which stack file, and who checked it against docker's schema. */
export function stackChecked(cfg: PlanCtx['cfg']): string {
  return cfg.stack.packaged
    ? "packaged template: checked against docker's schema by the test suite, every value typed as docker types it"
    : `${cfg.stack.path}: checked with \`docker stack config\` on this machine`;
}

export function printPlan(ctx: PlanCtx, print: (line: string) => void): void {
  const { cfg, settings, release: r } = ctx;
  const plan = buildPlan(ctx);
  print(`DRY RUN — the plan for deploying ${r.stackName} to ${managerAddress(ctx)}. Nothing is built, pushed, connected to or changed.`);
  print('');
  printHeader(ctx, print);
  for (const w of cfg.warnings) print(`warning: ${w}`);
  print(`tag: ${r.tag} (${r.tagSource === 'placeholder' ? 'a placeholder: no git repository and no --tag' : `from ${r.tagSource}`}${r.gitSha ? `, git ${r.gitSha}` : ''})${r.dirty ? ' — the working tree is DIRTY (uncommitted changes)' : ''}`);
  print(`deploy id: ${r.deployId}`);
  print('images:');
  for (const [svc, image] of Object.entries(r.images)) print(`  ${svc.padEnd(7)} ${image}${r.latestImages ? ` (+ ${r.latestImages[svc as keyof typeof r.latestImages]})` : ''}`);
  print(`replicas: api ${cfg.cluster.API_REPLICAS}, worker ${cfg.cluster.WORKER_REPLICAS}, admin ${cfg.cluster.ADMIN_REPLICAS}`);
  print(budgetLine(cfg.budget).replace(/^connection budget/, 'connections'));
  print('secrets to create (versioned):');
  for (const s of SECRETS) {
    const ref = cfg.references.find((x) => x.target === 'secret' && x.name === s.key);
    print(`  ${(ref ? `${s.key} from ${ref.ref}` : s.file).padEnd(32)} -> ${r.secretNames[s.key]}`);
  }
  const sources = valueSources(cfg);
  if (cfg.references.length) {
    print(`values from ${cfg.references.length === 1 ? 'a password manager' : 'password managers'} (secrets.env; fetched once, on this machine, before anything on the cluster is touched — never shown):`);
    for (const x of sources.filter((v) => v.reference)) print(`  ${x.name.padEnd(20)} ${x.source}`);
  }
  print(`secret pruning: keep the newest ${settings.keepSecrets} versions of each, plus every version the previous known-good release uses`);
  print(`health check: ${settings.skipHealthcheck ? 'skipped (SKIP_HEALTHCHECK)' : r.healthUrl ? `${r.healthUrl}${r.healthExpect ? ` expecting "${r.healthExpect}"` : ''}` : 'none (DEPLOY_HEALTHCHECK_URL is not set)'}`);
  print(`on failure: roll back to the last known-good release (exit 1); if that fails, exit 3 with the commands to run`);
  print(`release bundle: ${r.releaseDir}/ on the manager`);
  const section = (title: string, list: StepPlan[], start: number) => {
    print('');
    print(title);
    list.forEach((s, i) => {
      print(`${String(start + i).padStart(2)}. ${s.title}`);
      for (const e of s.entries) print(`      ${showEntry(e)}`);
    });
  };
  section('Steps:', plan.before, 1);
  section('If a step after "Deploy the stack" fails or the run is interrupted:', plan.onFailure, plan.before.length + 1);
  section('Always, at the end:', plan.always, plan.before.length + plan.onFailure.length + 1);
  print('');
  print(`Rendered stack file (${stackChecked(cfg)}), uploaded as ${r.releaseDir}/swarm-stack.yml:`);
  for (const line of r.stackFile.trimEnd().split('\n')) print(`  | ${line}`);
  print('');
  print(`prod.env keys given to the services: ${Object.keys(cfg.prodEnv).join(', ')}`);
  const unknown = unknownProdKeys(cfg.prodEnv);
  if (unknown.length) print(`prod.env keys neither the stack nor the tool reads (passed to the services as written): ${unknown.join(', ')}`);
}
