/**
 * Opening the run's connection: one TCP connection per hop (each jump host, then the manager through the last of
 * them), each host key checked against known_hosts as ssh checks it, each key offered as ssh offers it. The
 * handshake of each hop and every forward between hops are bounded by DEPLOY_SSH_TIMEOUT.
 */
import type { Duplex } from 'node:stream';
import type { AuthenticationType, Client as ClientType, ConnectConfig } from 'ssh2';
import { PreflightError } from '../errors.js';
import { fingerprint, keyType, knownKeyAlgorithms, verifyHostKeyIn, type FileVerdict } from './known-hosts.js';
import { loadSsh2, planAuth } from './ssh-auth.js';
import { NoAnswer, withDeadline } from './ssh-channels.js';
import { hostKeyName, keyscanLine, knownHostsTexts, shownFiles, type SshEndpoint, type SshTarget } from './ssh-target.js';

function describeVerdict(v: FileVerdict, t: SshEndpoint, blob: Buffer, role: string): string {
  const name = hostKeyName(t);
  const fp = `${keyType(blob)} ${fingerprint(blob)}`;
  if (v.kind === 'unknown') {
    return (
      `${name}: the ${role}'s host key is not in ${shownFiles(t)} (${fp}) — refusing to connect. ` +
      `Compare it with \`ssh-keygen -lf /etc/ssh/ssh_host_${keyType(blob).replace(/^ssh-|-.*$/g, '')}_key.pub\` run on the ${role}, then trust it with \`${keyscanLine(t)}\` (or set DEPLOY_KNOWN_HOSTS)`
    );
  }
  if (v.kind === 'revoked' || v.kind === 'trusted') return `${name}: the ${role}'s host key (${fp}) is marked @revoked in ${'file' in v ? `${v.file}:${v.line}` : t.knownHostsPath} — refusing to connect`;
  return (
    `${name}: WARNING: the ${role}'s host key has CHANGED (now ${fp}; ${v.file}:${v.line} holds another) — refusing to connect: someone may be intercepting the connection. ` +
    `If the ${role} was reinstalled, verify the new key on it, remove the old one with \`ssh-keygen -R '${name}' -f ${v.file}\` and trust the new one`
  );
}

/**
 * A tunnel to host:port through an open connection (`ssh -J` / `direct-tcpip`), bounded by the SSH timeout: a jump
 * host that ignores the request, or waits for a firewalled manager's SYN, costs DEPLOY_SSH_TIMEOUT, not minutes.
 */
async function forwardOut(via: ClientType, to: SshEndpoint, from: SshEndpoint, deadlineMs: number): Promise<Duplex> {
  const hop = `${from.username}@${from.host}:${from.port}`;
  try {
    return await withDeadline<Duplex>(
      deadlineMs,
      `the jump host ${hop} was asked to reach ${to.host}:${to.port}`,
      (cb) => via.forwardOut('127.0.0.1', 0, to.host, to.port, (err, stream) => cb(err, stream as unknown as Duplex)),
      (late) => late.destroy(),
    );
  } catch (err) {
    if (err instanceof NoAnswer) throw new PreflightError(`cannot reach the manager at ${to.host}:${to.port} through the jump host ${hop}: ${err.message} — check the address and that the manager is reachable from the jump host`);
    throw new PreflightError(`the jump host ${hop} cannot reach ${to.host}:${to.port}: ${(err as Error).message} — check the address, and that the jump host allows TCP forwarding (AllowTcpForwarding)`);
  }
}

/** One TCP connection per hop: each jump host, then the manager through the last of them. */
export async function openChain(target: SshTarget, readyTimeout: number): Promise<ClientType[]> {
  const clients: ClientType[] = [];
  const endpoints: SshEndpoint[] = [...target.jumps, target];
  try {
    for (let i = 0; i < endpoints.length; i++) {
      const sock = i === 0 ? undefined : await forwardOut(clients[i - 1]!, endpoints[i]!, endpoints[i - 1]!, readyTimeout);
      clients.push(await openOne(endpoints[i]!, readyTimeout, i === endpoints.length - 1 ? 'manager' : 'jump host', sock));
    }
    return clients;
  } catch (err) {
    for (const c of clients.reverse()) c.end();
    throw err;
  }
}

async function openOne(target: SshEndpoint, readyTimeout: number, role: string, sock?: Duplex): Promise<ClientType> {
  const { Client, utils } = await loadSsh2();
  const ssh2 = await loadSsh2();
  const auth = planAuth(target, utils.parseKey, ssh2);
  if (auth.unreadable.length) {
    throw new PreflightError(`cluster.env: DEPLOY_SSH_KEY: ${auth.unreadable[0]} cannot be read as a private key — check the path and that it is an OpenSSH/PEM private key`);
  }
  if (auth.methods.length === 0) {
    const why = auth.encryptedKeys.length
      ? `${auth.encryptedKeys.join(', ')} ${auth.encryptedKeys.length === 1 ? 'is' : 'are'} passphrase-protected and no ssh-agent is running (SSH_AUTH_SOCK is unset) — start one and run \`ssh-add ${auth.encryptedKeys[0]}\`, then try again`
      : `no private key found (DEPLOY_SSH_KEY unset, no ssh-agent, no ~/.ssh/id_* key) — set DEPLOY_SSH_KEY in cluster.env`;
    throw new PreflightError(`${target.username}@${target.host}:${target.port}: cannot log in: ${why}`);
  }
  const knownHosts = knownHostsTexts(target);
  const algorithms = knownKeyAlgorithms(knownHosts.map((k) => k.text).join('\n'), hostKeyName(target));
  let refused: string | undefined;
  return new Promise<ClientType>((resolve, reject) => {
    const client = new Client();
    const queue = [...auth.methods];
    const config: ConnectConfig = {
      host: target.host,
      port: target.port,
      ...(sock ? { sock: sock as unknown as ConnectConfig['sock'] } : {}),
      username: target.username,
      readyTimeout,
      // ServerAliveInterval/CountMax from the ssh config; else every 5 s, 3 missed answers end the connection
      keepaliveInterval: (target.serverAlive?.intervalSeconds ?? 5) * 1000,
      keepaliveCountMax: target.serverAlive?.countMax ?? 3,
      // offer only the key types known_hosts holds for this host: a server that switched types is then CHANGED, not unknown
      ...(algorithms ? { algorithms: { serverHostKey: algorithms as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] } } : {}),
      hostVerifier: (blob: Buffer) => {
        const verdict = verifyHostKeyIn(knownHosts, hostKeyName(target), blob);
        if (verdict.kind === 'trusted') return true;
        refused = describeVerdict(verdict, target, blob, role);
        return false;
      },
      // ssh2 takes `false` for "no more methods" although its types do not say so
      authHandler: (_left, _partial, next) => next((queue.shift() ?? false) as unknown as AuthenticationType),
    };
    const onError = (err: Error & { level?: string }) => {
      client.removeListener('ready', onReady);
      client.removeListener('close', onClose);
      if (refused) return reject(new PreflightError(refused));
      if (err.level === 'client-authentication') {
        const extra = auth.encryptedKeys.length ? ` (${auth.encryptedKeys.join(', ')} skipped: passphrase-protected and not in the agent — run \`ssh-add\`)` : '';
        const who = role === 'manager' ? 'DEPLOY_MANAGER_USER' : 'the jump host\'s user (DEPLOY_SSH_JUMP user@host, or User in ~/.ssh/config)';
        return reject(new PreflightError(`${target.username}@${target.host}:${target.port}: the ${role} refused every key offered${extra} — check ${who} and that the key is in the user's authorized_keys`));
      }
      const check = role === 'manager' ? 'DEPLOY_MANAGER_HOST, DEPLOY_MANAGER_SSH_PORT' : 'DEPLOY_SSH_JUMP (or ProxyJump)';
      reject(new PreflightError(`cannot reach the ${role} at ${target.host}:${target.port}: ${err.message} — check ${check} and that sshd runs`));
    };
    const onReady = () => {
      client.removeListener('error', onError);
      client.removeListener('close', onClose);
      resolve(client);
    };
    // the server closed before the handshake finished (it sent a banner and hung up): never wait forever
    const onClose = () => {
      client.removeListener('ready', onReady);
      client.removeListener('error', onError);
      reject(new PreflightError(`cannot reach the ${role} at ${target.host}:${target.port}: the connection was closed before the SSH handshake finished — check that an SSH server runs there (${role === 'manager' ? 'DEPLOY_MANAGER_HOST, DEPLOY_MANAGER_SSH_PORT' : 'DEPLOY_SSH_JUMP (or ProxyJump)'})`));
    };
    client.once('ready', onReady);
    client.once('error', onError);
    client.once('close', onClose);
    // a later error (after a timeout, during teardown) must never be an unhandled 'error' event
    client.on('error', () => undefined);
    client.connect(config);
  });
}
