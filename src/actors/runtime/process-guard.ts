import { logFile, reopenLog, type Logger } from '../../logger.ts';

/** Errors that have been logged already, with their context, by whoever saw them first. */
const logged = new WeakSet<object>();

/**
 * Marks an error as logged, and returns it: when it reaches the top of the process (an
 * `await app.start()` that rejects) the guard exits without logging it a second time.
 */
export function reported<T>(error: T): T {
  if (typeof error === 'object' && error !== null) logged.add(error);
  return error;
}

/** Whether `error` has been logged already (see {@link reported}). */
export function isReported(error: unknown): boolean {
  return typeof error === 'object' && error !== null && logged.has(error);
}

/** The logger the guard writes with: the process's latest (the app's, once it knows its server id). */
let current: (() => Logger) | undefined;

/**
 * Makes this process's own failures and signals go through its logger, so that a log file holds
 * JSON lines only. Installed once per process (by `createApp`); a later call only changes the logger.
 *
 * - An uncaught exception or an unhandled rejection (Node raises those as uncaught exceptions,
 *   also under `--unhandled-rejections=strict`) is logged as one `fatal` line with the error
 *   serialized, unless it was {@link reported} already, and the process exits with code 1, as
 *   Node would, but without Node's stack print. A server that dies so is restarted by the master
 *   like any crashed server.
 * - SIGHUP never stops the process: it reopens the log file (after logrotate renamed it), or does
 *   nothing when logging to stdout. The master also passes it on to its servers.
 * - When logging to a file, Node's warnings (deprecations, MaxListenersExceeded...) are logged as
 *   `warn` lines; the daemon runs with `NODE_NO_WARNINGS=1` so that Node does not print them too.
 *   In the foreground Node prints them to the terminal, as ever.
 */
export function guardProcess(logger: () => Logger): void {
  const first = current === undefined;
  current = logger;
  if (!first) return;
  process.on('uncaughtException', onUncaught);
  process.on('SIGHUP', onHangup);
  if (logFile()) process.on('warning', onWarning);
}

function onUncaught(error: unknown, origin: NodeJS.UncaughtExceptionOrigin): void {
  try {
    if (!isReported(error)) {
      const what = origin === 'unhandledRejection' ? 'unhandled rejection' : 'uncaught exception';
      current?.().fatal({ err: error }, `${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  } catch (logError) {
    // The logger itself failed (file gone, terminal closed): stderr is all that is left.
    try {
      process.stderr.write(`${String(error)}\n(and logging it failed: ${String(logError)})\n`);
    } catch {
      // Nothing more to try.
    }
  } finally {
    process.exit(1);
  }
}

function onHangup(): void {
  const log = current?.();
  try {
    const file = reopenLog();
    if (file) log?.info({ file }, 'SIGHUP: log file reopened');
    else log?.info('SIGHUP: logging to stdout, nothing to reopen');
  } catch (error) {
    log?.error({ err: error }, 'SIGHUP: could not reopen the log file; still writing to the old one');
  }
}

function onWarning(warning: Error & { code?: string; detail?: string }): void {
  const { name, message, code, detail } = warning;
  current?.().warn({ warning: { name, message, ...(code ? { code } : {}), ...(detail ? { detail } : {}) } }, `node warning: ${name}: ${message}`);
}
