import { respondInKind, subscribeGuarded } from './inbound.ts';
import { runCall, type CallWrapper } from './observe.ts';
import { traceHeaders, traceOf } from './trace.ts';
import { checkRpcRequest } from './wire-check.ts';
import { createInbox, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { decode, encode } from './codec.ts';
import { InFlight } from './in-flight.ts';
import type { PendingCalls } from './pending-calls.ts';
import { RemoteError, RpcError, ServerUnavailableError } from '../errors.ts';
import type { RpcReply, RpcRequest } from './wire.ts';

/** The RPC payloads (see docs/protocol.md), defined with every other payload in wire.ts. */
export type { RpcReply, RpcRequest } from './wire.ts';

/** Resolves one request to a result; may throw. */
export type RpcDispatch = (request: RpcRequest) => unknown;

/** Subscribes to a server's RPC subject and answers requests with `dispatch`; counts in-flight calls for draining. */
export class RpcServer {
  private subscription: Subscription | undefined;
  private readonly inFlight = new InFlight();

  constructor(
    private readonly nc: NatsConnection,
    private readonly subject: string,
    private readonly dispatch: RpcDispatch,
    /** Subject kind, for the drop counters (`rpc`, `session`). */
    private readonly kind = 'rpc',
    /** Runs each call (metrics, micro stats, tracing); by default it only runs it. */
    private readonly wrap: CallWrapper = runCall,
  ) {}

  start(): void {
    this.subscription = subscribeGuarded(this.nc, this.subject, {
      kind: this.kind,
      check: checkRpcRequest,
      handle: (request, msg) => this.serve(request, msg),
      malformed: (problem) => failure(new RpcError(`malformed rpc request: ${problem}`, 'BAD_REQUEST')),
    });
  }

  private serve(request: RpcRequest, msg: Msg): void {
    this.inFlight.begin();
    let outcome: unknown;
    try {
      const call = { kind: 'remote' as const, name: request.remote, method: request.method, trace: traceOf(msg.headers) };
      outcome = this.wrap(call, () => this.dispatch(request));
    } catch (e) {
      this.settle(() => respondInKind(msg, failure(e)));
      return;
    }
    if (outcome instanceof Promise) {
      outcome.then(
        (result) => this.settle(() => respondInKind(msg, { ok: true, result })),
        (e) => this.settle(() => respondInKind(msg, failure(e))),
      );
    } else {
      this.settle(() => respondInKind(msg, { ok: true, result: outcome }));
    }
  }

  /** Number of calls being handled now. */
  get pending(): number {
    return this.inFlight.size;
  }

  /** Stops taking new calls and resolves when the ones in flight have answered. */
  drain(): Promise<void> {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    return this.inFlight.idle();
  }

  private settle(respond: () => void): void {
    try {
      respond();
    } catch {
      // The connection is closing; the caller will time out, which is the truth.
    }
    this.inFlight.end();
  }
}

/** What crosses the wire of a thrown error: its name, message and `code` (`REMOTE_ERROR` without one). */
export function errorInfo(error: unknown): { name: string; message: string; code: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, code: code === undefined ? 'REMOTE_ERROR' : String(code) };
  }
  return { name: 'Error', message: String(error), code: 'REMOTE_ERROR' };
}

function failure(error: unknown): RpcReply {
  return { ok: false, error: errorInfo(error) };
}

/**
 * The calling side of RPC over one NATS connection: each request is published on the server's
 * subject with a reply subject `<inbox>.<id>`, under one inbox subscription (`<inbox>.*`, made
 * at the first call) for all of them, and waits in the process's {@link PendingCalls}: its
 * timeout comes from the table's sweeper, and a server gone silent fails it there. No timer, no
 * inbox and no promise but the caller's own per call.
 */
export class RpcCaller {
  private subscription: Subscription | undefined;
  /** `_INBOX.<nuid>.`: a reply's subject is this and the call's id. */
  private readonly inbox = `${createInbox()}.`;

  constructor(
    private readonly nc: NatsConnection,
    private readonly calls: PendingCalls,
  ) {}

  /** Sends one RPC request and turns the reply (or its absence) into a result or a typed error. */
  call(subject: string, serverId: string, request: RpcRequest, timeoutMs: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const id = this.calls.open(serverId, request.remote, request.method, timeoutMs, resolve, reject);
      if (id === undefined) return;
      try {
        // At the first call; the connection sends the subscription before the request.
        this.subscription ??= this.subscribe();
        const trace = traceHeaders();
        this.nc.publish(subject, encode(request), trace ? { reply: this.inbox + id, headers: trace } : { reply: this.inbox + id });
      } catch (error) {
        this.calls.fail(id, error as Error);
      }
    });
  }

  private subscribe(): Subscription {
    const prefix = this.inbox.length;
    return this.nc.subscribe(`${this.inbox}*`, {
      callback: (error, msg) => {
        if (error) return;
        const call = this.calls.take(Number(msg.subject.slice(prefix)));
        if (!call) return;
        // nats-server's "no responders": an empty message with status 503, sent to the reply
        // subject when nobody subscribes to the request's (nats.js asks for it when it connects).
        if (msg.data.length === 0 && msg.headers?.code === 503) {
          call.reject(new ServerUnavailableError(call.serverId));
          return;
        }
        let reply: RpcReply;
        try {
          reply = decode<RpcReply>(msg.data);
        } catch (e) {
          call.reject(e as Error);
          return;
        }
        if (reply.ok) call.resolve(reply.result);
        else call.reject(new RemoteError(reply.error.message, reply.error.code, call.serverId, call.name, call.method, reply.error.name));
      },
    });
  }
}
