/**
 * A unified diff of two texts, line by line, as `diff -u` writes it: hunks with 3 lines of context, `-` for lines
 * only in the old text, `+` for lines only in the new one. Empty when the texts are equal.
 */
export function unifiedDiff(oldText: string, newText: string, oldName: string, newName: string, context = 3): string {
  if (oldText === newText) return '';
  const a = splitLines(oldText);
  const b = splitLines(newText);
  const ops = lineOps(a, b);
  // group the changes into hunks, each with `context` equal lines around it
  const hunks: Array<{ from: number; to: number }> = [];
  ops.forEach((op, i) => {
    if (op.kind === '=') return;
    const from = Math.max(0, i - context);
    const to = Math.min(ops.length, i + context + 1);
    const last = hunks.at(-1);
    if (last && from <= last.to) last.to = Math.max(last.to, to);
    else hunks.push({ from, to });
  });
  const out = [`--- ${oldName}`, `+++ ${newName}`];
  for (const h of hunks) {
    const slice = ops.slice(h.from, h.to);
    const oldStart = ops.slice(0, h.from).filter((o) => o.kind !== '+').length;
    const newStart = ops.slice(0, h.from).filter((o) => o.kind !== '-').length;
    const oldLen = slice.filter((o) => o.kind !== '+').length;
    const newLen = slice.filter((o) => o.kind !== '-').length;
    out.push(`@@ -${range(oldStart, oldLen)} +${range(newStart, newLen)} @@`);
    for (const o of slice) out.push(`${o.kind === '=' ? ' ' : o.kind}${o.line}`);
  }
  return `${out.join('\n')}\n`;
}

function range(start: number, len: number): string {
  // diff -u: a range of one line is just its number; an empty range names the line before it
  const first = len === 0 ? start : start + 1;
  return len === 1 ? `${first}` : `${first},${len}`;
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

interface Op {
  kind: '=' | '-' | '+';
  line: string;
}

/** The shortest edit by longest common subsequence (stack files are a few hundred lines). */
function lineOps(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      ops.push({ kind: '=', line: a[i]! });
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) ops.push({ kind: '-', line: a[i++]! });
    else ops.push({ kind: '+', line: b[j++]! });
  }
  while (i < n) ops.push({ kind: '-', line: a[i++]! });
  while (j < m) ops.push({ kind: '+', line: b[j++]! });
  return ops;
}
