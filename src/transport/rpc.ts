import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { decode, encode } from './codec.ts';
import { InFlight } from './in-flight.ts';
import { RemoteError, RpcError, RpcTimeoutError, ServerUnavailableError } from '../errors.ts';

/**
 * Shaddock's RPC wire format over NATS request/reply (see docs/protocol.md):
 * request  = msgpack map { remote: string, method: string, args: array }
 * reply    = msgpack map { ok: true, result: any } | { ok: false, error: { name, message, code } }
 */
export interface RpcRequest {
  remote: string;
  method: string;
  args: unknown[];
}

export type RpcReply =
  | { ok: true; result: unknown }
  | { ok: false; error: { name: string; message: string; code: string } };

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
  ) {}

  start(): void {
    this.subscription = this.nc.subscribe(this.subject, {
      callback: (error, msg) => {
        if (error) return;
        let request: RpcRequest;
        try {
          request = decode<RpcRequest>(msg.data);
          if (typeof request?.remote !== 'string' || typeof request.method !== 'string') throw new Error('not an rpc request');
          if (!Array.isArray(request.args)) request.args = [];
        } catch (e) {
          msg.respond(encode(failure(new RpcError(`malformed rpc request: ${(e as Error).message}`, 'BAD_REQUEST'))));
          return;
        }
        this.inFlight.begin();
        let outcome: unknown;
        try {
          outcome = this.dispatch(request);
        } catch (e) {
          this.settle(() => msg.respond(encode(failure(e))));
          return;
        }
        if (outcome instanceof Promise) {
          outcome.then(
            (result) => this.settle(() => msg.respond(encode({ ok: true, result }))),
            (e) => this.settle(() => msg.respond(encode(failure(e)))),
          );
        } else {
          this.settle(() => msg.respond(encode({ ok: true, result: outcome })));
        }
      },
    });
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

/** Sends one RPC request and turns the reply (or its absence) into a result or a typed error. */
export async function callRemote(
  nc: NatsConnection,
  subject: string,
  serverId: string,
  request: RpcRequest,
  timeoutMs: number,
): Promise<unknown> {
  let reply: RpcReply;
  try {
    const msg = await nc.request(subject, encode(request), { timeout: timeoutMs });
    reply = decode<RpcReply>(msg.data);
  } catch (error) {
    const name = (error as Error).name;
    const cause = (error as { cause?: { name?: string } }).cause;
    if (name === 'TimeoutError' || cause?.name === 'TimeoutError') {
      throw new RpcTimeoutError(serverId, request.remote, request.method, timeoutMs);
    }
    if (cause?.name === 'NoRespondersError' || name === 'NoRespondersError') throw new ServerUnavailableError(serverId);
    throw error;
  }
  if (reply.ok) return reply.result;
  throw new RemoteError(reply.error.message, reply.error.code, serverId, request.remote, request.method, reply.error.name);
}
