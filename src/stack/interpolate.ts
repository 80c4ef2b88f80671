/**
 * Compose-style interpolation: ${VAR}, $VAR, ${VAR:-default}, ${VAR-default}, ${VAR:?message},
 * ${VAR?message}, ${VAR:+alt}, ${VAR+alt}, and $$ for a literal dollar.
 *
 * The result is handed to `docker stack deploy`, which interpolates again. So every literal dollar in the
 * output (from $$ or from a substituted value) is written back as $$: docker then turns it into one $.
 */
export interface InterpolationResult {
  output: string;
  problems: string[];
}

const TOKEN = /\$(\$|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g;
const BRACED = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([\s\S]*))?$/;

export function interpolate(text: string, vars: Readonly<Record<string, string>>, known: ReadonlySet<string>): InterpolationResult {
  const problems: string[] = [];
  const escape = (s: string) => s.replace(/\$/g, '$$$$');
  const output = text.replace(TOKEN, (whole, inner: string, braced: string | undefined, bare: string | undefined) => {
    if (inner === '$') return '$$';
    let name: string;
    let op: string | undefined;
    let arg = '';
    if (bare !== undefined) {
      name = bare;
    } else {
      const m = BRACED.exec(braced ?? '');
      if (!m) {
        problems.push(`${whole}: is not a valid substitution — write \${NAME}, \${NAME:-default} or $$ for a literal $`);
        return whole;
      }
      name = m[1]!;
      op = m[2];
      arg = m[3] ?? '';
    }
    if (!known.has(name)) {
      problems.push(`\${${name}}: is not a variable the stack file may use — use one of ${[...known].join(', ')}`);
      return whole;
    }
    const value = vars[name];
    const unset = value === undefined;
    const empty = unset || value === '';
    switch (op) {
      case ':-': return escape(empty ? arg : value!);
      case '-': return escape(unset ? arg : value!);
      case ':?':
      case '?':
        if (op === ':?' ? empty : unset) {
          problems.push(`\${${name}}: ${arg || 'is required but not set'}`);
          return whole;
        }
        return escape(value!);
      case ':+': return escape(empty ? '' : arg);
      case '+': return escape(unset ? '' : arg);
      default:
        if (unset) {
          problems.push(`\${${name}}: is not set — give it a default with \${${name}:-value}`);
          return whole;
        }
        return escape(value);
    }
  });
  return { output, problems };
}
