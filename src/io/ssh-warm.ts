/**
 * The plan's first look at SSH, started before the configuration is even loaded: `ssh -G` for each listed manager,
 * from a quick read of cluster.env, runs while the rest of the code loads. Only a head start: what it asks with is
 * read again properly later, and a question asked differently is simply asked again then.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseManagerList } from '../config/managers.js';
import { sshResolver } from './ssh-config.js';

export function warmSshEarly(deployDir: string, env: NodeJS.ProcessEnv): Promise<unknown> {
  let text: string;
  try {
    text = fs.readFileSync(path.join(deployDir, 'cluster.env'), 'utf8');
  } catch {
    return Promise.resolve();
  }
  const v: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z_][A-Z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (m && !/^["'#]/.test(m[2]!)) v[m[1]!] = m[2]!;
  }
  if (!v.DEPLOY_MANAGER_HOST) return Promise.resolve();
  const port = /^\d+$/.test(v.DEPLOY_MANAGER_SSH_PORT ?? '') ? Number(v.DEPLOY_MANAGER_SSH_PORT) : undefined;
  const resolver = sshResolver(env, v.DEPLOY_SSH_CONFIG || undefined);
  return Promise.all(parseManagerList(v.DEPLOY_MANAGER_HOST).entries.map((e) => resolver.warm(e.host, { user: v.DEPLOY_MANAGER_USER || undefined, port: e.port ?? port })));
}
