import { errors, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../../logger.ts';
import { guardOf } from '../../transport/inbound.ts';

/** At most one line per subject kind (malformed messages) or per refusal (NATS errors) per interval. */
const LOG_INTERVAL = 10_000;

/**
 * Logs what a process's connection loses: the malformed NATS messages it drops (at most one line
 * per subject kind per interval), and what nats-server refuses it (see {@link reportNatsErrorsTo}).
 */
export function reportDropsTo(nc: NatsConnection, logger: Logger): void {
  guardOf(nc).reportTo(({ kind, subject, reason, dropped, since }) =>
    logger.warn({ kind, subject, reason, dropped, sinceMs: Math.round(since) }, `malformed NATS message on ${subject} dropped (${dropped} on "${kind}" since the last report)`),
  );
  reportNatsErrorsTo(nc, logger);
}

/**
 * Logs the errors nats-server sends a connection while it runs, which nats.js only puts on the
 * connection's status: above all a permissions violation, a publish or subscription the process's
 * NATS user may not make (docs/operations.md, "NATS permissions"), after which that message is
 * lost or that subscription gone. One line per refused operation and subject per interval, with
 * how many there were since the last line:
 * `NATS refused publish to "shaddock.chat.hb": Permissions Violation for Publish to "shaddock.chat.hb" (1 since the last report)`.
 * Stops when the connection closes.
 */
export function reportNatsErrorsTo(nc: NatsConnection, logger: Logger, now: () => number = () => performance.now()): void {
  const seen = new Map<string, { at: number; count: number; logged: number }>();
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type !== 'error') continue;
      const error = status.error;
      const violation = error instanceof errors.PermissionViolationError ? error : undefined;
      const key = violation ? `${violation.operation} ${violation.subject}` : error.message;
      const at = now();
      const entry = seen.get(key) ?? { at: -Infinity, count: 0, logged: 0 };
      entry.count++;
      seen.set(key, entry);
      if (at - entry.at < LOG_INTERVAL) continue;
      const count = entry.count - entry.logged;
      entry.at = at;
      entry.logged = entry.count;
      if (violation) {
        logger.error(
          { operation: violation.operation, subject: violation.subject, count },
          `NATS refused ${violation.operation} to "${violation.subject}": ${violation.message} (${count} since the last report)`,
        );
      } else {
        logger.error({ error: error.message, count }, `NATS error: ${error.message} (${count} since the last report)`);
      }
    }
  })().catch((error: unknown) => logger.warn({ error: String(error) }, 'stopped reporting NATS errors'));
}
