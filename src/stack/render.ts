import YAML, { isMap, isScalar, visit, type Scalar } from 'yaml';
import { interpolate } from './interpolate.js';

/** The variables a stack file may use. A user's own deploy/swarm-stack.yml may use exactly these. */
export const STACK_VARIABLES = [
  'API_IMAGE', 'WORKER_IMAGE', 'ADMIN_IMAGE', 'DEPLOY_TAG', 'DEPLOY_ID', 'STACK_NAME',
  'API_REPLICAS', 'WORKER_REPLICAS', 'ADMIN_REPLICAS', 'DOZZLE_PORT',
  'POSTGRES_PASSWORD_SECRET', 'SECRET_KEY_SECRET', 'EMAIL_HOST_PASSWORD_SECRET', 'FCM_SERVER_KEY_SECRET', 'APNS_AUTH_KEY_SECRET',
] as const;
export type StackVariable = (typeof STACK_VARIABLES)[number];
const KNOWN = new Set<string>(STACK_VARIABLES);

export interface RenderedStack {
  text: string;
  /** service name (as in the file) -> image reference */
  images: Record<string, string>;
  problems: string[];
}

/**
 * Interpolates scalar values (not keys, not comments), like docker does after parsing the YAML. A plain
 * (unquoted) scalar whose result reads as a number or boolean becomes one, so `replicas: ${API_REPLICAS}`
 * renders as an integer, as docker's own type casting would make it.
 */
export function renderStack(source: string, vars: Readonly<Record<StackVariable, string>>, file: string): RenderedStack {
  const problems: string[] = [];
  const doc = YAML.parseDocument(source);
  if (doc.errors.length) {
    return { text: '', images: {}, problems: doc.errors.map((e) => `${file}: ${e.message.split('\n')[0]} — fix the YAML syntax`) };
  }
  visit(doc, {
    Scalar(key, node: Scalar) {
      if (key === 'key' || typeof node.value !== 'string') return;
      const result = interpolate(node.value, vars, KNOWN);
      problems.push(...result.problems.map((p) => `${file}: ${p}`));
      if (result.output === node.value) return;
      if (node.type === 'PLAIN') {
        const reread: unknown = YAML.parse(result.output.replace(/\$\$/g, '$'));
        if (typeof reread === 'number' || typeof reread === 'boolean') {
          node.value = reread;
          return;
        }
      }
      node.value = result.output;
    },
  });
  const text = doc.toString({ lineWidth: 0 });
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
  const problems: string[] = [];
  const doc = YAML.parseDocument(text);
  visit(doc, {
    Pair(_key, pair) {
      if (isScalar(pair.key) && pair.key.value === 'host_ip') {
        problems.push(`${file}: host_ip: docker stack deploy rejects host_ip in ports — attach the service to the external host network and listen on 127.0.0.1 instead`);
      }
    },
  });
  return problems;
}
