/**
 * `npm run demo`: a real deploy of the fixture app into the loopback sandbox, to watch the whole pipeline
 * work without a cluster of your own. Run it again to see a second release replace the first (and the
 * previous release's secrets kept by the pruning rule). Remove it with `docker stack rm honeydue-demo`.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { healthUrl, readSandboxState, sandboxTarget, writeFixtureApp, writeFixtureDeployDir } from '../test/fixtures/sandbox-deploy.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const state = readSandboxState();
const target = sandboxTarget(state);
const dir = path.join(state.HD_SANDBOX_DIR!, 'demo');
const port = Number(process.env.HD_DEMO_PORT ?? 18080);
const stack = 'honeydue-demo';
const deployDir = path.join(dir, 'deploy');
const context = path.join(dir, 'app');

if (!fs.existsSync(deployDir)) {
  writeFixtureApp(context);
  writeFixtureDeployDir(deployDir, target, {
    stack,
    apiPort: port,
    remoteDir: 'honeydue-deploy/honeydue-demo',
    secrets: {
      'postgres_password.txt': Buffer.from('demo-postgres-password\n'),
      'secret_key.txt': Buffer.from('demo-secret-key-0123456789\n'),
      'email_host_password.txt': Buffer.from('demo-smtp-password\n'),
      'fcm_server_key.txt': Buffer.from('demo-fcm-key\n'),
      'apns_auth_key.p8': Buffer.from('-----BEGIN PRIVATE KEY-----\ndemo-apns-key\n-----END PRIVATE KEY-----\n'),
    },
  });
}
for (const d of ['docker-laptop', 'home']) fs.mkdirSync(path.join(dir, d), { recursive: true, mode: 0o700 });

const tag = `demo-${new Date().toISOString().replace(/[-:T]/g, '').slice(4, 12)}`;
const env = { ...process.env, DOCKER_CONFIG: path.join(dir, 'docker-laptop'), HOME: path.join(dir, 'home') };
const cli = (args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), ...args, '--deploy-dir', deployDir], { stdio: 'inherit', env });

console.log(`demo: deploying the fixture app as ${stack}, tag ${tag} (config in ${deployDir})\n`);
const deploy = cli(['--context', context, '--tag', tag]);
console.log('');
cli(['status']);
const res = spawnSync('curl', ['-s', healthUrl(port)], { encoding: 'utf8' });
console.log(`\nhealth: ${healthUrl(port)} -> ${res.stdout.trim() || '(no answer)'}`);
console.log(`remove the demo with: docker stack rm ${stack}`);
process.exit(deploy.status ?? 1);
