/**
 * The release phase against the real sandbox: the pre-deploy job (DEPLOY_MIGRATE_COMMAND) runs once, before the
 * update, with the new release's secrets, and what it writes the new api reads; a job that fails, hangs or is
 * interrupted stops the deploy with the stack untouched. Hooks run around deploys and rollbacks with an
 * environment free of secrets. `diff` says what the next deploy would change.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { auditLines, cleanup, currentId, docker, httpBody, loadSandbox, lockOwner, makeFixture, runCli, secretNames, serviceImage, startCli, type Fixture } from './harness.js';

const { sandbox, reason } = loadSandbox();

describe('the release phase: pre-deploy job, hooks, diff', { skip: sandbox ? false : `e2e skipped: ${reason}` }, () => {
  let fx: Fixture;
  let goodId = '';
  const image = (svc: string, tag: string) => `${sandbox!.registry}/e2e-${fx.stack}/honeydue-${svc}:${tag}`;
  const lastLine = (out: string) => out.split('\n').filter((l) => l.startsWith('result:')).pop() ?? '';
  const cluster = () => path.join(fx.deployDir, 'cluster.env');
  const setCluster = (key: string, value: string | undefined) => {
    const lines = fs.readFileSync(cluster(), 'utf8').split('\n').filter((l) => l && !l.startsWith(`${key}=`));
    if (value !== undefined) lines.push(`${key}=${value}`);
    fs.writeFileSync(cluster(), `${lines.join('\n')}\n`, { mode: 0o600 });
  };
  const jobs = () => docker(['service', 'ls', '--filter', `label=com.honeydue.deploy.stack=${fx.stack}`, '--format', '{{.Name}}'], { allowFail: true }).trim();
  /** The job's containers: none may be left once a run is over (removal is asynchronous: given 20 s). */
  const jobContainersGone = async () => {
    for (let i = 0; i < 40; i++) {
      if (!docker(['ps', '-aq', '--filter', `label=com.docker.swarm.service.name=${fx.stack}_hd-migrate`], { allowFail: true }).trim()) return true;
      await new Promise((r) => setTimeout(r, 500));
    }
    return false;
  };
  const marker = () => {
    const mount = docker(['volume', 'inspect', `${fx.stack}_marker`, '--format', '{{.Mountpoint}}'], { allowFail: true }).trim();
    return mount && fs.existsSync(path.join(mount, 'm')) ? fs.readFileSync(path.join(mount, 'm'), 'utf8') : undefined;
  };
  const keyHash = () => crypto.createHash('sha256').update(fx.secrets['secret_key.txt']!).digest('hex').slice(0, 12);
  const hooksDir = () => path.join(fx.deployDir, 'hooks');
  const writeHook = (name: string, body: string) => {
    fs.mkdirSync(hooksDir(), { recursive: true });
    fs.writeFileSync(path.join(hooksDir(), name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  };

  /** The volume outlives the stack: removed once the job's and the stack's containers are gone. */
  const removeMarkerVolume = async () => {
    for (let i = 0; i < 40; i++) {
      docker(['volume', 'rm', 'e2erelease_marker'], { allowFail: true });
      if (!docker(['volume', 'ls', '-q', '--filter', 'name=^e2erelease_marker$'], { allowFail: true }).trim()) return;
      await new Promise((r) => setTimeout(r, 500));
    }
  };

  before(async () => {
    // what a stopped run left: its stack (makeFixture removes it), its job, then the volume they held
    fx = makeFixture(sandbox!, { stack: 'e2erelease', apiPort: 18717 });
    docker(['service', 'rm', `${fx.stack}_hd-migrate`], { allowFail: true });
    await removeMarkerVolume();
    // the api keeps what the job writes on a volume it mounts, and shows it in its health body
    const stackFile = path.join(fx.deployDir, 'swarm-stack.yml');
    const text = fs.readFileSync(stackFile, 'utf8')
      .replace('    environment:\n      DEPLOY_TAG: ${DEPLOY_TAG}\n      DEPLOY_ID: ${DEPLOY_ID}\n', '    environment:\n      DEPLOY_TAG: ${DEPLOY_TAG}\n      DEPLOY_ID: ${DEPLOY_ID}\n      MARKER_FILE: /marker/m\n    volumes:\n      - marker:/marker\n')
      .concat('\nvolumes:\n  marker:\n');
    assert.match(text, /MARKER_FILE/);
    fs.writeFileSync(stackFile, text, { mode: 0o600 });
    // writes the tag it ran for and a hash of the secret it was given, appending each run to a log
    setCluster('DEPLOY_MIGRATE_COMMAND', `sh -c 'echo "migrating to $DEPLOY_TAG"; echo "$DEPLOY_TAG $(sha256sum < /run/secrets/secret_key | cut -c1-12)" > /marker/m; echo "$DEPLOY_ID" >> /marker/runs; echo migrated'`);
  });
  after(async () => {
    if (fx) {
      docker(['service', 'rm', `${fx.stack}_hd-migrate`], { allowFail: true });
      await cleanup(fx);
      await removeMarkerVolume();
    }
  });

  it('the job runs once, before the update, with the new secrets: the new api reads what it wrote; then it is removed', async () => {
    const r = await runCli(fx, ['--context', fx.context, '--tag', 'rp1']);
    assert.equal(r.code, 0, r.output);
    goodId = currentId(fx.stack)!;
    assert.match(r.output, /==> Run the pre-deploy job \(DEPLOY_MIGRATE_COMMAND\)[\s\S]*job: migrating to rp1\n[\s\S]*job: migrated\n[\s\S]*the job exited 0 after [\d.]+s[\s\S]*==> Deploy the stack/);
    assert.equal(marker(), `rp1 ${keyHash()}\n`);
    // the api started after the job had written: its health body carries the marker
    assert.equal((await httpBody(fx.healthUrl))?.body.trim(), `ok rp1 marker:rp1 ${keyHash()}`);
    assert.equal(jobs(), '', 'the job service is gone');
    assert.ok(await jobContainersGone(), 'the job left a container behind');
    const mount = docker(['volume', 'inspect', `${fx.stack}_marker`, '--format', '{{.Mountpoint}}']).trim();
    assert.equal(fs.readFileSync(path.join(mount, 'runs'), 'utf8'), `${goodId}\n`, 'it ran exactly once');
    assert.match(String(auditLines(fx).at(-1)!.detail), /^pre-deploy job \(sh -c .*\): exit 0; during the update: \d+ of \d+ requests to the health URL failed \(longest gap \d+\.\d s\)$/);
    // the same api image again: nothing new to migrate
    const again = await runCli(fx, ['--tag', 'rp1'], { SKIP_BUILD: '1' });
    assert.equal(again.code, 0, again.output);
    assert.match(again.output, /skipped: the api image is the one serving \(rp1_\d{14}\): nothing new to migrate/);
    goodId = currentId(fx.stack)!;
    assert.equal(fs.readFileSync(path.join(mount, 'runs'), 'utf8').split('\n').filter(Boolean).length, 1);
  });

  it('a job that fails: the deploy stops before the stack is touched, the previous release serving, its last lines and exit code shown (exit 1)', async () => {
    // docker reads stdout and stderr apart and stamps each line when it reads it: lines written to the two streams
    // in the same instant may swap, so the two are written a moment apart
    setCluster('DEPLOY_MIGRATE_COMMAND', `sh -c 'echo "step one"; sleep 0.3; echo "boom: relation does not exist" >&2; exit 3'`);
    try {
      const spec = docker(['service', 'inspect', `${fx.stack}_api`, '--format', '{{json .Spec}}']);
      const secrets = secretNames(fx.stack);
      const r = await runCli(fx, ['--context', fx.context, '--tag', 'rp2']);
      assert.equal(r.code, 1, r.output);
      assert.match(r.output, /the pre-deploy job exited with 3: the stack was not touched; its last lines:\n\s+step one\n\s+boom: relation does not exist/);
      assert.match(lastLine(r.output), new RegExp(`^result: deploy failed \\(exit 1\\): the deploy failed before the stack was changed: the previous release ${goodId} \\(tag rp1\\) is still serving$`));
      assert.equal(docker(['service', 'inspect', `${fx.stack}_api`, '--format', '{{json .Spec}}']), spec, 'the stack is untouched');
      assert.deepEqual(secretNames(fx.stack), secrets, 'the failed release\'s secrets are removed');
      assert.equal(jobs(), '');
      assert.equal(lockOwner(fx.stack), undefined);
      assert.equal(currentId(fx.stack), goodId);
      assert.match(String(auditLines(fx).at(-1)!.detail), /: exit 3$/);
    } finally {
      setCluster('DEPLOY_MIGRATE_COMMAND', 'sleep 600');
    }
  });

  it('a job that hangs is stopped at DEPLOY_MIGRATE_TIMEOUT (exit 1); Ctrl-C during a job stops it (exit 130); neither leaves it behind', async () => {
    setCluster('DEPLOY_MIGRATE_TIMEOUT', '4');
    const started = Date.now();
    const r = await runCli(fx, ['--tag', 'rp2'], { SKIP_BUILD: '1' });
    assert.equal(r.code, 1, r.output);
    assert.ok(Date.now() - started < 60_000);
    assert.match(r.output, /the pre-deploy job did not finish within 4s \(DEPLOY_MIGRATE_TIMEOUT\) and was stopped: the stack was not touched/);
    assert.equal(jobs(), '');
    assert.equal(serviceImage(fx.stack, 'api'), image('api', 'rp1'));
    setCluster('DEPLOY_MIGRATE_TIMEOUT', '300');
    const run = startCli(fx, ['--tag', 'rp2'], { SKIP_BUILD: '1' });
    await run.waitFor(/started e2erelease_hd-migrate/, 120_000);
    run.child.kill('SIGINT');
    const i = await run.done;
    assert.equal(i.code, 130, i.output);
    assert.match(lastLine(i.output), new RegExp(`^result: interrupted \\(exit 130\\): stopped before the stack was changed: the previous release ${goodId} \\(tag rp1\\) is still serving$`));
    assert.equal(jobs(), '');
    assert.ok(await jobContainersGone(), 'the interrupted job left a container behind');
    assert.equal(lockOwner(fx.stack), undefined);
    assert.equal(serviceImage(fx.stack, 'api'), image('api', 'rp1'));
    setCluster('DEPLOY_MIGRATE_COMMAND', undefined);
  });

  it('a pre-deploy hook that fails stops the deploy before anything is touched (exit 2)', async () => {
    writeHook('pre-deploy', 'echo "no deploys on Friday"; exit 1');
    try {
      const secrets = secretNames(fx.stack);
      const spec = docker(['service', 'inspect', `${fx.stack}_api`, '--format', '{{json .Spec}}']);
      const audits = auditLines(fx).length;
      const r = await runCli(fx, ['--tag', 'rp2'], { SKIP_BUILD: '1' });
      assert.equal(r.code, 2, r.output);
      assert.match(r.output, /pre-deploy: no deploys on Friday/);
      assert.match(r.output, /the pre-deploy hook \(\S+\/hooks\/pre-deploy\) exited with 1; its last lines: no deploys on Friday — the deploy was stopped before anything on the cluster was touched/);
      assert.match(lastLine(r.output), /^result: stopped before changing anything \(exit 2\): nothing on the cluster was changed/);
      assert.deepEqual(secretNames(fx.stack), secrets);
      assert.equal(docker(['service', 'inspect', `${fx.stack}_api`, '--format', '{{json .Spec}}']), spec);
      assert.equal(lockOwner(fx.stack), undefined);
      assert.equal(auditLines(fx).length, audits, 'not even the lock was taken');
    } finally {
      fs.rmSync(path.join(hooksDir(), 'pre-deploy'));
    }
  });

  it('post-deploy and post-rollback hooks record their environment (no secret anywhere in it); a failing post- hook leaves the exit code alone', async () => {
    const dump = (name: string) => path.join(fx.root, `${name}.env`);
    writeHook('post-deploy', `env > '${dump('post-deploy')}'; echo "posting to chat"; exit 1`);
    writeHook('post-rollback', `env > '${dump('post-rollback')}'`);
    // a variable of the operator's that holds the registry password must not reach a hook
    const extra = { LEAKY_COPY: sandbox!.registryPassword, TEAM_CHANNEL: '#deploys' };
    // SKIP_BUILD: rp1 is in the registry
    const ok = await runCli(fx, ['--tag', 'rp1'], { ...extra, SKIP_BUILD: '1' });
    const env = (name: string) => Object.fromEntries(fs.readFileSync(dump(name), 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    assert.equal(ok.code, 0, ok.output);
    assert.match(ok.output, /warning: the post-deploy hook \(\S+\) exited with 1; its last lines: posting to chat — the outcome stands \(exit 0\)/);
    assert.match(lastLine(ok.output), /^result: ok \(exit 0\): the new release rp1_\d{14} \(tag rp1\) is serving and healthy$/);
    const post = env('post-deploy');
    assert.equal(post.HONEYDUE_HOOK, 'post-deploy');
    assert.equal(post.HONEYDUE_COMMAND, 'deploy');
    assert.equal(post.HONEYDUE_STACK, fx.stack);
    assert.equal(post.HONEYDUE_TAG, 'rp1');
    assert.equal(post.HONEYDUE_OUTCOME, 'healthy');
    assert.equal(post.HONEYDUE_EXIT_CODE, '0');
    assert.equal(post.HONEYDUE_SERVING_ID, post.HONEYDUE_DEPLOY_ID);
    assert.equal(post.HONEYDUE_PREVIOUS_ID, goodId);
    assert.equal(post.TEAM_CHANNEL, '#deploys');
    assert.equal(post.LEAKY_COPY, undefined);
    assert.ok(!fs.existsSync(dump('post-rollback')), 'no rollback happened');
    goodId = currentId(fx.stack)!;
    // a release that fails its health check: rolled back; both post- hooks run and say so
    const bad = await runCli(fx, ['--context', fx.context, '--tag', 'rp3', '--build-arg', 'HEALTH=fail'], { ...extra, SKIP_BUILD: '0' });
    assert.equal(bad.code, 1, bad.output);
    const rb = env('post-rollback');
    assert.equal(rb.HONEYDUE_OUTCOME, 'rolled-back');
    assert.equal(rb.HONEYDUE_EXIT_CODE, '1');
    assert.equal(rb.HONEYDUE_SERVING_ID, goodId);
    assert.equal(env('post-deploy').HONEYDUE_OUTCOME, 'rolled-back');
    for (const name of ['post-deploy', 'post-rollback']) {
      const text = fs.readFileSync(dump(name), 'utf8');
      for (const [file, data] of Object.entries(fx.secrets)) {
        for (const piece of data.toString('utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length >= 8)) assert.ok(!text.includes(piece), `${name} saw ${file}`);
      }
      assert.ok(!text.includes(sandbox!.registryPassword), `${name} saw the registry password`);
    }
    fs.rmSync(hooksDir(), { recursive: true, force: true });
  });

  it('diff: no change (--exit-code 0); a new tag, an env value and a secret file (--exit-code 1, secrets never printed)', async () => {
    const serving = currentId(fx.stack)!;
    const same = await runCli(fx, ['diff', '--tag', 'rp1', '--exit-code']);
    assert.equal(same.code, 0, same.output);
    assert.match(lastLine(same.output), new RegExp(`^result: ok \\(exit 0\\): no difference from the serving release ${serving}; nothing was changed$`));
    assert.match(same.output, /stack file: unchanged/);

    const tag = await runCli(fx, ['diff', '--tag', 'rp9', '--exit-code']);
    assert.equal(tag.code, 1, tag.output);
    assert.ok(tag.output.includes(`    image: ${image('api', 'rp1')} (running ${image('api', 'rp1')}@sha256:`), tag.output);
    assert.match(tag.output, new RegExp(`-> ${image('api', 'rp9').replace(/[.]/g, '\\.')}\\n`));
    assert.match(tag.output, /^ {2}-    image: "?\S+honeydue-api:rp1"?$/m);
    assert.match(tag.output, /^ {2}\+    image: "?\S+honeydue-api:rp9"?$/m);
    assert.match(lastLine(tag.output), /^result: differs \(exit 1\): 3 service\(s\), 0 secret file\(s\) and the stack file differ from the serving release/);

    const prodFile = path.join(fx.deployDir, 'prod.env');
    const prod = fs.readFileSync(prodFile, 'utf8');
    const secretFile = path.join(fx.deployDir, 'secrets', 'secret_key.txt');
    const secret = fs.readFileSync(secretFile);
    try {
      fs.writeFileSync(prodFile, prod.replace('DB_NAME=honeydue', 'DB_NAME=honeydue2'), { mode: 0o600 });
      fs.writeFileSync(secretFile, '--sk-e2erelease-a-new-secret-value', { mode: 0o600 });
      const env = await runCli(fx, ['diff', '--tag', 'rp1', '--exit-code']);
      assert.equal(env.code, 1, env.output);
      assert.match(env.output, /^ {4}env ~ DB_NAME: "honeydue" -> "honeydue2"$/m);
      assert.match(env.output, /^ {2}secrets\/secret_key\.txt: changed$/m);
      assert.ok(!env.output.includes('a-new-secret-value') && !env.output.includes(secret.toString()), 'no secret content');
      const json = await runCli(fx, ['diff', '--tag', 'rp1', '--json']);
      assert.equal(json.code, 0, json.output);
      const d = JSON.parse(json.stdout) as { changed: boolean; secrets: Array<{ key: string; status: string }>; services: Array<{ service: string; env: { changed: Array<{ key: string }> } }> };
      assert.equal(d.changed, true);
      assert.equal(d.secrets.find((s) => s.key === 'secret_key')!.status, 'changed');
      assert.deepEqual(d.services.find((s) => s.service === 'api')!.env.changed.map((c) => c.key), ['DB_NAME']);
    } finally {
      fs.writeFileSync(prodFile, prod, { mode: 0o600 });
      fs.writeFileSync(secretFile, secret, { mode: 0o600 });
    }
  });
});
