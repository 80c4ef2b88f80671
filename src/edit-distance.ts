/**
 * Edit distance (insertions, deletions, substitutions; two neighbours swapped count one): how "did you mean …?"
 * finds the command or the key a typo meant. No dependencies: the CLI's start loads it.
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The candidate a typo most likely meant: the closest within `max` edits (none when `word` is one of them). */
export function closest(word: string, candidates: readonly string[], max: (candidate: string) => number = () => 2): string | undefined {
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const dist = editDistance(word, c);
    if (dist > 0 && dist <= max(c) && (!best || dist < best.d)) best = { c, d: dist };
  }
  return best?.c;
}
