import { pino, type Logger } from 'pino';

export type { Logger };

type Destination = ReturnType<typeof pino.destination>;

/** The one destination of this process, shared by all its loggers, and the file it writes, if any. */
let shared: { stream: Destination; file: string | undefined } | undefined;

/**
 * The file this process logs to: `SHADDOCK_LOG_FILE`, which `shaddock start -D` sets for the
 * master and its servers inherit. Undefined means stdout (a foreground cluster).
 */
export function logFile(): string | undefined {
  return process.env.SHADDOCK_LOG_FILE || undefined;
}

function destination(): Destination {
  if (!shared) {
    const file = logFile();
    // Opened by path, appending: every process of the cluster appends whole lines to the same file.
    const stream = file ? pino.destination({ dest: file, sync: true, append: true, mkdir: true }) : pino.destination({ dest: 1, sync: true });
    shared = { stream, file };
  }
  return shared.stream;
}

/**
 * Closes the log file and opens it again at its path: after logrotate has renamed it, the lines
 * that follow go to a new file there. Returns the file, or undefined when logging to stdout
 * (nothing to reopen). Throws if the file cannot be opened; the old one is then kept.
 */
export function reopenLog(): string | undefined {
  if (!shared?.file) return undefined;
  shared.stream.reopen();
  return shared.file;
}

/**
 * One structured (pino, JSON lines) logger per process, named for the server it runs, so lines
 * from a whole cluster on one terminal or in one file can be told apart and filtered by `serverId`.
 * Level from `SHADDOCK_LOG_LEVEL` (default `info`). Writes go to stdout, or to the log file
 * (`SHADDOCK_LOG_FILE`), and are synchronous so nothing is lost when a process exits right after
 * logging why.
 */
export function createLogger(serverId: string, bindings: Record<string, unknown> = {}): Logger {
  return pino(
    {
      name: serverId,
      level: process.env.SHADDOCK_LOG_LEVEL ?? 'info',
      base: { serverId, pid: process.pid, ...bindings },
    },
    destination(),
  );
}
