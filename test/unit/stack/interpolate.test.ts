import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { interpolate } from '../../../src/stack/interpolate.js';

const known = new Set(['A', 'EMPTY', 'UNSET', 'DOLLAR']);
const vars = { A: 'alpha', EMPTY: '', DOLLAR: 'p$ss' } as Record<string, string>;
const run = (t: string) => interpolate(t, vars, known);

describe('compose-style interpolation', () => {
  const cases: Array<[string, string]> = [
    ['${A}', 'alpha'],
    ['$A-x', 'alpha-x'],
    ['${EMPTY:-d}', 'd'],
    ['${EMPTY-d}', ''],
    ['${UNSET-d}', 'd'],
    ['${UNSET:-d}', 'd'],
    ['${A:+alt}', 'alt'],
    ['${EMPTY:+alt}', ''],
    ['${EMPTY+alt}', 'alt'],
    ['${UNSET+alt}', ''],
    ['$$A', '$$A'],
    ['cost: $$5', 'cost: $$5'],
    ['${DOLLAR}', 'p$$ss'],
  ];
  for (const [input, output] of cases) {
    it(`${input} -> ${output}`, () => assert.deepEqual(run(input), { output, problems: [] }));
  }
  it('an unknown variable is an error naming it and the allowed ones', () => {
    assert.deepEqual(run('${NOPE}').problems, ['${NOPE}: is not a variable the stack file may use — use one of A, EMPTY, UNSET, DOLLAR']);
  });
  it('an unset variable without a default is an error', () => {
    assert.deepEqual(run('${UNSET}').problems, ['${UNSET}: is not set — give it a default with ${UNSET:-value}']);
  });
  it('${VAR:?message} and ${VAR?message}', () => {
    assert.deepEqual(run('${EMPTY:?needs a value}').problems, ['${EMPTY}: needs a value']);
    assert.deepEqual(run('${EMPTY?needs a value}').problems, []);
    assert.deepEqual(run('${UNSET?gone}').problems, ['${UNSET}: gone']);
    assert.deepEqual(run('${A:?x}').output, 'alpha');
  });
  it('a malformed substitution is an error', () => {
    assert.match(run('${1A}').problems[0]!, /^\$\{1A\}: is not a valid substitution/);
  });
});
