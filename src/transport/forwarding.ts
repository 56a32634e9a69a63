import { subscribeGuarded } from './inbound.ts';
import { checkHandledBatch, checkHandlerBatch } from './wire-check.ts';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { RemoteError } from '../errors.ts';
import { encode } from './codec.ts';
import { InFlight } from './in-flight.ts';
import type { PendingCalls } from './pending-calls.ts';
import { errorInfo } from './rpc.ts';
import type { Subjects } from './subjects.ts';
import { currentTrace, type TraceCarrier } from './trace.ts';
import type { ForwardedCall, ForwardedReply } from './wire.ts';

/**
 * Client requests a frontend forwards to another server's handlers, batched: everything a
 * frontend has for one server at the end of an event-loop turn travels as one NATS message, and
 * the answers come back the same way. Under load that turns thousands of request/reply round
 * trips per second (each a message to route, an inbox, a timer and a promise in the client
 * library) into a few batches; idle, a batch is one request and costs one turn of latency.
 *
 * Wire (msgpack, see docs/protocol.md):
 * - `<base>.handler.<serverId>`: `{from, calls: [[id, handler, method, msg, session, trace?], ...]}`
 * - `<base>.handled.<frontendId>`: `{replies: [[id, 1, result] | [id, 0, {name, message, code}], ...]}`
 *
 * Unlike request/reply, an answer that never comes is only found out by the timeout, or when
 * the directory reports the server silent ({@link PendingCalls.failServer}).
 */

export type { ForwardedCall, ForwardedReply } from './wire.ts';

/** Most calls (or answers) in one message. */
const MAX_BATCH = 256;

/**
 * The frontend's side: queue calls per server, flush once per turn, match answers by id. The
 * calls wait in the process's {@link PendingCalls}, next to its RPC calls: one table, one sweeper
 * for their timeouts, and a server gone silent fails both kinds at once.
 */
export class ForwardClient {
  private readonly queues = new Map<string, ForwardedCall[]>();
  private flushing = false;
  private subscription: Subscription | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly frontendId: string,
    private readonly calls: PendingCalls,
  ) {}

  start(): void {
    this.subscription = subscribeGuarded(this.nc, this.subjects.handled(this.frontendId), {
      kind: 'handled',
      check: checkHandledBatch,
      handle: (batch) => {
        for (const reply of batch.replies) this.settle(reply);
      },
    });
  }

  /** No more answers are taken; calls still waiting fail when the table stops (or time out). */
  stop(): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
  }

  /** Sends `handler.method(msg, session)` to a server; resolves with its answer. */
  call(serverId: string, handler: string, method: string, msg: unknown, session: unknown, timeout: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const id = this.calls.open(serverId, handler, method, timeout, resolve, reject);
      if (id === undefined) return;
      let queue = this.queues.get(serverId);
      if (!queue) this.queues.set(serverId, (queue = []));
      // The caller's trace context, taken now: by the flush the active context is another one.
      const trace = currentTrace();
      queue.push(trace ? [id, handler, method, msg, session, trace] : [id, handler, method, msg, session]);
      // A burst still goes in bounded messages: no buffer grows with the number of clients.
      if (queue.length >= MAX_BATCH) this.send(serverId, this.queues.get(serverId)!.splice(0));
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(this.flush);
      }
    });
  }

  private readonly flush = (): void => {
    this.flushing = false;
    for (const [serverId, calls] of this.queues) if (calls.length) this.send(serverId, calls);
    this.queues.clear();
  };

  private send(serverId: string, queued: ForwardedCall[]): void {
    // Those that failed while queued (the connection went) are not sent at all.
    const calls = queued.filter(([id]) => this.calls.waiting(id));
    if (calls.length === 0) return;
    try {
      this.nc.publish(this.subjects.handler(serverId), encode({ from: this.frontendId, calls }));
    } catch (error) {
      for (const [id] of calls) this.calls.fail(id, error as Error);
    }
  }

  private settle(reply: ForwardedReply): void {
    const call = this.calls.take(reply[0]);
    if (!call) return;
    if (reply[1] === 1) call.resolve(reply[2]);
    else call.reject(new RemoteError(reply[2].message, reply[2].code, call.serverId, call.name, call.method, reply[2].name));
  }
}

/** Runs one call: resolves to the handler's answer (sync or async); throws or rejects on failure. `trace` is the frontend's trace context. */
export type ForwardDispatch = (handler: string, method: string, msg: unknown, session: unknown, trace: TraceCarrier) => unknown;

/** The serving side: run each call of a batch, answer each frontend once per turn. */
export class ForwardServer {
  private subscription: Subscription | undefined;
  private readonly outgoing = new Map<string, ForwardedReply[]>();
  private flushing = false;
  private readonly inFlight = new InFlight();

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly serverId: string,
    private readonly dispatch: ForwardDispatch,
  ) {}

  start(): void {
    this.subscription = subscribeGuarded(this.nc, this.subjects.handler(this.serverId), {
      kind: 'handler',
      check: checkHandlerBatch,
      handle: (batch) => {
        for (const call of batch.calls) this.run(batch.from, call);
      },
    });
  }

  /** Stops taking calls; resolves once every call taken has been answered. */
  async drain(): Promise<void> {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    await this.inFlight.idle();
    this.flush();
  }

  private run(from: string, call: ForwardedCall): void {
    const [id, handler, method, msg, session, trace] = call;
    this.inFlight.begin();
    let outcome: unknown;
    try {
      outcome = this.dispatch(handler, method, msg, session, trace ?? {});
    } catch (error) {
      this.answer(from, [id, 0, errorInfo(error)]);
      return;
    }
    if (outcome instanceof Promise) {
      outcome.then(
        (result: unknown) => this.answer(from, [id, 1, result]),
        (error: unknown) => this.answer(from, [id, 0, errorInfo(error)]),
      );
    } else {
      this.answer(from, [id, 1, outcome]);
    }
  }

  private answer(from: string, reply: ForwardedReply): void {
    let queue = this.outgoing.get(from);
    if (!queue) this.outgoing.set(from, (queue = []));
    queue.push(reply);
    if (queue.length >= MAX_BATCH) this.publish(from, queue.splice(0));
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(this.flush);
    }
    this.inFlight.end();
  }

  private readonly flush = (): void => {
    this.flushing = false;
    for (const [from, replies] of this.outgoing) if (replies.length) this.publish(from, replies);
    this.outgoing.clear();
  };

  private publish(from: string, replies: ForwardedReply[]): void {
    try {
      this.nc.publish(this.subjects.handled(from), encode({ replies }));
    } catch {
      // Closing: the frontend's timeout tells the truth.
    }
  }
}
