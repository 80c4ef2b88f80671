import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { outcomes, rows } from '../../../src/subcommands/records.js';
import { releasesTable } from '../../../src/subcommands/releases.js';

const rec = (id: string, tag: string) => ({ deployId: id, tag, images: {}, serviceImages: {}, secretNames: {}, deployedBy: 'me@laptop', deployedAt: '2026-11-28T08:00:00.000Z' });

describe('release records', () => {
  it('the audit trail gives each deploy its last outcome; newest first; the current one marked', () => {
    const audit = outcomes([{ event: 'deploy', deployId: 'b_20261128090000', outcome: 'rolled-back' }, { event: 'unlock', outcome: 'unlocked' }]);
    const r = rows([rec('a_20261128080000', 'a'), rec('b_20261128090000', 'b')], 'a_20261128080000', ['a_20261128080000'], audit);
    assert.deepEqual(r.map((x) => [x.deployId, x.outcome, x.current, x.knownGood]), [['b_20261128090000', 'rolled-back', false, false], ['a_20261128080000', 'healthy', true, true]]);
    assert.deepEqual(releasesTable(r), [
      '   DEPLOY ID         TAG  WHO        WHEN                     OUTCOME',
      '   b_20261128090000  b    me@laptop  2026-11-28 08:00:00 UTC  rolled-back',
      '*  a_20261128080000  a    me@laptop  2026-11-28 08:00:00 UTC  healthy (current)',
    ]);
  });
});
