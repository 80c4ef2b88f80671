import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { outcomes, rows, watchedDuring } from '../../../src/subcommands/records.js';
import { releasesTable } from '../../../src/subcommands/releases.js';

const rec = (id: string, tag: string) => ({ deployId: id, tag, images: {}, serviceImages: {}, secretNames: {}, deployedBy: 'me@laptop', deployedAt: '2026-11-28T08:00:00.000Z' });

describe('release records', () => {
  it('the audit trail gives each deploy its last outcome; newest first; the current one marked', () => {
    const trail = [
      { event: 'deploy' as const, deployId: 'b_20261128090000', outcome: 'rolled-back', watch: [{ phase: 'update' as const, failed: 7, total: 120, longestGapSeconds: 1.8, rate: 4 }, { phase: 'rollback' as const, failed: 0, total: 40, longestGapSeconds: 0, rate: 4 }] },
      { event: 'unlock' as const, outcome: 'unlocked' },
    ];
    const audit = outcomes(trail);
    const r = rows([rec('a_20261128080000', 'a'), rec('b_20261128090000', 'b')], 'a_20261128080000', ['a_20261128080000'], audit, watchedDuring(trail));
    assert.deepEqual(r.map((x) => [x.deployId, x.outcome, x.current, x.knownGood]), [['b_20261128090000', 'rolled-back', false, false], ['a_20261128080000', 'healthy', true, true]]);
    assert.deepEqual(releasesTable(r), [
      '   DEPLOY ID         TAG  WHO        WHEN                     OUTCOME            DURING THE UPDATE',
      '   b_20261128090000  b    me@laptop  2026-11-28 08:00:00 UTC  rolled-back        7/120 failed, gap 1.8 s; rollback 0/40 failed, gap 0.0 s',
      '*  a_20261128080000  a    me@laptop  2026-11-28 08:00:00 UTC  healthy (current)  -',
    ]);
  });
});
