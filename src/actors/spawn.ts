import { spawn, type ChildProcess } from 'node:child_process';
import type { ServerEntry } from '../config/types.ts';

export interface SpawnServerOptions {
  /** The app entry (`app.ts` / `app.js`) every server runs. */
  entry: string;
  dir: string;
  env: string;
  /**
   * URLs of the master's embedded broker, which only the master knows. Undefined when NATS is
   * configured: the server then reads the same config (and environment) as the master.
   */
  embeddedNats?: string[];
}

const typescriptEntry = /\.(ts|mts|cts)$/;

/**
 * The command line of one server process: `node [server args] [--import tsx] <entry>`, with its
 * identity in the environment (Pomelo passed `id=... serverType=...` arguments; environment
 * variables keep the entry's own argv untouched).
 */
export function serverCommand(server: ServerEntry, options: SpawnServerOptions): { command: string; args: string[]; env: NodeJS.ProcessEnv } {
  const loader = typescriptEntry.test(options.entry) ? ['--import', import.meta.resolve('tsx')] : [];
  return {
    command: process.execPath,
    args: [...server.args, ...loader, options.entry],
    env: {
      ...process.env,
      SHADDOCK_SERVER_ID: server.id,
      SHADDOCK_SERVER_TYPE: server.serverType,
      SHADDOCK_ENV: options.env,
      SHADDOCK_DIR: options.dir,
      // The entry itself travels too: a server added at runtime (`shaddock add`) is in no file.
      SHADDOCK_SERVER: JSON.stringify(server),
      ...(options.embeddedNats ? { SHADDOCK_NATS_URL: options.embeddedNats.join(',') } : {}),
    },
  };
}

/**
 * Spawns one server process sharing the master's stdout and stderr (one log stream for the
 * cluster). Each server gets a process group of its own: a Ctrl-C reaches only the master, which
 * then stops the servers in order (frontends first) instead of all of them at once.
 */
export function spawnServer(server: ServerEntry, options: SpawnServerOptions): ChildProcess {
  const { command, args, env } = serverCommand(server, options);
  return spawn(command, args, { env, stdio: ['ignore', 'inherit', 'inherit'], detached: true });
}
