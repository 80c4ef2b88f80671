import { EXIT } from './errors.js';
import type { Reporter } from './ui/reporter.js';

export interface ActionResult {
  exitCode: number;
  /** the last line of the run: which outcome, which release serves */
  finalLine: string;
  /** for the local audit log (deploy runs only) */
  audit?: { outcome: string; deployId?: string; tag?: string; serving?: string };
}

/** `result: LABEL (exit N): TEXT` — the last line of every run. */
export function finalLine(exitCode: number, text: string, label?: string): string {
  const labels: Record<number, string> = {
    [EXIT.ok]: 'ok',
    [EXIT.rolledBack]: 'deploy failed',
    [EXIT.config]: 'stopped before changing anything',
    [EXIT.needsAttention]: 'NEEDS ATTENTION',
    [EXIT.interrupted]: 'interrupted',
  };
  return `result: ${label ?? labels[exitCode] ?? 'exit'} (exit ${exitCode}): ${text}`;
}

/** Exit 3: the exact commands a person must run to finish. */
export function printManual(reporter: Reporter, manual: string[]): void {
  if (!manual.length) return;
  reporter.error('Run these by hand to finish:');
  for (const m of manual) reporter.error(`  ${m}`);
}
