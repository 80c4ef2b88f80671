import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseOwnSecrets, selectForPruning, type OwnSecret } from '../../../src/steps/secrets.js';

const names = (key: string, ids: string[]) => ids.map((id) => `hd_${key}_${id}`);
const own = (list: string[], stack?: string): OwnSecret[] => list.map((name) => ({ name, stack }));
const IDS = ['a_20260101000001', 'b_20260102000000', 'c_20260103000000', 'd_20260104000000', 'e_20260105000000'];

describe('secret pruning selection', () => {
  it('keeps the newest N versions of every secret and removes the rest', () => {
    const all = [...names('secret_key', IDS), ...names('postgres_password', IDS)];
    const remove = selectForPruning(own(all, 'hd'), 'hd', 3, new Set());
    assert.deepEqual(remove.sort(), [...names('postgres_password', IDS.slice(0, 2)), ...names('secret_key', IDS.slice(0, 2))].sort());
  });
  it('never removes a version the previous known-good release uses', () => {
    const all = names('secret_key', IDS);
    const protect = new Set([`hd_secret_key_${IDS[0]}`]);
    assert.deepEqual(selectForPruning(own(all, 'hd'), 'hd', 2, protect).sort(), names('secret_key', IDS.slice(1, 3)));
  });
  it('leaves other stacks and foreign secrets alone', () => {
    const all = [...names('secret_key', IDS), 'other_secret_key_a_20260101000000', 'hd_secret_key_handmade', 'hdx_secret_key_a_20200101000000'];
    const remove = selectForPruning(own(all), 'hd', 2, new Set());
    assert.ok(remove.every((n) => n.startsWith('hd_secret_key_') && /_\d{14}$/.test(n)));
    assert.equal(remove.length, 3);
  });
  it('orders by the deploy timestamp, not by the tag', () => {
    const all = ['hd_secret_key_zzz_20260101000000', 'hd_secret_key_aaa_20260301000000'];
    assert.deepEqual(selectForPruning(own(all, 'hd'), 'hd', 1, new Set()), ['hd_secret_key_zzz_20260101000000']);
  });
  it('a secret of another stack whose name has this stack\'s shape is never chosen (the stack label decides)', () => {
    // stack "a" and stack "a_secret_key_x": the second's secrets look like versions of the first's
    const theirs = ['a_secret_key_x_secret_key_t_20200101000000', 'a_secret_key_x_secret_key_t_20200102000000', 'a_secret_key_x_secret_key_t_20200103000000'];
    const ours = ['a_secret_key_t_20260101000000'];
    assert.deepEqual(selectForPruning([...own(theirs, 'a_secret_key_x'), ...own(ours, 'a')], 'a', 1, new Set()), []);
    assert.deepEqual(parseOwnSecrets('n1\ta\nn2\t\n'), [{ name: 'n1', stack: 'a' }, { name: 'n2', stack: undefined }]);
  });
});
