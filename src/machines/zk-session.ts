import { assign, setup } from 'xstate';

/**
 * The master's ZooKeeper session, as the master sees it (not as node-zookeeper-client reports it:
 * that client says nothing when a first connect never answers, nor during a partition, and never
 * says EXPIRED until it reaches the ensemble again).
 *
 * States, as an operator would say them:
 * - `connecting`: a fresh client is reaching the ensemble. If no session is established within
 *   `connectTimeout` ms, that client is given up and another one is opened.
 * - `connected`: the session is up. `established` is told once per client (the master campaigns
 *   then), `resumed` each time it comes back from `suspended`. While connected the master asks
 *   the ensemble something every third of the session timeout (`probe`; an answer is `HEARD`):
 *   no answer within another third means the link is dead even though the client has not noticed.
 * - `suspended`: the connection is lost (DISCONNECTED, or a probe went unanswered) but the session
 *   may still be alive on the ensemble: a leader stops acting at once. Reconnected in time →
 *   `connected` (`resumed`); not in time → `expired`. In time means within 2/3 of the session
 *   timeout after DISCONNECTED, and within the rest of the session timeout since the last answer
 *   after an unanswered probe (a third: the probe went out a third after that answer and waited a
 *   third), so a silent link is given up no later than the ensemble could expire the session.
 * - `expired`: the session is gone for sure (EXPIRED, or not confirmed in time): `lost` is told and
 *   the client closed; after `retryDelay` ms a fresh client connects (`connecting`).
 * - `closed`: final (the master stopped); the client is closed.
 *
 * The session timeout the delays derive from is the one the ensemble granted (`CONNECTED` carries
 * it), the asked one until then. The machine reads no clock and does no I/O: every effect goes
 * through the `port` given as input, so a test drives it with a recording port and a simulated clock.
 */

/** What the session machine asks of the runtime. */
export interface ZkSessionPort {
  /** Open a fresh client and start connecting (any earlier client is already closed). */
  open(): void;
  /** This client's session is established for the first time: campaign. */
  established(): void;
  /** Ask the ensemble something cheap; send `HEARD` when it answers. */
  probe(): void;
  /** The connection is lost, the session may be alive: stop acting as leader. */
  suspended(reason: string): void;
  /** Back within the same session. */
  resumed(): void;
  /** The session is gone for sure. */
  lost(reason: string): void;
  /** Close the current client (given up, expired, or the master stops). */
  closeClient(): void;
}

export interface ZkSessionInput {
  port: ZkSessionPort;
  /** The session timeout asked of the ensemble, ms. */
  sessionTimeout: number;
  /** ms a fresh client has to establish a session before it is given up. */
  connectTimeout: number;
  /** ms between a lost session and the next fresh client. */
  retryDelay: number;
}

export interface ZkSessionContext extends ZkSessionInput {
  /** Why the session was last suspended or lost; empty before. */
  reason: string;
  /** ms the current suspension may last before the session counts as lost. */
  confirmWithin: number;
}

export type ZkSessionEvent =
  /** The client has a session; `sessionTimeout` is the one the ensemble granted. */
  | { type: 'CONNECTED'; sessionTimeout?: number }
  | { type: 'DISCONNECTED' }
  /** The ensemble says the session is gone (or the client cannot go on with it). */
  | { type: 'EXPIRED'; reason?: string }
  /** The ensemble answered a probe (or any request). */
  | { type: 'HEARD' }
  | { type: 'CLOSE' };

/** A third of the session timeout: the probe period, and how long a probe may go unanswered. */
function third(context: ZkSessionContext): number {
  return Math.max(1, Math.floor(context.sessionTimeout / 3));
}

export const zkSessionMachine = setup({
  types: {
    context: {} as ZkSessionContext,
    events: {} as ZkSessionEvent,
    input: {} as ZkSessionInput,
  },
  actions: {
    open: ({ context }) => context.port.open(),
    established: ({ context }) => context.port.established(),
    probe: ({ context }) => context.port.probe(),
    suspended: ({ context }) => context.port.suspended(context.reason),
    resumed: ({ context }) => context.port.resumed(),
    lost: ({ context }) => context.port.lost(context.reason),
    closeClient: ({ context }) => context.port.closeClient(),
    disconnected: assign({
      reason: 'ZooKeeper connection lost',
      confirmWithin: ({ context }) => Math.max(1, Math.round((context.sessionTimeout * 2) / 3)),
    }),
    expiredBecause: assign({
      reason: ({ event }) => (event.type === 'EXPIRED' && event.reason) || 'ZooKeeper session expired',
    }),
    notConfirmed: assign({
      reason: ({ context }) => `ZooKeeper session not confirmed within ${context.confirmWithin} ms of being suspended (session timeout ${context.sessionTimeout} ms)`,
    }),
    unanswered: assign({
      reason: ({ context }) => `ZooKeeper did not answer within ${third(context)} ms`,
      confirmWithin: ({ context }) => Math.max(1, context.sessionTimeout - 2 * third(context)),
    }),
    grant: assign({
      sessionTimeout: ({ context, event }) =>
        event.type === 'CONNECTED' && event.sessionTimeout !== undefined && event.sessionTimeout > 0 ? event.sessionTimeout : context.sessionTimeout,
    }),
  },
  delays: {
    connectTimeout: ({ context }) => context.connectTimeout,
    third: ({ context }) => third(context),
    confirmTimeout: ({ context }) => context.confirmWithin,
    retryDelay: ({ context }) => context.retryDelay,
  },
}).createMachine({
  id: 'zkSession',
  context: ({ input }) => ({ ...input, reason: '', confirmWithin: 0 }),
  initial: 'connecting',
  on: {
    CLOSE: { target: '.closed' },
  },
  states: {
    connecting: {
      entry: 'open',
      after: {
        // node-zookeeper-client would try for ever, silently: give this client up, try a fresh one.
        connectTimeout: { target: 'connecting', reenter: true, actions: 'closeClient' },
      },
      on: {
        CONNECTED: { target: 'connected', actions: ['grant', 'established'] },
        EXPIRED: { target: 'expired', actions: 'expiredBecause' },
      },
    },
    connected: {
      initial: 'listening',
      on: {
        DISCONNECTED: { target: 'suspended', actions: 'disconnected' },
        EXPIRED: { target: 'expired', actions: 'expiredBecause' },
      },
      states: {
        listening: {
          after: { third: { target: 'probing', actions: 'probe' } },
        },
        probing: {
          after: { third: { target: '#zkSession.suspended', actions: 'unanswered' } },
          on: { HEARD: { target: 'listening' } },
        },
      },
    },
    suspended: {
      entry: 'suspended',
      after: { confirmTimeout: { target: 'expired', actions: 'notConfirmed' } },
      on: {
        CONNECTED: { target: 'connected', actions: ['grant', 'resumed'] },
        // A late answer on a link that never dropped: the session is alive.
        HEARD: { target: 'connected', actions: 'resumed' },
        EXPIRED: { target: 'expired', actions: 'expiredBecause' },
      },
    },
    expired: {
      entry: ['lost', 'closeClient'],
      after: { retryDelay: { target: 'connecting' } },
    },
    closed: {
      type: 'final',
      entry: 'closeClient',
    },
  },
});
