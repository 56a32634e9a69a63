import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { encode } from '../../transport/codec.ts';
import { subscribeGuarded } from '../../transport/inbound.ts';
import type { Subjects } from '../../transport/subjects.ts';
import { checkWatchRequest } from '../../transport/wire-check.ts';
import type { InspectSnapshot, WatchRefusal } from '../../transport/wire.ts';
import { inspectorOfProcess, type Inspector } from './inspector.ts';

/**
 * Puts a process's inspector on NATS as `serverId`: answers leases on `watch.<serverId>` with a
 * snapshot and publishes its batches on `inspect.<serverId>`. A malformed watch request is
 * dropped, counted (kind `watch`) and answered with a {@link WatchRefusal}. The subscription ends
 * with the connection; unsubscribing it also ends every lease.
 */
export function serveInspection(nc: NatsConnection, subjects: Subjects, serverId: string, inspector: Inspector = inspectorOfProcess()): Subscription {
  const subject = subjects.inspect(serverId);
  inspector.open(serverId, (batch) => {
    if (!nc.isClosed()) nc.publish(subject, encode(batch));
  });
  const subscription = subscribeGuarded(nc, subjects.watch(serverId), {
    kind: 'watch',
    check: checkWatchRequest,
    handle: (request, msg) => {
      msg.respond(encode(inspector.watch(request) satisfies InspectSnapshot));
    },
    malformed: (problem): WatchRefusal => ({ error: problem }),
  });
  void subscription.closed.then(() => inspector.close());
  return subscription;
}
