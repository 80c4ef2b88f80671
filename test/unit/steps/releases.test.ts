import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rollbackTarget, selectOldReleases } from '../../../src/steps/releases.js';

const IDS = ['a_20260101000001', 'b_20260102000000', 'c_20260103000000', 'd_20260104000000', 'e_20260105000000'];

describe('release folder pruning selection', () => {
  it('keeps the newest N and any protected release', () => {
    assert.deepEqual(selectOldReleases(IDS, 3, new Set()).sort(), IDS.slice(0, 2));
    assert.deepEqual(selectOldReleases(IDS, 3, new Set([IDS[0]!])), [IDS[1]]);
    assert.deepEqual(selectOldReleases(['not-a-release', ...IDS], 10, new Set()), []);
  });
});

describe('the rollback target', () => {
  const all = new Set(IDS);
  it('is the known-good release before the current one', () => {
    assert.equal(rollbackTarget(IDS, 'e_20260105000000', all), 'd_20260104000000');
  });
  it('walks further back after a rollback (current is no longer the newest entry)', () => {
    assert.equal(rollbackTarget(IDS, 'd_20260104000000', all), 'c_20260103000000');
  });
  it('skips releases whose folder was pruned, and repeats of the current one', () => {
    assert.equal(rollbackTarget([...IDS, 'e_20260105000000'], 'e_20260105000000', new Set(['a_20260101000001', 'e_20260105000000'])), 'a_20260101000001');
  });
  it('has none on a first deploy or when nothing older is left', () => {
    assert.equal(rollbackTarget(['a_20260101000001'], 'a_20260101000001', all), undefined);
    assert.equal(rollbackTarget([], 'x', all), undefined);
  });
});
