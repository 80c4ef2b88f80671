/**
 * Reading the rendered stack file (parsed YAML) and its services: the few compose shapes the checks, the job and
 * `diff` need, each read one way.
 */
import YAML from 'yaml';

export type YamlMap = Record<string, unknown>;

/** The rendered stack file parsed once (read by several checks and the job; none changes it): the last one is kept. */
let lastStack: { text: string; doc: unknown } | undefined;
export function stackDoc(stackFile: string): unknown {
  if (lastStack?.text !== stackFile) lastStack = { text: stackFile, doc: YAML.parse(stackFile, { merge: true }) };
  return lastStack.doc;
}

/** The rendered file's data, from the document it was rendered from (the same as parsing its text). */
export function primeStackDoc(stackFile: string, doc: unknown): void {
  lastStack = { text: stackFile, doc };
}

/** A YAML mapping, or an empty one for anything else (absent, a list, a scalar). */
export function yamlMap(v: unknown): YamlMap {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as YamlMap) : {};
}

/**
 * A service's `environment:`, in either compose form (`KEY: value` or `- KEY=value`). A key without a value is
 * undefined (compose takes it from the shell running docker, which the tool does not).
 */
export function serviceEnvironment(svc: YamlMap): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  if (Array.isArray(svc.environment)) {
    for (const e of svc.environment.map(String)) {
      const i = e.indexOf('=');
      if (i > 0) env[e.slice(0, i)] = e.slice(i + 1);
    }
  } else {
    for (const [k, v] of Object.entries(yamlMap(svc.environment))) env[k] = v === null || v === undefined ? undefined : String(v);
  }
  return env;
}

/** A service's `env_file:` entries (one or a list). */
export function envFilesOf(svc: YamlMap): string[] {
  return Array.isArray(svc.env_file) ? svc.env_file.map(String) : typeof svc.env_file === 'string' ? [svc.env_file] : [];
}
