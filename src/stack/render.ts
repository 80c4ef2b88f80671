import YAML, { LineCounter, isAlias, isMap, isPair, isScalar, isSeq, visit, type Scalar } from 'yaml';
import { interpolate } from './interpolate.js';
import { primeStackDoc } from './services.js';

/** The variables honeydue-deploy provides to a stack file. Any other name must have a default. */
export const STACK_VARIABLES = [
  'API_IMAGE', 'WORKER_IMAGE', 'ADMIN_IMAGE', 'DEPLOY_TAG', 'DEPLOY_ID', 'STACK_NAME',
  'API_REPLICAS', 'WORKER_REPLICAS', 'ADMIN_REPLICAS', 'DOZZLE_PORT', 'REDIS_IMAGE', 'DOZZLE_IMAGE',
  'POSTGRES_PASSWORD_SECRET', 'SECRET_KEY_SECRET', 'EMAIL_HOST_PASSWORD_SECRET', 'FCM_SERVER_KEY_SECRET', 'APNS_AUTH_KEY_SECRET',
] as const;
export type StackVariable = (typeof STACK_VARIABLES)[number];

export interface RenderedStack {
  text: string;
  /** service name (as in the file) -> image reference */
  images: Record<string, string>;
  problems: string[];
}

type Cast = (v: string) => number | boolean | undefined;
const toInt: Cast = (v) => (/^[+-]?\d+$/.test(v) ? Number(v) : undefined);
const toFloat: Cast = (v) => (v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined);
const toBoolean: Cast = (v) => {
  const l = v.toLowerCase();
  return ['y', 'yes', 'true', 'on'].includes(l) ? true : ['n', 'no', 'false', 'off'].includes(l) ? false : undefined;
};

/**
 * The places where docker casts an interpolated string to a number or a boolean (the docker CLI's
 * interpolateTypeCastMapping). `*` is any key, `[]` a list item. Everywhere else a value stays a string.
 */
const CASTS: ReadonlyArray<[string, Cast]> = [
  ['services.*.configs.[].mode', toInt], ['services.*.secrets.[].mode', toInt],
  ['services.*.healthcheck.retries', toInt], ['services.*.healthcheck.disable', toBoolean],
  ['services.*.deploy.replicas', toInt],
  ['services.*.deploy.update_config.parallelism', toInt], ['services.*.deploy.update_config.max_failure_ratio', toFloat],
  ['services.*.deploy.rollback_config.parallelism', toInt], ['services.*.deploy.rollback_config.max_failure_ratio', toFloat],
  ['services.*.deploy.restart_policy.max_attempts', toInt], ['services.*.deploy.placement.max_replicas_per_node', toInt],
  ['services.*.ports.[].target', toInt], ['services.*.ports.[].published', toInt],
  ['services.*.ulimits.*', toInt], ['services.*.ulimits.*.hard', toInt], ['services.*.ulimits.*.soft', toInt],
  ['services.*.privileged', toBoolean], ['services.*.read_only', toBoolean], ['services.*.stdin_open', toBoolean], ['services.*.tty', toBoolean],
  ['services.*.volumes.[].read_only', toBoolean], ['services.*.volumes.[].volume.nocopy', toBoolean],
  ['networks.*.external', toBoolean], ['networks.*.internal', toBoolean], ['networks.*.attachable', toBoolean],
  ['volumes.*.external', toBoolean], ['secrets.*.external', toBoolean], ['configs.*.external', toBoolean],
];

function castFor(path: readonly string[]): Cast | undefined {
  for (const [pattern, cast] of CASTS) {
    const parts = pattern.split('.');
    if (parts.length !== path.length) continue;
    if (parts.every((p, i) => (p === '*' ? path[i] !== '[]' : p === path[i]))) return cast;
  }
  return undefined;
}

/**
 * Walks every value scalar with its path (keys; `[]` for list items). Aliases are not followed: the
 * anchored node is visited where it is defined, which renders every place that refers to it.
 */
function walk(node: unknown, path: string[], fn: (s: Scalar, path: string[]) => void): void {
  if (isAlias(node)) return;
  if (isScalar(node)) return fn(node, path);
  if (isMap(node)) {
    for (const item of node.items) {
      if (!isPair(item)) continue;
      const key = isScalar(item.key) ? String(item.key.value) : String(item.key);
      walk(item.value, [...path, key], fn);
    }
  } else if (isSeq(node)) {
    for (const item of node.items) walk(item, [...path, '[]'], fn);
  }
}

/**
 * docker reads the YAML first (aliases become copies), then interpolates and casts by where a value stands: an
 * alias to an interpolated scalar standing where docker casts (`replicas: *r`) is cast there. The same here: such
 * an alias is replaced by a copy of its scalar before rendering, so the copy is cast where it stands.
 */
function copyCastAliases(doc: YAML.Document.Parsed, node: unknown, path: string[]): void {
  const copy = (value: unknown, at: string[]): unknown => {
    if (!isAlias(value) || !castFor(at)) return value;
    const target = value.resolve(doc);
    if (!isScalar(target) || typeof target.value !== 'string' || !target.value.includes('$')) return value;
    const scalar = new YAML.Scalar(target.value);
    scalar.range = value.range ?? target.range;
    return scalar;
  };
  if (isMap(node)) {
    for (const item of node.items) {
      if (!isPair(item)) continue;
      const key = isScalar(item.key) ? String(item.key.value) : String(item.key);
      item.value = copy(item.value, [...path, key]) as typeof item.value;
      copyCastAliases(doc, item.value, [...path, key]);
    }
  } else if (isSeq(node)) {
    node.items = node.items.map((item) => copy(item, [...path, '[]']) as (typeof node.items)[number]);
    for (const item of node.items) copyCastAliases(doc, item, [...path, '[]']);
  }
}

/** A stack file parsed once: rendered for a release, linted, and its syntax errors (problems) named. */
export interface ParsedStack {
  file: string;
  doc: YAML.Document.Parsed;
  lineCounter: LineCounter;
  problems: string[];
  /** set by renderParsed, which renders the document in place */
  rendered?: boolean;
}

/**
 * Parses the stack file (no values needed, so it can happen while git and docker are asked for the rest) and
 * lints what docker stack deploy would reject. Keys are never interpolated, so the template lints as rendered.
 */
export function parseStack(source: string, file: string): ParsedStack {
  const lineCounter = new LineCounter();
  const doc = YAML.parseDocument(source, { lineCounter, merge: true });
  if (doc.errors.length) {
    return { file, doc, lineCounter, problems: doc.errors.map((e) => `${file}: ${e.message.split('\n')[0]} — fix the YAML syntax`) };
  }
  return { file, doc, lineCounter, problems: lintDoc(doc, file) };
}

/**
 * Renders the stack file with docker's interpolation semantics, on scalar values only (not keys, not
 * comments), as docker does after parsing the YAML. An interpolated value keeps the type docker gives it:
 * a string (written quoted, so no YAML reader re-types `0803128`, `1e5`, `on` or `null`), or, where docker
 * casts (replicas, ports, …), the number or boolean docker would make of it.
 */
export function renderStack(source: string, vars: Readonly<Record<StackVariable, string>>, file: string): RenderedStack {
  return renderParsed(parseStack(source, file), vars);
}

/** Renders a parsed stack file in place: call it once per parse. Lint problems are the caller's (parseStack). */
export function renderParsed(parsed: ParsedStack, vars: Readonly<Record<StackVariable, string>>): RenderedStack {
  const { doc, lineCounter, file } = parsed;
  if (parsed.rendered) throw new Error(`${file}: a parsed stack file is rendered once; parse it again for another release`);
  parsed.rendered = true;
  if (doc.errors.length) return { text: '', images: {}, problems: parsed.problems };
  const problems: string[] = [];
  const provided = new Map<string, string>(Object.entries(vars));
  copyCastAliases(doc, doc.contents, []);
  walk(doc.contents, [], (node, path) => {
    if (typeof node.value !== 'string' || !node.value.includes('$')) return;
    const result = interpolate(node.value, (name) => provided.get(name));
    const line = node.range ? lineCounter.linePos(node.range[0]).line : 0;
    const where = `${file}:${line}: ${path.join('.').replace(/\.\[\]/g, '[]')}`;
    problems.push(...result.problems.map((p) => `${where}: ${p}`));
    const cast = castFor(path);
    if (cast) {
      const typed = cast(result.value);
      if (typed === undefined) {
        problems.push(`${where}: "${result.value}" is not a valid ${cast === toBoolean ? 'boolean' : 'number'} here — docker stack deploy would reject it`);
        return;
      }
      node.value = typed;
      node.type = 'PLAIN';
      return;
    }
    node.value = result.output;
    if (node.type === 'PLAIN' || node.type === 'QUOTE_SINGLE') node.type = 'QUOTE_DOUBLE';
  });
  const text = doc.toString({ lineWidth: 0 });
  // the checks read the rendered file as plain data: from this document, not from a second parse of its text
  if (!problems.length) primeStackDoc(text, doc.toJS({ maxAliasCount: -1 }));
  const images: Record<string, string> = {};
  const services = doc.get('services');
  if (!isMap(services) || services.items.length === 0) {
    problems.push(`${file}: services: the stack file defines no services — add the api, worker and admin services`);
  } else {
    for (const item of services.items) {
      const name = isScalar(item.key) ? String(item.key.value) : String(item.key);
      const image = isMap(item.value) ? item.value.get('image') : undefined;
      if (typeof image !== 'string' || image === '') {
        problems.push(`${file}: services.${name}.image: is not set — every service needs an image`);
      } else {
        images[name] = image.replace(/\$\$/g, '$');
      }
    }
  }
  return { text, images, problems };
}

/** Docker rejects host_ip in ports (SWARM-FACTS); say so before docker does, with what to do instead. */
export function lintStack(text: string, file: string): string[] {
  return lintDoc(YAML.parseDocument(text), file);
}

function lintDoc(doc: YAML.Document, file: string): string[] {
  const problems: string[] = [];
  visit(doc, {
    Pair(_key, pair) {
      if (isScalar(pair.key) && pair.key.value === 'host_ip') {
        problems.push(`${file}: host_ip: docker stack deploy rejects host_ip in ports — attach the service to the external host network and listen on 127.0.0.1 instead`);
      }
    },
  });
  return problems;
}
