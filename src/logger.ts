import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * One structured (pino, JSON lines) logger per process, named for the server it runs, so lines
 * from a whole cluster on one terminal or in one file can be told apart and filtered by `serverId`.
 * Level from `SHADDOCK_LOG_LEVEL` (default `info`). Writes are synchronous so nothing is lost
 * when a process exits right after logging why.
 */
export function createLogger(serverId: string, bindings: Record<string, unknown> = {}): Logger {
  return pino(
    {
      name: serverId,
      level: process.env.SHADDOCK_LOG_LEVEL ?? 'info',
      base: { serverId, pid: process.pid, ...bindings },
    },
    pino.destination({ dest: 1, sync: true }),
  );
}
