/**
 * What the console needs of the inspection protocol (docs/inspect.md): a watch of one process's
 * machines, its snapshots and its batches of transitions. The console's routes code against
 * this; the master gives them the NATS watcher ({@link natsInspection}).
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { systemClock, type Clock } from '../../../clock.ts';
import type { Subjects } from '../../../transport/subjects.ts';
import type { InspectBatch, InspectSnapshot } from '../../../transport/wire.ts';
import { watch, type Watch } from '../../inspect/watcher.ts';

export interface InspectHandlers {
  /** Every snapshot: the first, then one per lease renewal. */
  snapshot(snapshot: InspectSnapshot): void;
  batch(batch: InspectBatch): void;
  /** The process cannot be watched now (down, restarting, refusing); the watch keeps trying. */
  error(message: string): void;
}

export interface InspectWatch {
  close(): void;
}

/** Watches one process (a server id, or a master's id) until the watch is closed. */
export type InspectSource = (serverId: string, handlers: InspectHandlers, detail?: string) => InspectWatch;

/** No inspection (this master has no NATS yet): every watch reports that once. */
export const noInspection: InspectSource = (serverId, handlers) => {
  queueMicrotask(() => handlers.error(`no NATS yet: "${serverId}"'s own machines cannot be watched`));
  return { close: () => undefined };
};

/** ms between tries to watch a process that did not answer (down, or restarting). */
const RETRY_MS = 2_000;
/** The console's lease: renewed every third of it, so a closed page stops the events within 5 s. */
const TTL_MS = 5_000;

/**
 * Watches through the inspection protocol on NATS (src/actors/inspect/watcher.ts): the lease is
 * taken again every 2 s while the process does not answer, so a server that restarts is shown
 * again once it is back.
 */
export function natsInspection(nc: NatsConnection, subjects: Subjects, clock: Clock = systemClock): InspectSource {
  return (serverId, handlers, detail) => {
    let closed = false;
    let current: Watch | undefined;
    let retry: unknown;
    const start = async (): Promise<void> => {
      retry = undefined;
      try {
        const opened = await watch(nc, subjects, serverId, { ttlMs: TTL_MS, ...(detail !== undefined ? { detail } : {}), onSnapshot: (s) => handlers.snapshot(s), onError: (e) => handlers.error(e.message), clock }, (batch) => handlers.batch(batch));
        if (closed) return void opened.close();
        current = opened;
        handlers.snapshot(opened.snapshot);
      } catch (error) {
        if (closed) return;
        handlers.error((error as Error).message);
        retry = clock.setTimeout(() => void start(), RETRY_MS, { unref: true });
      }
    };
    void start();
    return {
      close() {
        closed = true;
        if (retry !== undefined) clock.clearTimeout(retry);
        void current?.close();
      },
    };
  };
}
