import { hostname } from 'node:os';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { systemClock, type Clock } from '../../clock.ts';
import { decode, encode } from '../../transport/codec.ts';
import { subscribeGuarded } from '../../transport/inbound.ts';
import type { Subjects } from '../../transport/subjects.ts';
import { checkInspectBatch, checkWatchReply } from '../../transport/wire-check.ts';
import type { InspectBatch, InspectSnapshot, WatchRequest } from '../../transport/wire.ts';

/** How a {@link watch} holds its lease. */
export interface WatchOptions {
  /** The lease's length in ms (renewed every third of it); the server clamps it to 1 000–60 000. Default 5 000. */
  ttlMs?: number;
  /** An actor to show in full in each snapshot (a session id), whose transitions the batches then carry too. */
  detail?: string;
  /** The watcher's id on the wire; default `<host>-<pid>-<random>`. */
  watcher?: string;
  /** ms to wait for the first snapshot. Default 5 000. */
  timeoutMs?: number;
  /** Each snapshot after the first: one per renewal (a restarted process answers with its new state). */
  onSnapshot?: (snapshot: InspectSnapshot) => void;
  /** A renewal that failed (the process is down, restarting): the watcher keeps renewing. */
  onError?: (error: Error) => void;
  /** Times the renewals. */
  clock?: Pick<Clock, 'setInterval' | 'clearInterval'>;
}

/** A live watch of one process: its first snapshot, and the way to stop. */
export interface Watch {
  /** The snapshot the lease was granted with. */
  readonly snapshot: InspectSnapshot;
  /** Shows another actor in full from the next renewal on (undefined: none); resolves with that snapshot. */
  setDetail(actor: string | undefined): Promise<InspectSnapshot>;
  /** Stops renewing and unsubscribes; the lease then runs out on the server within its ttl. */
  close(): Promise<void>;
}

/** The process did not grant a lease: nobody answers on its watch subject, or it refused the request. */
export class WatchError extends Error {
  override readonly name = 'WatchError';
}

const DEFAULT_TTL = 5_000;

/**
 * Watches one process's machines (`<serverId>`, or a master's own id): subscribes to its
 * `inspect` subject, takes a lease on its `watch` subject, renews it every `ttlMs / 3` and hands
 * every batch to `onBatch` until {@link Watch.close}. Subscribing before asking means no batch
 * published after the snapshot is missed. Malformed batches are dropped and counted (kind
 * `inspect`) like every other NATS message.
 *
 * @example
 * const w = await watch(nc, subjects('shaddock', 'chat'), 'chat-server-1', { ttlMs: 3000 }, (batch) => {
 *   for (const e of batch.events) console.log(e.actor, e.state, e.event);
 * });
 * console.log(w.snapshot.actors);
 * await w.close();
 *
 * @throws {WatchError} when no process answers on `watch.<serverId>` within `timeoutMs`, or it refuses.
 */
export async function watch(nc: NatsConnection, subjects: Subjects, serverId: string, options: WatchOptions, onBatch: (batch: InspectBatch) => void): Promise<Watch> {
  const ttlMs = options.ttlMs ?? DEFAULT_TTL;
  const watcher = options.watcher ?? `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const subject = subjects.watch(serverId);
  let detail = options.detail;
  let closed = false;

  const subscription: Subscription = subscribeGuarded(nc, subjects.inspect(serverId), {
    kind: 'inspect',
    check: checkInspectBatch,
    handle: (batch) => {
      if (!closed) onBatch(batch);
    },
  });
  await nc.flush();

  const ask = async (timeout: number): Promise<InspectSnapshot> => {
    const request: WatchRequest = { watcher, ttlMs, ...(detail !== undefined ? { detail } : {}) };
    let reply;
    try {
      const msg = await nc.request(subject, encode(request), { timeout });
      reply = checkWatchReply(decode<unknown>(msg.data));
    } catch (error) {
      const text = String((error as { cause?: unknown }).cause ?? error);
      if (/no responders/i.test(text)) throw new WatchError(`no process "${serverId}" answers on ${subject}`);
      if (/timeout/i.test(text)) throw new WatchError(`"${serverId}" did not answer on ${subject} within ${timeout} ms`);
      throw new WatchError(`watching "${serverId}": ${(error as Error).message ?? text}`);
    }
    if ('error' in reply) throw new WatchError(`"${serverId}" refused the watch: ${reply.error}`);
    return reply;
  };

  let snapshot: InspectSnapshot;
  try {
    snapshot = await ask(options.timeoutMs ?? 5_000);
  } catch (error) {
    subscription.unsubscribe();
    throw error;
  }

  const every = Math.max(100, Math.floor(ttlMs / 3));
  const renew = (): void => {
    if (closed) return;
    // A renewal waits at most one period, so that a lease is never let lapse while one hangs.
    ask(every).then(
      (next) => {
        if (!closed) options.onSnapshot?.(next);
      },
      (error: Error) => {
        if (!closed) options.onError?.(error);
      },
    );
  };
  const clock = options.clock ?? systemClock;
  const timer = clock.setInterval(renew, every);

  return {
    snapshot,
    async setDetail(actor) {
      detail = actor;
      return ask(options.timeoutMs ?? 5_000);
    },
    async close() {
      if (closed) return;
      closed = true;
      clock.clearInterval(timer);
      subscription.unsubscribe();
    },
  };
}
