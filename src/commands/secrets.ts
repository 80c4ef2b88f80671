import { onManager, secretStdin, type Command } from './command.js';

export const SECRET_LABEL = 'com.honeydue.deploy.secret';
export const DEPLOY_ID_LABEL = 'com.honeydue.deploy.id';

/** The bytes go to stdin of `docker secret create NAME -`: byte-exact, never in argv or on the manager's disk. */
export function createSecret(name: string, key: string, deployId: string, label: string, data: Buffer): Command {
  return onManager(
    ['docker', 'secret', 'create', '--label', `${SECRET_LABEL}=${key}`, '--label', `${DEPLOY_ID_LABEL}=${deployId}`, name, '-'],
    { stdin: secretStdin(label, data) },
  );
}

export function listSecrets(): Command {
  return onManager(['docker', 'secret', 'ls', '--format', '{{.Name}}']);
}

export function removeSecrets(names: readonly string[]): Command {
  return onManager(['docker', 'secret', 'rm', ...names]);
}
