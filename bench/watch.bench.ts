/**
 * `npm run bench:watch`: what users see during a deploy and a rollback of the packaged template's shape on this
 * machine's sandbox — the api published in host mode and updated stop-first (the template's deviation where there
 * is no routing mesh, see test/e2e/multinode.test.ts), one node — with the health URL watched at the default rate
 * (DEPLOY_WATCH_RATE=4). Runs BENCH_RUNS (default 3) deploys (SKIP_BUILD, an image change) and as many rollbacks of
 * a release whose health check fails; prints failed requests, requests and the longest gap, each run and the
 * median. Never fails on a number: the gap a stop-first update costs is what it is, the table says how big.
 */
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const LINE = /during the (update|rollback): (\d+) of (\d+) requests to the health URL failed \(longest gap (\d+\.\d) s\)/g;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

const { sandboxIfAny, makeFixture, cleanup, runCli } = await import('../test/e2e/harness.js');
const sandbox = sandboxIfAny();
if (!sandbox) {
  console.log('watch bench: needs the sandbox (root, scripts/sandbox.sh up)');
  process.exit(0);
}
const fx = makeFixture(sandbox, { stack: 'benchwatch', apiPort: 18791 });
const seen: Record<'update' | 'rollback', Array<{ failed: number; total: number; gap: number }>> = { update: [], rollback: [] };
try {
  for (const tag of ['w1', 'w2']) {
    const r = await runCli(fx, ['--context', fx.context, '--tag', tag]);
    if (r.code !== 0) throw new Error(r.output);
  }
  // a release whose health check fails, built and pushed once (deployed without a check), then w2 again
  const bad = await runCli(fx, ['--context', fx.context, '--tag', 'wbad', '--build-arg', 'HEALTH=fail', '--skip-healthcheck']);
  if (bad.code !== 0) throw new Error(bad.output);
  // the serving release is the failing one now: back to w2 as an operator ships a fix during an outage
  const back = await runCli(fx, ['--tag', 'w2'], { SKIP_BUILD: '1', SKIP_HEALTHCHECK: '1' });
  if (back.code !== 0) throw new Error(back.output);
  for (let i = 0; i < RUNS; i++) {
    const deploy = await runCli(fx, ['--tag', i % 2 ? 'w2' : 'w1'], { SKIP_BUILD: '1' });
    const rollback = await runCli(fx, ['--tag', 'wbad'], { SKIP_BUILD: '1' });
    // the deploy's update, and the failed release's rollback
    for (const [out, phase] of [[deploy.output, 'update'], [rollback.output, 'rollback']] as const) {
      // the summary's line (said once more at the end of the run): the last of that phase
      const m = [...out.matchAll(LINE)].filter((x) => x[1] === phase).pop();
      if (m) seen[phase].push({ failed: Number(m[2]), total: Number(m[3]), gap: Number(m[4]) });
    }
  }
} finally {
  await cleanup(fx);
}
const rows = [['', 'failed', 'requests', 'longest gap'], ...(['update', 'rollback'] as const).flatMap((phase) => [
  ...seen[phase].map((s, i) => [`${phase} ${i + 1}`, String(s.failed), String(s.total), `${s.gap.toFixed(1)} s`]),
  [`${phase}, median`, String(median(seen[phase].map((s) => s.failed))), String(median(seen[phase].map((s) => s.total))), `${median(seen[phase].map((s) => s.gap)).toFixed(1)} s`],
])];
const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
console.log('during a deploy and a rollback, the packaged template\'s shape (host-mode port, stop-first, one node), 4 requests a second:');
for (const r of rows) console.log(r.map((x, c) => x.padEnd(widths[c]!)).join('  '));
