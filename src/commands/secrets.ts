import { onManager, secretStdin, type Command } from './command.js';

export const SECRET_LABEL = 'com.honeydue.deploy.secret';
export const DEPLOY_ID_LABEL = 'com.honeydue.deploy.id';
export const STACK_LABEL = 'com.honeydue.deploy.stack';

/** The bytes go to stdin of `docker secret create NAME -`: byte-exact, never in argv or on the manager's disk. */
export function createSecret(name: string, key: string, stack: string, deployId: string, label: string, data: Buffer): Command {
  return onManager(
    ['docker', 'secret', 'create', '--label', `${SECRET_LABEL}=${key}`, '--label', `${STACK_LABEL}=${stack}`, '--label', `${DEPLOY_ID_LABEL}=${deployId}`, name, '-'],
    { stdin: secretStdin(label, data) },
  );
}

/** The tool's own secrets only (by its label): name, tab, the stack label (empty on secrets made before it existed). */
export function listSecrets(): Command {
  return onManager(['docker', 'secret', 'ls', '--filter', `label=${SECRET_LABEL}`, '--format', `{{.Name}}\t{{.Label "${STACK_LABEL}"}}`]);
}

export function removeSecrets(names: readonly string[]): Command {
  return onManager(['docker', 'secret', 'rm', ...names]);
}
