import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rollbackTarget, selectOldReleases } from '../../../src/steps/releases.js';

const IDS = ['a_20260101000001', 'b_20260102000000', 'c_20260103000000', 'd_20260104000000', 'e_20260105000000'];

describe('release folder pruning selection', () => {
  const recs = (ids: string[]) => ids.map((deployId) => ({ deployId }));
  it('keeps the newest N and any protected release', () => {
    assert.deepEqual(selectOldReleases(recs(IDS), 3, new Set()).sort(), IDS.slice(0, 2));
    assert.deepEqual(selectOldReleases(recs(IDS), 3, new Set([IDS[0]!])), [IDS[1]]);
    assert.deepEqual(selectOldReleases(recs(['not-a-release', ...IDS]), 10, new Set()), []);
  });
  it('newest by the order the cluster recorded them, not by the laptops\' stamps in the ids', () => {
    // e was deployed first from a laptop a year ahead; a, b, c, d came after it from correct clocks
    const seqs = [{ deployId: 'e_20270105000000', seq: 10 }, ...IDS.slice(0, 4).map((deployId, i) => ({ deployId, seq: 20 + i }))];
    assert.deepEqual(selectOldReleases(seqs, 3, new Set()).sort(), ['a_20260101000001', 'e_20270105000000']);
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
