/**
 * Interpolation with the semantics of `docker stack deploy` (the docker CLI's compose template package):
 * `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`, `${VAR?message}` and `$$` for a
 * literal dollar. The same pattern and the same order of substitution rules as docker, quirks included
 * (`:+` is not a docker form and is invalid, as it is for docker). One difference, on purpose: a variable
 * that is unset and has no default is an error here, where docker would silently use an empty string.
 *
 * The result is handed to `docker stack deploy`, which interpolates again. So every literal dollar in the
 * output (from $$ or from a substituted value) is written back as $$: docker then turns it into one $.
 */
export interface InterpolationResult {
  /** the value docker would see after its own interpolation (dollars not re-escaped) */
  value: string;
  /** the value to write into the rendered file (every $ written as $$) */
  output: string;
  problems: string[];
}

/** What the tool provides; a name it does not have is unset, as in a clean environment. */
export type Lookup = (name: string) => string | undefined;

// docker: \$(?i:(?P<escaped>\$)|(?P<named>SUBST)|{(?P<braced>SUBST)}|(?P<invalid>)), SUBST = [_a-z][_a-z0-9]*(?::?[-?][^}]*)?
const SUBST = '[_a-z][_a-z0-9]*(?::?[-?][^}]*)?';
const PATTERN = new RegExp(`\\$(?:(\\$)|(${SUBST})|\\{(${SUBST})\\}|())`, 'gi');

function partition(s: string, sep: string): [string, string] {
  const at = s.indexOf(sep);
  return at === -1 ? [s, ''] : [s.slice(0, at), s.slice(at + sep.length)];
}

type Applied = { value: string } | { error: string } | undefined;

/** docker's substitution rules, tried in docker's order: soft default, hard default, required non-empty, required. */
const RULES: ReadonlyArray<(substitution: string, lookup: Lookup) => Applied> = [
  (s, lookup) => {
    if (!s.includes(':-')) return undefined;
    const [name, fallback] = partition(s, ':-');
    const v = lookup(name);
    return { value: v === undefined || v === '' ? fallback : v };
  },
  (s, lookup) => {
    if (!s.includes('-')) return undefined;
    const [name, fallback] = partition(s, '-');
    return { value: lookup(name) ?? fallback };
  },
  (s, lookup) => required(s, lookup, ':?', (v) => v !== ''),
  (s, lookup) => required(s, lookup, '?', () => true),
];

function required(s: string, lookup: Lookup, sep: string, valid: (v: string) => boolean): Applied {
  if (!s.includes(sep)) return undefined;
  const [name, message] = partition(s, sep);
  const v = lookup(name);
  if (v === undefined || !valid(v)) return { error: `required variable ${name} is missing a value: ${message}` };
  return { value: v };
}

export function interpolate(text: string, lookup: Lookup): InterpolationResult {
  const problems: string[] = [];
  const value = text.replace(PATTERN, (whole, escaped?: string, named?: string, braced?: string) => {
    if (escaped) return escaped;
    const substitution = named || braced;
    if (!substitution) {
      problems.push(`"${text}": is not a valid substitution (invalid template) — write \${NAME}, \${NAME:-default} or $$ for a literal $`);
      return '';
    }
    for (const rule of RULES) {
      const applied = rule(substitution, lookup);
      if (applied === undefined) continue;
      if ('error' in applied) {
        problems.push(`${whole}: ${applied.error}`);
        return '';
      }
      return applied.value;
    }
    const v = lookup(substitution);
    if (v === undefined) {
      problems.push(`${whole}: ${substitution} is neither a variable honeydue-deploy provides nor given a default — give it one (\${${substitution}:-value}) or remove it`);
      return '';
    }
    return v;
  });
  return { value, output: value.replace(/\$/g, '$$$$'), problems };
}
