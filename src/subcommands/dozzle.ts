/**
 * `honeydue-deploy dozzle [--port N]`: Dozzle listens on the manager's loopback only; this forwards a local port
 * to it through the one SSH connection (what the seed did with `ssh -L`), prints the URL and runs until Ctrl-C.
 */
import net from 'node:net';
import type { Flags } from '../config/settings.js';
import { ConfigError, EXIT, errorMessage } from '../errors.js';
import { manager } from '../steps/context.js';
import type { Reporter } from '../ui/reporter.js';
import { finalLine, type ActionResult } from '../result.js';
import { openCtx } from './session.js';

export interface DozzleFlags extends Flags {
  port?: string;
}

function listen(port: number, onConnection: (s: net.Socket) => void): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer(onConnection);
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE'
          ? new ConfigError(`command line: --port: 127.0.0.1:${port} is already in use on this machine — stop what listens there, or pass another --port`)
          : e,
      ),
    );
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

export async function dozzleAction(flags: DozzleFlags, env: NodeJS.ProcessEnv, reporter: Reporter): Promise<ActionResult> {
  if (flags.port !== undefined && !(/^\d+$/.test(flags.port) && Number(flags.port) >= 1 && Number(flags.port) <= 65535)) {
    throw new ConfigError(`command line: --port: "${flags.port}" is not a port — use a whole number from 1 to 65535`);
  }
  const ctx = await openCtx(flags, env, reporter, 'dozzle');
  const remotePort = ctx.cfg.cluster.DOZZLE_PORT;
  const localPort = flags.port ? Number(flags.port) : remotePort;
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  try {
    server = await listen(localPort, (local) => {
      sockets.add(local);
      local.on('close', () => sockets.delete(local));
      manager(ctx)
        .forward('127.0.0.1', remotePort)
        .then((remote) => {
          local.pipe(remote).pipe(local);
          remote.on('error', () => local.destroy());
          local.on('error', () => remote.destroy());
        })
        .catch((e: unknown) => {
          reporter.warn(`the manager refused the tunnel to 127.0.0.1:${remotePort}: ${errorMessage(e)} — is Dozzle running there?`);
          local.destroy();
        });
    });
    reporter.line(`Dozzle: http://127.0.0.1:${localPort}/ (tunnelled to 127.0.0.1:${remotePort} on the manager; Ctrl-C to stop)`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
      manager(ctx).onClose(() => resolve());
    });
    return { exitCode: EXIT.ok, finalLine: finalLine(EXIT.ok, 'the tunnel is closed; nothing was changed') };
  } finally {
    for (const s of sockets) s.destroy();
    server?.close();
    ctx.session?.close();
  }
}
