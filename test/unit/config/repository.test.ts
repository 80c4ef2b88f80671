import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { deployDirInBuildContext, isIgnored, parseDockerignore, readGit, trackedSecretFiles, trackedSecretProblems, writeGitignore, DEPLOY_GITIGNORE } from '../../../src/config/repository.js';
import { LocalRunner } from '../../../src/io/local.js';
import { tempDir } from '../../helpers/tmp.js';

const ignored = (text: string, file: string) => isIgnored(parseDockerignore(text), file);

describe('.dockerignore with docker\'s pattern semantics', () => {
  const cases: Array<[string, string, boolean]> = [
    ['deploy', 'deploy/secrets/a.txt', true],
    ['/deploy', 'deploy/prod.env', true],
    ['deploy/', 'deploy/prod.env', true],
    ['./deploy', 'deploy/prod.env', true],
    ['deploy/*.env', 'deploy/prod.env', true],
    ['deploy/*.env', 'deploy/secrets/a.txt', false],
    ['**/secrets', 'deploy/secrets/a.txt', true],
    ['**/*.txt', 'deploy/secrets/a.txt', true],
    ['*', 'deploy/prod.env', true],
    ['depl?y', 'deploy/prod.env', true],
    ['[a-d]eploy', 'deploy/prod.env', true],
    ['dep', 'deploy/prod.env', false],
    ['# deploy', 'deploy/prod.env', false],
    ['deploy\n!deploy/secrets', 'deploy/secrets/a.txt', false],
    ['deploy\n!deploy/secrets\ndeploy/secrets/*.txt', 'deploy/secrets/a.txt', true],
    ['*\n!src', 'deploy/prod.env', true],
    ['app/deploy', 'deploy/prod.env', false],
  ];
  for (const [text, file, want] of cases) it(`${JSON.stringify(text)} ${want ? 'excludes' : 'keeps'} ${file}`, () => assert.equal(ignored(text, file), want));
});

describe('the deploy dir inside the build context', () => {
  function repo(ignore?: string): { ctx: string; deploy: string } {
    const ctx = tempDir('hd-ctx-');
    const deploy = path.join(ctx, 'deploy');
    fs.mkdirSync(deploy);
    fs.writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY . .\n');
    if (ignore !== undefined) fs.writeFileSync(path.join(ctx, '.dockerignore'), ignore);
    return { ctx, deploy };
  }
  it('is refused without a .dockerignore, naming the line to add', () => {
    const { ctx, deploy } = repo();
    assert.match(deployDirInBuildContext(deploy, ctx, path.join(ctx, 'Dockerfile'))!, /none of its secret files are excluded .* — add the line `\/deploy` to .*\.dockerignore$/);
  });
  it('is fine once the line is there, or when the deploy dir is outside the context', () => {
    const { ctx, deploy } = repo('.git\n/deploy\n');
    assert.equal(deployDirInBuildContext(deploy, ctx, path.join(ctx, 'Dockerfile')), undefined);
    const elsewhere = tempDir('hd-deploy-');
    assert.equal(deployDirInBuildContext(elsewhere, repo().ctx, 'Dockerfile'), undefined);
  });
  it('reads <Dockerfile>.dockerignore first, as BuildKit does', () => {
    const { ctx, deploy } = repo('/deploy\n');
    fs.writeFileSync(path.join(ctx, 'Dockerfile.dockerignore'), 'node_modules\n');
    assert.match(deployDirInBuildContext(deploy, ctx, path.join(ctx, 'Dockerfile'))!, /Dockerfile\.dockerignore/);
  });
});

describe('secret files tracked by git', () => {
  it('committed or staged files are each a problem with the git rm --cached fix; ignored ones are not', async () => {
    const root = tempDir('hd-git-');
    const deploy = path.join(root, 'deploy');
    fs.mkdirSync(path.join(deploy, 'secrets'), { recursive: true });
    for (const f of ['prod.env', 'cluster.env', 'secrets/secret_key.txt']) fs.writeFileSync(path.join(deploy, f), 'x\n');
    execFileSync('git', ['init', '-q', root]);
    assert.deepEqual(await trackedSecretFiles(deploy, new LocalRunner()), []);
    writeGitignore(deploy);
    assert.equal(fs.readFileSync(path.join(deploy, '.gitignore'), 'utf8'), DEPLOY_GITIGNORE);
    execFileSync('git', ['-C', root, 'add', '-A']);
    assert.deepEqual(await trackedSecretFiles(deploy, new LocalRunner()), [], 'the .gitignore keeps them out of git add -A');
    execFileSync('git', ['-C', root, 'add', '-f', 'deploy/prod.env', 'deploy/secrets/secret_key.txt']);
    const tracked = await trackedSecretFiles(deploy, new LocalRunner());
    assert.deepEqual(tracked, ['prod.env', 'secrets/secret_key.txt']);
    // prod.env holding a literal secret is a problem; a secret file always is
    const problems = trackedSecretProblems(deploy, tracked, { 'prod.env': ['B2_APP_KEY'] });
    assert.equal(problems.length, 2);
    assert.match(problems[0]!, /prod\.env: \(file\): is tracked by git and holds the value of B2_APP_KEY, .* move it into secrets\.env as a reference .* `git rm --cached .*deploy\/prod\.env`/);
    assert.match(problems[1]!, /secrets\/secret_key\.txt: \(file\): is tracked by git, so everyone with the repository has the secret/);
    // prod.env whose secrets are references holds none: it may be committed
    assert.deepEqual(trackedSecretProblems(deploy, tracked, { 'prod.env': [] }).length, 1);
  });
  it('outside a repository nothing is tracked', async () => {
    assert.deepEqual(await trackedSecretFiles(tempDir('hd-nogit-'), new LocalRunner()), []);
  });
});

describe('the build context\'s git state', () => {
  it('reads git: short SHA and dirtiness', async () => {
    const dir = tempDir('hd-git-');
    const git = (...a: string[]) => execFileSync('git', ['-C', dir, '-c', 'user.email=t@e', '-c', 'user.name=t', ...a]);
    git('init', '-q');
    fs.writeFileSync(path.join(dir, 'f'), '1');
    git('add', 'f');
    git('commit', '-qm', 'one');
    const clean = await readGit(dir, new LocalRunner());
    assert.match(clean.sha!, /^[0-9a-f]{7}$/);
    assert.equal(clean.dirty, false);
    fs.writeFileSync(path.join(dir, 'f'), '2');
    assert.equal((await readGit(dir, new LocalRunner())).dirty, true);
    assert.deepEqual(await readGit(os.tmpdir(), new LocalRunner()), { dirty: false });
  });

  it('runs no program the repository configures: a clean filter in .git/info/attributes does not run, dirtiness is still seen', async () => {
    const dir = tempDir('hd-git-');
    const marker = path.join(dir, '..', `${path.basename(dir)}-filter-ran`);
    const git = (...a: string[]) => execFileSync('git', ['-C', dir, '-c', 'user.email=t@e', '-c', 'user.name=t', ...a]);
    git('init', '-q');
    fs.writeFileSync(path.join(dir, 'f'), '1');
    git('add', 'f');
    git('commit', '-qm', 'one');
    git('config', 'filter.x.clean', `touch ${marker}; cat`);
    git('config', 'filter.y.process', `touch ${marker}`);
    fs.writeFileSync(path.join(dir, '.git', 'info', 'attributes'), '* filter=x\n');
    // a file whose stat changed makes status compare its content: that is when the clean filter would run
    fs.writeFileSync(path.join(dir, 'f'), '1');
    fs.utimesSync(path.join(dir, 'f'), new Date(), new Date(Date.now() + 5000));
    const same = await readGit(dir, new LocalRunner());
    assert.equal(same.dirty, false);
    fs.writeFileSync(path.join(dir, 'f'), '2');
    assert.equal((await readGit(dir, new LocalRunner())).dirty, true);
    assert.equal(fs.existsSync(marker), false, 'the repository\'s clean filter ran');
  });
});
