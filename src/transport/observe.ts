import type { TraceCarrier } from './trace.ts';

/** A call a server runs for another process: a remote's method, or a client request's handler. */
export interface ServedCall {
  kind: 'remote' | 'handler';
  /** The remote's or the handler's name (`chatRemote`, `entryHandler`). */
  name: string;
  method: string;
  /** The trace context the call came with (empty when none). */
  trace: TraceCarrier;
}

/**
 * Runs one served call: `run()` is the call itself (a value, a promise, or a throw); a wrapper
 * returns what `run` returns, after it measured or traced it. The servers of RPC and of client
 * requests take one, so that metrics, NATS micro stats and tracing live outside the transport.
 */
export type CallWrapper = (call: ServedCall, run: () => unknown) => unknown;

/** The wrapper that only runs the call. */
export const runCall: CallWrapper = (_call, run) => run();
