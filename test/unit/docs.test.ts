/**
 * The docs stay true to the tool: every command, flag and environment variable the CLI knows appears in the
 * reference (README's commands and docs/configuration.md), every one the reference names exists, every link between
 * the docs lands on a heading that is there, and the README stays a guide (short, with a table of contents).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { clusterSchema, prodSchema, registrySchema } from '../../src/config/schema.js';
import { SETTING_SOURCES, TOGGLES } from '../../src/config/settings.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = path.join(ROOT, 'dist', 'cli.js');
const read = (rel: string) => fs.readFileSync(path.join(ROOT, rel), 'utf8');
const DOCS = ['README.md', 'DEPLOYING.md', 'shit_deploy_cant_do.md', ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const reference = () => `${read('README.md')}\n${read('docs/configuration.md')}`;

function help(args: string[]): string {
  const r = spawnSync(process.execPath, [CLI, ...args, '--help'], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME } });
  return r.stdout;
}

/** The CLI's commands, from its own --help. */
function commands(): string[] {
  const text = help([]);
  const block = text.slice(text.indexOf('Commands:'), text.indexOf('\n\n', text.indexOf('Commands:')));
  return [...block.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
}

/** Every flag of every command, from each command's --help. */
function flags(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const c of ['', ...commands()]) {
    const text = help(c ? [c] : []);
    const options = text.slice(text.indexOf('Options:'), c ? undefined : text.indexOf('Commands:'));
    for (const m of options.matchAll(/^ {2}(?:-\w, )?(--[a-z][a-z-]*)/gm)) out.set(m[1]!, [...(out.get(m[1]!) ?? []), c || 'honeydue-deploy']);
  }
  return out;
}

/** GitHub's anchor of a heading. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-');
}

describe('the docs and the tool', () => {
  it('every command of the CLI is in README\'s command list', () => {
    const readme = read('README.md');
    const cmds = commands();
    assert.ok(cmds.length >= 10, cmds.join(' '));
    for (const c of cmds) assert.ok(readme.includes(`honeydue-deploy ${c}`), `README does not list \`honeydue-deploy ${c}\``);
  });
  it('every flag the CLI takes is in the reference; every flag the reference names exists', () => {
    const known = flags();
    const ref = reference();
    for (const [flag, where] of known) {
      const positive = flag.replace(/^--no-/, '--');
      assert.ok(ref.includes(`\`${flag}`) || ref.includes(`${flag} `) || (flag.startsWith('--no-') && ref.includes(positive)), `${flag} (${where.join(', ')}) is not in the reference`);
    }
    // the reference proper (README also quotes npx's and npm's own flags)
    const named = new Set([...read("docs/configuration.md").split("\n").filter((l) => l.startsWith("|")).join("\n").matchAll(/`(--[a-z][a-z-]*[a-z])/g)].map((m) => m[1]!).filter((f) => f !== "--no"));
    for (const flag of named) assert.ok(known.has(flag) || known.has(flag.replace(/^--/, '--no-')), `the reference names ${flag}, which no command takes`);
  });
  it('every setting\'s environment variable and every key of cluster.env and registry.env is in the reference; every variable in its tables exists', () => {
    const ref = read('docs/configuration.md');
    const envs = [...Object.values(SETTING_SOURCES).map((s) => s.env), ...TOGGLES];
    const keys = [...Object.keys(clusterSchema.shape), ...Object.keys(registrySchema.shape)];
    for (const name of [...envs, ...keys]) assert.ok(ref.includes(`\`${name}\``), `${name} is not in docs/configuration.md`);
    // the first column of the settings tables: each a setting the tool knows
    const tables = ref.split('\n').filter((l) => /^\| `[A-Z][A-Z0-9_]+` \|/.test(l)).map((l) => /^\| `([A-Z][A-Z0-9_]+)`/.exec(l)![1]!);
    const prodKeys = new Set(Object.keys(prodSchema.shape));
    for (const name of tables) assert.ok(envs.includes(name) || keys.includes(name) || prodKeys.has(name), `docs/configuration.md documents ${name}, which the tool does not know`);
  });
  it('every link between the docs lands on a file and a heading that are there', () => {
    const headings = new Map(DOCS.map((f) => [f, new Set([...read(f).matchAll(/^#{1,4} (.*)$/gm)].map((m) => slug(m[1]!)))]));
    for (const f of DOCS) {
      for (const m of read(f).matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/.test(target)) continue;
        const [file, anchor] = target.split('#') as [string, string | undefined];
        const resolved = file ? path.normalize(path.join(path.dirname(f), file)) : f;
        assert.ok(fs.existsSync(path.join(ROOT, resolved)), `${f}: the link ${target} leads to no file`);
        if (anchor && resolved.endsWith('.md')) assert.ok(headings.get(resolved)?.has(anchor), `${f}: the link ${target} leads to no heading in ${resolved}`);
      }
    }
  });
  it('README is the guide: at most about 300 lines, with a table of contents that names its sections', () => {
    const readme = read('README.md');
    assert.ok(readme.split('\n').length <= 300, `README has ${readme.split('\n').length} lines`);
    const toc = readme.slice(readme.indexOf('## Contents'), readme.indexOf('\n## ', readme.indexOf('## Contents') + 5));
    for (const h of [...readme.matchAll(/^## (.*)$/gm)].map((m) => m[1]!).filter((h) => h !== 'Contents')) assert.ok(toc.includes(`(#${slug(h)})`), `the table of contents lacks ${h}`);
  });
});
