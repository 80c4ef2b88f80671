import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { interpolate } from '../../../src/stack/interpolate.js';

const vars: Record<string, string> = { A: 'alpha', EMPTY: '', DOLLAR: 'p$ss', TAG: '0803128' };
const run = (t: string) => interpolate(t, (n) => vars[n]);

describe('interpolation with docker stack deploy semantics', () => {
  const cases: Array<[string, string]> = [
    ['${A}', 'alpha'],
    ['$A', 'alpha'],
    ['${TAG}', '0803128'],
    ['${EMPTY:-d}', 'd'],
    ['${EMPTY-d}', ''],
    ['${UNSET-d}', 'd'],
    ['${UNSET:-d}', 'd'],
    ['${DB_SSLMODE:-require}', 'require'],
    ['${UNSET:-a:b#c "q"}', 'a:b#c "q"'],
    ['${EMPTY?fine when empty}', ''],
    ['${A:?x}', 'alpha'],
    ['$$A', '$A'],
    ['cost: $$5', 'cost: $5'],
    ['${DOLLAR}', 'p$ss'],
    // docker's own quirks: an unbraced name swallows a following -default, and `:?a-b` is read as a hard default
    ['$A-x', 'alpha'],
    ['${UNSET:?a-b}', 'b'],
  ];
  for (const [input, value] of cases) {
    it(`${input} -> ${value}`, () => {
      const r = run(input);
      assert.deepEqual(r.problems, []);
      assert.equal(r.value, value);
      assert.equal(r.output, value.replace(/\$/g, '$$$$'));
    });
  }
  it('a variable neither provided nor defaulted is refused, naming it', () => {
    assert.deepEqual(run('${B2_ENDPOINT}').problems, [
      '${B2_ENDPOINT}: B2_ENDPOINT is neither a variable honeydue-deploy provides nor given a default — give it one (${B2_ENDPOINT:-value}) or remove it',
    ]);
    assert.equal(run('$NOPE').problems.length, 1);
  });
  it('${VAR:?message} and ${VAR?message} say docker\'s message', () => {
    assert.deepEqual(run('${EMPTY:?needs a value}').problems, ['${EMPTY:?needs a value}: required variable EMPTY is missing a value: needs a value']);
    assert.deepEqual(run('${UNSET?gone}').problems, ['${UNSET?gone}: required variable UNSET is missing a value: gone']);
  });
  it('forms docker does not know are invalid, as for docker (including :+)', () => {
    for (const t of ['${1A}', '${A:+alt}', 'trailing $', '${}']) {
      assert.match(run(t).problems[0] ?? '', /is not a valid substitution \(invalid template\)/, t);
    }
  });
});
