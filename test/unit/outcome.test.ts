import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide, NO_FACTS, OUTCOME_TABLE, type Facts } from '../../src/outcome.js';

const f = (over: Partial<Facts>): Facts => ({ ...NO_FACTS, ...over });

describe('the outcome table', () => {
  const cases: Array<[string, Partial<Facts>, number, string]> = [
    ['interrupted, target healthy', { interrupted: true, targetHealthy: true, stackTouched: true }, 130, 'healthy'],
    ['interrupted', { interrupted: true, stackTouched: true, restored: true }, 130, 'interrupted'],
    ['interrupted', { interrupted: true, reachable: false }, 130, 'interrupted'],
    ['left for a person', { targetHealthy: true, stackTouched: true, leftForPerson: true }, 3, 'failed-needs-attention'],
    ['left for a person', { leftForPerson: true }, 3, 'failed-needs-attention'],
    ['target healthy', { targetHealthy: true, stackTouched: true }, 0, 'healthy'],
    ['no manager reachable', { reachable: false, stackTouched: true }, 3, 'failed-needs-attention'],
    ['no manager reachable', { reachable: false }, 3, 'failed-needs-attention'],
    ['refused before any change', { refused: true }, 2, 'preflight-failed'],
    ['failed before any change', {}, 1, 'failed-before-change'],
    ['failed, previous restored', { stackTouched: true, restored: true }, 1, 'rolled-back'],
    ['failed, not restored', { stackTouched: true }, 3, 'failed-needs-attention'],
    ['failed, not restored', { stackTouched: true, refused: true }, 3, 'failed-needs-attention'],
  ];
  for (const [row, facts, code, outcome] of cases) {
    it(`${row}: ${JSON.stringify(facts)} -> exit ${code}`, () => {
      assert.deepEqual(decide(f(facts)), { exitCode: code, outcome, row });
    });
  }
  it('every row of the table is reached by a case above', () => {
    assert.deepEqual(new Set(cases.map((c) => c[0])), new Set(OUTCOME_TABLE.map((r) => r.name)));
  });
  it('a failure before the stack changed is exit 1 for deploy and rollback alike (one table)', () => {
    assert.equal(decide(f({ stackTouched: false })).exitCode, 1);
  });
});
