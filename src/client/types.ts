/** The client's public option, result, event and state types. */

/** A JSON value, for what the client sends in its handshake. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/**
 * The timers the client waits with (heartbeats, silence, handshake, request timeouts, reconnect
 * backoff). Any object of this shape will do: the runtime's `SimulatedClock` (src/clock.ts) fits,
 * so a test can move the client's time by hand.
 */
export interface ClientClock {
  /** A one-off timer; the handle is only ever given back to {@link clearTimeout}. `unref`: it does not keep a Node process alive (a clock may ignore it). */
  setTimeout(fn: () => void, ms: number, options?: { unref?: boolean }): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ReconnectOptions {
  /** Attempts after a connection is lost before giving up (default 10). */
  maxAttempts?: number;
  /** Delay before the first attempt, in ms (default 500); doubled after every failed one. */
  initialDelay?: number;
  /** Longest delay between attempts, in ms (default 10000). */
  maxDelay?: number;
}

export interface ClientBaseOptions {
  /** `user` of the handshake, given to the server as is. */
  handshakeUser?: Json;
  /** Default timeout of a request in ms (default 10000; 0: none). */
  requestTimeout?: number;
  /** Time allowed to open the connection and complete the handshake, in ms (default 10000). */
  connectTimeout?: number;
  /** Reconnect when a working connection is lost (not after a kick or `disconnect()`); off by default. */
  reconnect?: boolean | ReconnectOptions;
  /** The timers every wait of the client runs on (default: the global `setTimeout` and `clearTimeout`). */
  clock?: ClientClock;
}

export interface RequestOptions {
  /** This request's timeout in ms (0: none); defaults to the client's `requestTimeout`. */
  timeout?: number;
}

/** What `connect()` resolves with (and the `reconnect` event carries): the server's handshake. */
export interface ConnectResult {
  /** Heartbeat interval in seconds (0: no heartbeats). */
  heartbeat: number;
  /** The `user` part of the server's handshake answer. */
  user: unknown;
  /** Version of the route dictionary in use (cached by the client across reconnects). */
  dictVersion: string | number | undefined;
}

export type DisconnectReason = 'client' | 'server' | 'kick' | 'heartbeat' | 'protocol' | 'error';

export interface DisconnectEvent {
  /** `client`: `disconnect()`; `server`: the server closed; `kick`: after a kick; `heartbeat`: the server went silent; `protocol`: it sent malformed bytes; `error`: the transport failed. */
  reason: DisconnectReason;
  error?: Error;
  /** Whether the client is going to try to reconnect. */
  reconnecting: boolean;
}

/** The client's own events, next to push routes in `on()`. */
export interface ClientEvents {
  /** The server kicked this client (the connection closes next). */
  kick: { reason: string };
  /** A connection that had completed its handshake is gone. */
  disconnect: DisconnectEvent;
  /** A lost connection is back, handshake done. */
  reconnect: ConnectResult;
  /** Malformed input from the server (a {@link ProtocolError}), a failed reconnect, ... */
  error: Error;
}

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';
