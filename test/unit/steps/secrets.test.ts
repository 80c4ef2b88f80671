import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { selectForPruning } from '../../../src/steps/secrets.js';

const names = (key: string, ids: string[]) => ids.map((id) => `hd_${key}_${id}`);
const IDS = ['a_20260101000001', 'b_20260102000000', 'c_20260103000000', 'd_20260104000000', 'e_20260105000000'];

describe('secret pruning selection', () => {
  it('keeps the newest N versions of every secret and removes the rest', () => {
    const all = [...names('secret_key', IDS), ...names('postgres_password', IDS)];
    const remove = selectForPruning(all, 'hd', 3, new Set());
    assert.deepEqual(remove.sort(), [...names('postgres_password', IDS.slice(0, 2)), ...names('secret_key', IDS.slice(0, 2))].sort());
  });
  it('never removes a version the previous known-good release uses', () => {
    const all = names('secret_key', IDS);
    const protect = new Set([`hd_secret_key_${IDS[0]}`]);
    assert.deepEqual(selectForPruning(all, 'hd', 2, protect).sort(), names('secret_key', IDS.slice(1, 3)));
  });
  it('leaves other stacks and foreign secrets alone', () => {
    const all = [...names('secret_key', IDS), 'other_secret_key_a_20260101000000', 'hd_secret_key_handmade', 'hdx_secret_key_a_20200101000000'];
    const remove = selectForPruning(all, 'hd', 2, new Set());
    assert.ok(remove.every((n) => n.startsWith('hd_secret_key_') && /_\d{14}$/.test(n)));
    assert.equal(remove.length, 3);
  });
  it('orders by the deploy timestamp, not by the tag', () => {
    const all = ['hd_secret_key_zzz_20260101000000', 'hd_secret_key_aaa_20260301000000'];
    assert.deepEqual(selectForPruning(all, 'hd', 1, new Set()), ['hd_secret_key_zzz_20260101000000']);
  });
});
