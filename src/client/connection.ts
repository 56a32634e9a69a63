/** One transport connection: its state and timers, the handshake it settles, and when it has closed. */
import type { PackageReader } from '../transport/connector/protocol.ts';
import type { Transport } from './transport.ts';
import type { ClientClock, ConnectResult, DisconnectReason } from './types.ts';

/** One transport connection and its timers. */
export interface Connection {
  /** The clock every timer of this connection runs on. */
  clock: ClientClock;
  transport: Transport;
  reader: PackageReader | undefined;
  state: 'opening' | 'handshaking' | 'working' | 'closing';
  heartbeatMs: number;
  /** Handles of the clock's timers (undefined: none set). */
  nextHeartbeat: unknown;
  silence: unknown;
  /** The handshake completed: losing it is a disconnect (else a failed attempt). */
  established: boolean;
  /** Why it is closing, when we know better than the transport. */
  reason: DisconnectReason | undefined;
  error: Error | undefined;
  /** Settles the handshake (connect or reconnect attempt). */
  handshake: { resolve(result: ConnectResult): void; reject(error: Error): void; timer: unknown };
  closed: Promise<void>;
  markClosed(): void;
}

/**
 * A connection about to open, its transport still to be set. Its handshake settles `resolve` or
 * `reject` once; `onTimeout` runs when it has not settled within `connectTimeout` ms of `clock`.
 */
export function newConnection(
  clock: ClientClock,
  connectTimeout: number,
  resolve: (result: ConnectResult) => void,
  reject: (error: Error) => void,
  onTimeout: (connection: Connection) => void,
): Connection {
  let markClosed!: () => void;
  const closed = new Promise<void>((done) => (markClosed = done));
  let settled = false;
  const handshake = {
    resolve: (result: ConnectResult) => {
      if (settled) return;
      settled = true;
      clock.clearTimeout(handshake.timer);
      resolve(result);
    },
    reject: (error: Error) => {
      if (settled) return;
      settled = true;
      clock.clearTimeout(handshake.timer);
      reject(error);
    },
    timer: clock.setTimeout(() => {
      if (settled) return;
      onTimeout(connection);
    }, connectTimeout),
  };
  const connection: Connection = {
    clock,
    transport: undefined as unknown as Transport,
    reader: undefined,
    state: 'opening',
    heartbeatMs: 0,
    nextHeartbeat: undefined,
    silence: undefined,
    established: false,
    reason: undefined,
    error: undefined,
    handshake,
    closed,
    markClosed,
  };
  return connection;
}

/** Read through a call, so that TypeScript does not narrow a state that callbacks change. */
export function isClosing(connection: Connection): boolean {
  return connection.state === 'closing';
}
