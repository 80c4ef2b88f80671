/**
 * Which keys the run offers, in ssh's order: the configured key, the agent (only the IdentityFile keys with
 * IdentitiesOnly), then the IdentityFile keys. ssh2 itself is loaded on first use: a dry run never needs it.
 */
import fs from 'node:fs';
import type { AnyAuthMethod } from 'ssh2';
import type { SshEndpoint } from './ssh-target.js';

export type Ssh2 = typeof import('ssh2');
let ssh2Module: Ssh2 | undefined;
export async function loadSsh2(): Promise<Ssh2> {
  ssh2Module ??= ((await import('ssh2')) as unknown as { default: Ssh2 }).default;
  return ssh2Module;
}

export interface AuthPlan {
  methods: AnyAuthMethod[];
  encryptedKeys: string[];
  unreadable: string[];
}

/** The public key blob of an identity file (its .pub, else the private key's public part). */
function publicBlob(file: string, parseKey: Ssh2['utils']['parseKey']): Buffer | undefined {
  for (const f of [`${file}.pub`, file]) {
    let data: Buffer;
    try {
      data = fs.readFileSync(f);
    } catch {
      continue;
    }
    const k = parseKey(data);
    if (!(k instanceof Error)) return (Array.isArray(k) ? k[0] : k)?.getPublicSSH();
  }
  return undefined;
}

/**
 * Like ssh: the configured key, then the agent, then the IdentityFile keys (ssh's default keys when the config names
 * none). With IdentitiesOnly, the agent offers only the keys an IdentityFile names (its .pub is enough, as for a
 * key kept in 1Password's or Secretive's agent).
 */
export function planAuth(target: SshEndpoint, parseKey: Ssh2['utils']['parseKey'], ssh2?: Pick<Ssh2, 'OpenSSHAgent'>): AuthPlan {
  const plan: AuthPlan = { methods: [], encryptedKeys: [], unreadable: [] };
  const seen = new Set<string>();
  const tryKey = (file: string, mustExist: boolean) => {
    if (seen.has(file)) return;
    seen.add(file);
    let data: Buffer;
    try {
      data = fs.readFileSync(file);
    } catch {
      if (mustExist) plan.unreadable.push(file);
      return;
    }
    const parsed = parseKey(data);
    if (parsed instanceof Error) {
      if (/encrypted|passphrase/i.test(parsed.message)) plan.encryptedKeys.push(file);
      else if (mustExist) plan.unreadable.push(file);
      return;
    }
    // a public key (IdentityFile naming the .pub of a key an agent holds) cannot sign: the agent offers it
    if (!(Array.isArray(parsed) ? parsed[0] : parsed)?.isPrivateKey()) {
      if (mustExist) plan.unreadable.push(file);
      return;
    }
    plan.methods.push({ type: 'publickey', username: target.username, key: data });
  };
  if (target.explicitKey) tryKey(target.explicitKey, true);
  if (target.agentSocket) {
    if (target.identitiesOnly && ssh2) {
      const wanted = [target.explicitKey, ...target.identityFiles].filter((f): f is string => !!f).map((f) => publicBlob(f, parseKey)).filter((b): b is Buffer => !!b);
      if (wanted.length) plan.methods.push({ type: 'agent', username: target.username, agent: onlyKeys(ssh2, target.agentSocket, wanted) });
    } else plan.methods.push({ type: 'agent', username: target.username, agent: target.agentSocket });
  }
  for (const f of target.identityFiles) tryKey(f, false);
  return plan;
}

/** An agent that lists only the given public keys (IdentitiesOnly). */
function onlyKeys(ssh2: Pick<Ssh2, 'OpenSSHAgent'>, socket: string, blobs: Buffer[]): InstanceType<Ssh2['OpenSSHAgent']> {
  const Base = ssh2.OpenSSHAgent;
  class Filtered extends Base {
    override getIdentities(cb: Parameters<InstanceType<Ssh2['OpenSSHAgent']>['getIdentities']>[0]): void {
      super.getIdentities((err, keys) => {
        if (err || !keys) return cb(err, keys);
        cb(err, keys.filter((k) => blobs.some((b) => b.equals((k as { getPublicSSH(): Buffer }).getPublicSSH()))));
      });
    }
  }
  return new Filtered(socket);
}
