import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { unifiedDiff } from '../../../src/diff/unified.js';
import { tempDir } from '../../helpers/tmp.js';

const HAVE_DIFF = spawnSync('diff', ['--version']).status === 0;

/** GNU diff -u, its header names replaced: the oracle. */
function gnu(a: string, b: string): string {
  const dir = tempDir('hd-diff-');
  fs.writeFileSync(path.join(dir, 'a'), a);
  fs.writeFileSync(path.join(dir, 'b'), b);
  const r = spawnSync('diff', ['-u', '--label', 'old', '--label', 'new', path.join(dir, 'a'), path.join(dir, 'b')], { encoding: 'utf8' });
  return r.stdout;
}

const lines = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => `${f(i)}\n`).join('');

describe('unified diff', { skip: HAVE_DIFF ? false : 'no diff here' }, () => {
  const cases: Array<[string, string, string]> = [
    ['one line changed in the middle', lines(20, (i) => `line ${i}`), lines(20, (i) => (i === 10 ? 'changed' : `line ${i}`))],
    ['two changes far apart: two hunks', lines(30, (i) => `l${i}`), lines(30, (i) => (i === 2 || i === 25 ? `x${i}` : `l${i}`))],
    ['two changes close together: one hunk', lines(30, (i) => `l${i}`), lines(30, (i) => (i === 10 || i === 15 ? `x${i}` : `l${i}`))],
    ['lines added at the end', lines(5, (i) => `a${i}`), lines(8, (i) => `a${i}`)],
    ['lines removed at the start', lines(8, (i) => `a${i}`), lines(8, (i) => `a${i}`).split('\n').slice(3).join('\n')],
    ['from nothing', '', lines(3, (i) => `n${i}`)],
    ['a stack file: image and replicas', 'services:\n  api:\n    image: r/api:v1\n    deploy:\n      replicas: 3\n', 'services:\n  api:\n    image: r/api:v2\n    deploy:\n      replicas: 4\n'],
  ];
  for (const [name, a, b] of cases) {
    it(`${name}: as GNU diff -u writes it`, () => {
      assert.equal(unifiedDiff(a, b, 'old', 'new'), gnu(a, b));
    });
  }
  it('equal texts: empty', () => {
    assert.equal(unifiedDiff('x\n', 'x\n', 'old', 'new'), '');
  });
});
