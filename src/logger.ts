import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';

export type { Logger };

type Destination = ReturnType<typeof pino.destination>;

/** The one destination of this process, shared by all its loggers, and the file it writes, if any. */
let shared: { stream: DestinationStream; file: Destination | undefined; path: string | undefined } | undefined;

/**
 * Whether this process prints its log for a person: `SHADDOCK_LOG_FORMAT` (`pretty` or `json`)
 * when set, else pretty exactly when stdout is a terminal. A log file is always JSON lines.
 */
export function prettyLogs(stdoutIsTTY = process.stdout.isTTY === true, format = process.env.SHADDOCK_LOG_FORMAT): boolean {
  if (format === 'pretty') return true;
  if (format === 'json') return false;
  if (format !== undefined && format !== '') throw new Error(`SHADDOCK_LOG_FORMAT: expected "pretty" or "json", got "${format}"`);
  return stdoutIsTTY;
}

/** pino-pretty on stdout, synchronous like the JSON destination; loaded only by a process that prints to a terminal. */
function prettyStdout(): DestinationStream {
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  return pretty({ destination: 1, sync: true, colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,serverId,serverType' });
}

/**
 * The file this process logs to: `SHADDOCK_LOG_FILE`, which `shaddock start -D` sets for the
 * master and its servers inherit. Undefined means stdout (a foreground cluster).
 */
export function logFile(): string | undefined {
  return process.env.SHADDOCK_LOG_FILE || undefined;
}

function destination(): DestinationStream {
  if (!shared) {
    const path = logFile();
    // Opened by path, appending: every process of the cluster appends whole lines to the same file.
    const file = path ? pino.destination({ dest: path, sync: true, append: true, mkdir: true }) : undefined;
    shared = { stream: file ?? (prettyLogs() ? prettyStdout() : pino.destination({ dest: 1, sync: true })), file, path };
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
  shared.file.reopen();
  return shared.path;
}

/**
 * One structured (pino) logger per process, named for the server it runs, so lines from a whole
 * cluster on one terminal or in one file can be told apart and filtered by `serverId`. JSON lines,
 * or one readable line per entry (pino-pretty) when stdout is a terminal (see {@link prettyLogs}).
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
