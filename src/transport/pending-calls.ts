import { systemClock, type Clock } from '../clock.ts';
import { BusUnavailableError, RpcTimeoutError, ServerUnavailableError } from '../errors.ts';

/** One call waiting for its answer. */
export interface PendingCall {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  serverId: string;
  /** The remote (RPC) or the handler (a forwarded client request) called. */
  name: string;
  method: string;
  /** Monotonic ms ({@link Clock.now}) after which the call times out. */
  deadline: number;
  /** The timeout the call was made with, for the error. */
  timeout: number;
}

/** How often the sweeper looks for calls past their deadline: a timeout fires up to this late. */
export const SWEEP_INTERVAL = 100;

/**
 * The calls a process has sent and not yet had answered, RPC and forwarded client requests alike,
 * over one NATS connection: ids, deadlines and the answers' resolve/reject, in one table.
 *
 * There is no timer per call: one sweeper runs every {@link SWEEP_INTERVAL} ms on the
 * {@link Clock} while any call is waiting, and rejects those past their deadline with
 * {@link RpcTimeoutError}, so a call times out between its timeout and about 100 ms later.
 * A server reported gone ({@link failServer}) fails its calls at once; {@link stop} fails the rest.
 * While the connection is down ({@link busDown} until {@link busUp}) every waiting call fails with
 * {@link BusUnavailableError} and new ones are refused at once, before anything is published:
 * nats.js would buffer the request and deliver it after the caller was told it failed.
 */
export class PendingCalls {
  private readonly calls = new Map<number, PendingCall>();
  private nextId = 1;
  private sweeper: unknown;
  private down = false;

  constructor(private readonly clock: Clock = systemClock) {}

  /**
   * Registers a call; returns its id, which the answer must carry, or undefined when the
   * connection is down: then the call is already rejected and must not be sent.
   */
  open(serverId: string, name: string, method: string, timeout: number, resolve: (value: unknown) => void, reject: (error: Error) => void): number | undefined {
    if (this.down) {
      reject(new BusUnavailableError(serverId, name, method, false));
      return undefined;
    }
    const id = this.nextId++;
    if (this.nextId > 0x7fffffff) this.nextId = 1;
    this.calls.set(id, { resolve, reject, serverId, name, method, timeout, deadline: this.clock.now() + timeout });
    this.sweeper ??= this.clock.setInterval(this.sweep, SWEEP_INTERVAL);
    return id;
  }

  /** Removes the call with this id and returns it, to be settled by its answer; undefined when it is no longer waiting. */
  take(id: number): PendingCall | undefined {
    const call = this.calls.get(id);
    if (call) this.calls.delete(id);
    return call;
  }

  /** Whether the call with this id still waits (it may have failed between being queued and sent). */
  waiting(id: number): boolean {
    return this.calls.has(id);
  }

  /** The connection is down: what waits will not be answered and fails now; new calls are refused until {@link busUp}. */
  busDown(): void {
    this.down = true;
    for (const [id, call] of this.calls) {
      this.calls.delete(id);
      call.reject(new BusUnavailableError(call.serverId, call.name, call.method, true));
    }
  }

  /** The connection is back: calls are taken again. */
  busUp(): void {
    this.down = false;
  }

  /** Rejects one call (it could not be sent, say). */
  fail(id: number, error: Error): void {
    this.take(id)?.reject(error);
  }

  /** The server is gone (silent): its calls will not be answered, so they fail now with {@link ServerUnavailableError}. */
  failServer(serverId: string): void {
    for (const [id, call] of this.calls) {
      if (call.serverId !== serverId) continue;
      this.calls.delete(id);
      call.reject(new ServerUnavailableError(serverId));
    }
  }

  /** Calls waiting now. */
  get size(): number {
    return this.calls.size;
  }

  /** The connection is going away: every waiting call fails with {@link ServerUnavailableError}, and the sweeper stops. */
  stop(): void {
    this.stopSweeper();
    for (const [id, call] of this.calls) {
      this.calls.delete(id);
      call.reject(new ServerUnavailableError(call.serverId));
    }
  }

  private readonly sweep = (): void => {
    const now = this.clock.now();
    for (const [id, call] of this.calls) {
      if (call.deadline > now) continue;
      this.calls.delete(id);
      call.reject(new RpcTimeoutError(call.serverId, call.name, call.method, call.timeout));
    }
    if (this.calls.size === 0) this.stopSweeper();
  };

  private stopSweeper(): void {
    this.clock.clearInterval(this.sweeper);
    this.sweeper = undefined;
  }
}
