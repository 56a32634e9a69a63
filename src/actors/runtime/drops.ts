import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../../logger.ts';
import { guardOf } from '../../transport/inbound.ts';

/** Logs the malformed NATS messages a process's connection drops (at most one line per subject kind per interval). */
export function reportDropsTo(nc: NatsConnection, logger: Logger): void {
  guardOf(nc).reportTo(({ kind, subject, reason, dropped, since }) =>
    logger.warn({ kind, subject, reason, dropped, sinceMs: Math.round(since) }, `malformed NATS message on ${subject} dropped (${dropped} on "${kind}" since the last report)`),
  );
}
