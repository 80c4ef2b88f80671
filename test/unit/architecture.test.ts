/**
 * The shape of the code: no module of src/ reaches itself again through its imports (type imports included) —
 * steps take what they share from below them, configuration never imports the hooks runner, and the redactor is a
 * leaf every layer may use.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

function imports(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts')) {
        const text = fs.readFileSync(p, 'utf8');
        const deps = [...text.matchAll(/^(?:import|export)[^'"]*?from\s+'(\.[^']+)'/gm), ...text.matchAll(/import\('(\.[^']+)'\)/g)].map((m) => path.join(path.dirname(p), m[1]!.replace(/\.js$/, '.ts')));
        graph.set(p, deps);
      }
    }
  };
  walk(SRC);
  return graph;
}

/** Every circle, as the files on it. */
function circles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string) => {
    state.set(n, 'open');
    stack.push(n);
    for (const d of graph.get(n) ?? []) {
      if (!graph.has(d)) continue;
      if (state.get(d) === 'open') found.push([...stack.slice(stack.indexOf(d)), d].map((f) => path.relative(SRC, f)));
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of graph.keys()) if (!state.has(n)) visit(n);
  return found;
}

describe('the shape of the code', () => {
  it('no import circles in src/ (static imports, type imports and lazy import() alike)', () => {
    assert.deepEqual(circles(imports()).map((c) => c.join(' -> ')), []);
  });
  it('configuration does not import the hooks runner; steps do not import the pipeline above them', () => {
    const g = imports();
    const rel = (f: string) => (g.get(path.join(SRC, f)) ?? []).map((d) => path.relative(SRC, d));
    for (const f of fs.readdirSync(path.join(SRC, 'config'))) assert.ok(!rel(`config/${f}`).includes('hooks.ts'), `config/${f} imports hooks.ts`);
    for (const f of fs.readdirSync(path.join(SRC, 'steps'))) assert.ok(!rel(`steps/${f}`).includes('pipeline.ts'), `steps/${f} imports pipeline.ts`);
  });
  it('the SSH code is one small module per job, none of them long', () => {
    for (const f of ['ssh.ts', 'ssh-target.ts', 'ssh-auth.ts', 'ssh-connect.ts', 'ssh-channels.ts', 'ssh-exec.ts', 'ssh-sftp.ts', 'ssh-forward.ts']) {
      const lines = fs.readFileSync(path.join(SRC, 'io', f), 'utf8').split('\n').length;
      assert.ok(lines < 300, `io/${f} has ${lines} lines`);
    }
  });
});
