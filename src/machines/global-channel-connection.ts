import { assign, setup } from 'xstate';

/**
 * The global channel service's link to Redis, as the service sees it.
 *
 * States, as an operator would say them:
 * - `connecting`: the client is reaching Redis for the first time. Calls reject ("not ready").
 *   Ready → `ready`; not within `connectTimeout` ms → `failed` (the server does not start).
 * - `ready`: Redis answers; calls go through. `ready` is told each time it is entered: the first
 *   time a frontend cleans its own stale memberships there.
 * - `reconnecting`: the link dropped (Redis restarting, a Sentinel failover, a network cut). Calls
 *   reject at once naming the operation; the client reconnects by itself, as long as it takes,
 *   and `attempts` counts the drops. Back → `ready`.
 * - `stopped`: final; the service was stopped and the client closed (`close`).
 * - `failed`: final; Redis never answered at start (`reason` says why).
 *
 * The machine reads no clock and does no I/O: the runtime sends `READY` and `LOST` from the
 * client's events, and every effect goes through the `port` given as input.
 */

/** What the connection machine asks of the runtime. */
export interface GlobalChannelConnectionPort {
  /** Redis answers (first time or again). */
  ready(first: boolean): void;
  /** The link dropped; the client is reconnecting. */
  reconnecting(reason: string): void;
  /** Redis was never reached in time. */
  failed(reason: string): void;
  /** Close the client (the service stops, or start failed). */
  close(): void;
}

export interface GlobalChannelConnectionInput {
  port: GlobalChannelConnectionPort;
  /** ms the first connection may take. */
  connectTimeout: number;
}

export interface GlobalChannelConnectionContext extends GlobalChannelConnectionInput {
  /** Why the link last dropped or start failed; empty before. */
  reason: string;
  /** How many times the link dropped after it was first ready. */
  attempts: number;
  /** How many times it has been ready. */
  readies: number;
}

export type GlobalChannelConnectionEvent =
  | { type: 'READY' }
  | { type: 'LOST'; reason?: string }
  | { type: 'STOP' };

export const globalChannelConnectionMachine = setup({
  types: {
    context: {} as GlobalChannelConnectionContext,
    events: {} as GlobalChannelConnectionEvent,
    input: {} as GlobalChannelConnectionInput,
  },
  actions: {
    ready: ({ context }) => context.port.ready(context.readies === 1),
    reconnecting: ({ context }) => context.port.reconnecting(context.reason),
    failed: ({ context }) => context.port.failed(context.reason),
    close: ({ context }) => context.port.close(),
    countReady: assign({ readies: ({ context }) => context.readies + 1 }),
    lost: assign({
      reason: ({ event }) => (event.type === 'LOST' && event.reason) || 'connection to Redis lost',
      attempts: ({ context }) => context.attempts + 1,
    }),
    timedOut: assign({ reason: ({ context }) => `Redis did not answer within ${context.connectTimeout} ms` }),
  },
  delays: {
    connectTimeout: ({ context }) => context.connectTimeout,
  },
}).createMachine({
  id: 'globalChannelConnection',
  context: ({ input }) => ({ ...input, reason: '', attempts: 0, readies: 0 }),
  initial: 'connecting',
  on: {
    STOP: { target: '.stopped' },
  },
  states: {
    connecting: {
      after: { connectTimeout: { target: 'failed', actions: 'timedOut' } },
      on: {
        // A LOST here is ignored: the first connect may fail a few times (Redis starting) within the timeout.
        READY: { target: 'ready', actions: 'countReady' },
      },
    },
    ready: {
      entry: 'ready',
      on: {
        LOST: { target: 'reconnecting', actions: 'lost' },
      },
    },
    reconnecting: {
      entry: 'reconnecting',
      on: {
        READY: { target: 'ready', actions: 'countReady' },
      },
    },
    stopped: {
      type: 'final',
      entry: 'close',
    },
    failed: {
      type: 'final',
      entry: ['failed', 'close'],
    },
  },
});
