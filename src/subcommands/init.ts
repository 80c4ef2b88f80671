import fs from 'node:fs';
import path from 'node:path';
import { createMissingFiles, whatToFill } from '../config/load.js';
import { deployDirInBuildContext, TEAM_GITIGNORE, writeGitignore } from '../config/repository.js';
import { SECRETS } from '../config/files.js';
import { SECRETS_ENV } from '../secrets/references.js';
import { resolveSettings, type Flags } from '../config/settings.js';
import { ConfigError, EXIT } from '../errors.js';
import { HOOK_NAMES, HOOKS_DIR, hookSample } from '../hooks.js';
import { finalLine, type ActionResult } from '../result.js';
import type { Reporter } from '../ui/reporter.js';

/** The nearest folder from `dir` up (to the repository's top, or /) that holds a Dockerfile. */
function findContext(dir: string): string | undefined {
  for (let d = dir; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'Dockerfile'))) return d;
    if (fs.existsSync(path.join(d, '.git')) || path.dirname(d) === d) return undefined;
  }
}

export const SOURCES = ['op', 'pass', 'age', 'cmd'] as const;
export type Source = (typeof SOURCES)[number];

/** secrets.env for a team whose values live in `source`: a reference for each secret and the registry token, to adjust. */
export function secretsEnvFor(source: Source): string {
  const names = [...SECRETS.map((s) => s.key), 'REGISTRY_TOKEN'];
  const ref = (name: string) =>
    source === 'op' ? `op://honeydue/${name}/password` : source === 'pass' ? `pass:honeydue/${name}` : source === 'age' ? `age:secrets/${name}.age` : `cmd:vault kv get -field=value secret/honeydue/${name}`;
  return [
    '# Where each secret value comes from: a reference, never a value (this file is shared through git).',
    '#   op://VAULT/ITEM/FIELD  1Password (`op read`)      pass:PATH  pass (`pass show`)',
    '#   age:FILE               an age-encrypted file here  cmd:PROGRAM ARGS…  any program\'s standard output (no shell)',
    '# A prod.env key may come from here too (leave it empty in prod.env): B2_APP_KEY=pass:honeydue/b2_app_key',
    ...(source === 'age' ? ['# Encrypt each value for every operator: age -r age1… -r age1… -o secrets/NAME.age < value-file', '# Each operator decrypts with their own identity: DEPLOY_AGE_IDENTITY (default ~/.config/age/keys.txt).'] : []),
    ...(source === 'cmd' ? ['# The example uses HashiCorp Vault\'s CLI; any program that prints the value works (bws, aws secretsmanager, doppler, …).'] : []),
    ...names.map((n) => `${n}=${ref(n)}`),
    '',
  ].join('\n');
}

/** `init`: lays out the deploy dir from the examples (never overwrites a file); nothing remote. */
export function initAction(flags: Flags & { secretsFrom?: string }, env: NodeJS.ProcessEnv, reporter: Reporter): ActionResult {
  const settings = resolveSettings({ deployDir: flags.deployDir }, { HONEYDUE_DEPLOY_DIR: env.HONEYDUE_DEPLOY_DIR });
  const source = flags.secretsFrom;
  if (source !== undefined && !(SOURCES as readonly string[]).includes(source)) {
    throw new ConfigError(`command line: --secrets-from: "${source}" is not a source — use op (1Password), pass, age or cmd`);
  }
  fs.mkdirSync(settings.deployDir, { recursive: true, mode: 0o700 });
  // a team layout: the values come from the password manager, so no secret file and no token line is written
  const team = source !== undefined && !fs.existsSync(path.join(settings.deployDir, SECRETS_ENV));
  const created: string[] = [];
  if (team) {
    fs.writeFileSync(path.join(settings.deployDir, SECRETS_ENV), secretsEnvFor(source as Source), { mode: 0o644, flag: 'wx' });
    created.push(SECRETS_ENV);
  }
  const fromReferences = new Set(team ? [...SECRETS.map((s) => s.key)] : []);
  const copied = createMissingFiles(settings.deployDir, fromReferences, { gitignore: false });
  created.push(...copied);
  if (team && copied.includes('registry.env')) {
    const file = path.join(settings.deployDir, 'registry.env');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^REGISTRY_TOKEN=.*$/m, '# REGISTRY_TOKEN comes from secrets.env'));
  }
  if (writeGitignore(settings.deployDir, team ? TEAM_GITIGNORE : undefined)) created.push('.gitignore');
  for (const rel of created) reporter.line(`created ${path.join(settings.deployDir, rel)} — ${rel === SECRETS_ENV ? `point each reference at your ${source} entries (no value goes in it)` : rel === 'registry.env' && team ? 'fill in REGISTRY, REGISTRY_USERNAME (the token comes from secrets.env)' : rel === '.gitignore' && team ? 'keeps plain secret files out of git; the rest of the deploy dir holds no secret value and is shared through git' : whatToFill(rel)}`);
  // commented, not executable samples: a hook runs only once it is renamed and made executable
  for (const name of HOOK_NAMES) {
    const file = path.join(settings.deployDir, HOOKS_DIR, `${name}.sample`);
    if (fs.existsSync(file) || fs.existsSync(path.join(settings.deployDir, HOOKS_DIR, name))) continue;
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, hookSample(name), { mode: 0o644, flag: 'wx' });
    created.push(path.join(HOOKS_DIR, `${name}.sample`));
    reporter.line(`created ${file} — a commented sample (not run): rename it to ${name} and chmod +x it to use it`);
  }
  // run from a subfolder of the app repository: the build context is the folder above that holds the Dockerfile
  const context = env.BUILD_CONTEXT || findContext(process.cwd()) || '.';
  const leak = deployDirInBuildContext(settings.deployDir, context, env.DOCKERFILE || path.join(context, 'Dockerfile'));
  if (leak) reporter.warn(leak.replace(/^[^:]+: \(file\): /, ''));
  const contextFlag = !env.BUILD_CONTEXT && path.resolve(context) !== process.cwd() ? ` --context ${path.relative(process.cwd(), context) || '.'}` : '';
  const text = created.length
    ? `created ${created.length} file(s) in ${settings.deployDir}; fill them in, then run \`npx --no-install honeydue-deploy plan --deploy-dir ${settings.deployDir}${contextFlag}\``
    : `every file already exists in ${settings.deployDir}; nothing was created`;
  return { exitCode: EXIT.ok, finalLine: finalLine(EXIT.ok, `${text}; nothing on the cluster was touched`) };
}
