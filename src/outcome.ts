/**
 * What a run that changes the cluster (deploy, rollback) ends with: its exit code and outcome, decided from a few
 * facts by one table. The callers only gather the facts; each row can be checked on its own (test/unit/outcome).
 */
import { EXIT } from './errors.js';

export type Outcome = 'healthy' | 'rolled-back' | 'failed-needs-attention' | 'interrupted' | 'config-error' | 'preflight-failed' | 'failed-before-change';

export interface Facts {
  /** the release the run aimed at (the new one, or the rollback's target) is serving and healthy */
  targetHealthy: boolean;
  /** a listed manager with quorum is connected at the end */
  reachable: boolean;
  /** SIGINT/SIGTERM stopped the run */
  interrupted: boolean;
  /** stopped by bad input or a failed preflight check */
  refused: boolean;
  /** the stack was changed (docker stack deploy started) */
  stackTouched: boolean;
  /** after a failure with the stack changed: what served before serves again */
  restored: boolean;
  /** something is left for a person to do (secrets to remove, a lock, a private docker config) */
  leftForPerson: boolean;
}

export interface Decision {
  exitCode: number;
  outcome: Outcome;
  /** which row decided, for tests and debugging */
  row: string;
}

interface Row {
  name: string;
  when: (f: Facts) => boolean;
  then: Omit<Decision, 'row'>;
}

/** First match wins. Read top to bottom. */
export const OUTCOME_TABLE: readonly Row[] = [
  { name: 'interrupted, target healthy', when: (f) => f.interrupted && f.targetHealthy, then: { exitCode: EXIT.interrupted, outcome: 'healthy' } },
  { name: 'interrupted', when: (f) => f.interrupted, then: { exitCode: EXIT.interrupted, outcome: 'interrupted' } },
  { name: 'left for a person', when: (f) => f.leftForPerson, then: { exitCode: EXIT.needsAttention, outcome: 'failed-needs-attention' } },
  { name: 'target healthy', when: (f) => f.targetHealthy, then: { exitCode: EXIT.ok, outcome: 'healthy' } },
  { name: 'no manager reachable', when: (f) => !f.reachable, then: { exitCode: EXIT.needsAttention, outcome: 'failed-needs-attention' } },
  { name: 'refused before any change', when: (f) => !f.stackTouched && f.refused, then: { exitCode: EXIT.config, outcome: 'preflight-failed' } },
  { name: 'failed before any change', when: (f) => !f.stackTouched, then: { exitCode: EXIT.rolledBack, outcome: 'failed-before-change' } },
  { name: 'failed, previous restored', when: (f) => f.restored, then: { exitCode: EXIT.rolledBack, outcome: 'rolled-back' } },
  { name: 'failed, not restored', when: () => true, then: { exitCode: EXIT.needsAttention, outcome: 'failed-needs-attention' } },
];

export function decide(f: Facts): Decision {
  const row = OUTCOME_TABLE.find((r) => r.when(f))!;
  return { ...row.then, row: row.name };
}

export const NO_FACTS: Facts = { targetHealthy: false, reachable: true, interrupted: false, refused: false, stackTouched: false, restored: false, leftForPerson: false };
