import { assign, setup } from 'xstate';

/**
 * One client connection on a frontend, from its first byte to its close.
 *
 * States, as a developer would say them:
 * - `handshaking.waiting`: connected; nothing but a handshake package is acceptable.
 * - `handshaking.verifying`: the handshake arrived; the connector checks it (client version,
 *   the app's own handshake function) and answers `ACCEPTED` or `REJECTED`.
 * - `handshaking.acking`: the handshake answer was sent; waiting for the client's ack.
 * - `working`: requests, notifies and heartbeats flow. On entry the server sends the first
 *   heartbeat (Pomelo's clients only ever answer the server's). Any package counts as a sign of
 *   life; after `idleTimeout` ms of silence the session closes (Pomelo: about twice the
 *   heartbeat). The connection keeps the time of the last package (`port.silentFor()`), so a
 *   busy client costs no timer work: the one idle timer, when it fires, either closes the
 *   session or re-arms itself for the time left.
 * - `closing`: the link is being closed (after a kick, a timeout, bad input or a server stop);
 *   forced shut after `closeTimeout` ms if the peer does not finish the close.
 * - `closed`: final. The reason is in the context.
 *
 * The whole handshake is bounded by `handshakeTimeout`. Anything out of order (data before the
 * handshake, a second handshake, an unknown package) closes the session, never the server.
 *
 * Effects go through the `port` given as input, so the machine itself does no I/O and a test can
 * drive it with a recording port and a simulated clock.
 */

/** What a session machine asks of its connection. */
export interface SessionPort {
  /** A handshake package arrived: check it, then send the machine `ACCEPTED` or `REJECTED`. */
  verifyHandshake(body: Uint8Array): void;
  /** Send the handshake answer the connector prepared (code 200, or 500/501 before closing). */
  sendHandshake(body: Uint8Array): void;
  /** Answer a client's heartbeat. */
  answerHeartbeat(): void;
  /** The handshake is complete: send the first heartbeat, if heartbeats are on. */
  startHeartbeat(): void;
  /** ms since the client's last package. */
  silentFor(): number;
  /** Handle one data package (a request or notify) from a working client. */
  dispatch(body: Uint8Array): void;
  /** Send a kick package with this reason. */
  sendKick(reason: string): void;
  /** Start closing the link politely. */
  close(): void;
  /** Tear the link down now (the peer did not finish closing in time). */
  destroy(): void;
  /** The session is over; release what it held. */
  ended(reason: string): void;
}

export interface SessionInput {
  port: SessionPort;
  /** ms of silence after which a working session is closed; 0 = never. */
  idleTimeout: number;
  /** ms a client has from connecting to acknowledging the handshake. */
  handshakeTimeout: number;
  /** ms a closing link may take before it is destroyed. */
  closeTimeout: number;
}

export interface SessionContext extends SessionInput {
  /** Why the session closed (or is closing); empty while it is open. */
  reason: string;
}

export type SessionEvent =
  | { type: 'HANDSHAKE'; body: Uint8Array }
  | { type: 'ACCEPTED'; response: Uint8Array }
  | { type: 'REJECTED'; response: Uint8Array; reason: string }
  | { type: 'HANDSHAKE_ACK' }
  | { type: 'HEARTBEAT' }
  | { type: 'DATA'; body: Uint8Array }
  /** Bad bytes or an unknown package type: close this client. */
  | { type: 'INVALID'; reason: string }
  | { type: 'KICK'; reason: string }
  /** The server is stopping: close without a kick, so the client may reconnect elsewhere. */
  | { type: 'SHUTDOWN' }
  /** The link is gone (peer closed, network error, or our own close finished). */
  | { type: 'LINK_CLOSED'; reason?: string };

export const sessionMachine = setup({
  types: {
    context: {} as SessionContext,
    events: {} as SessionEvent,
    input: {} as SessionInput,
  },
  actions: {
    verify: ({ context, event }) => context.port.verifyHandshake((event as { body: Uint8Array }).body),
    sendHandshake: ({ context, event }) => context.port.sendHandshake((event as { response: Uint8Array }).response),
    answerHeartbeat: ({ context }) => context.port.answerHeartbeat(),
    startHeartbeat: ({ context }) => context.port.startHeartbeat(),
    dispatch: ({ context, event }) => context.port.dispatch((event as { body: Uint8Array }).body),
    sendKick: ({ context, event }) => context.port.sendKick((event as { reason: string }).reason),
    close: ({ context }) => context.port.close(),
    destroy: ({ context }) => context.port.destroy(),
    ended: ({ context }) => context.port.ended(context.reason),
    /** Records why the session ends; the first reason given wins. */
    because: assign({ reason: ({ context }, params: { reason: string }) => context.reason || params.reason }),
    eventReason: assign({
      reason: ({ context, event }) => context.reason || ((event as { reason?: string }).reason ?? 'closed'),
    }),
  },
  guards: {
    silentTooLong: ({ context }) => context.idleTimeout > 0 && context.port.silentFor() >= context.idleTimeout,
  },
  delays: {
    handshakeTimeout: ({ context }) => context.handshakeTimeout,
    // The time left until `idleTimeout` ms of silence; with no idle timeout, the longest timer there is.
    idleLeft: ({ context }) => (context.idleTimeout > 0 ? Math.max(1, context.idleTimeout - context.port.silentFor()) : 0x7fffffff),
    closeTimeout: ({ context }) => context.closeTimeout,
  },
}).createMachine({
  id: 'session',
  context: ({ input }) => ({ ...input, reason: '' }),
  initial: 'handshaking',
  on: {
    LINK_CLOSED: { target: '.closed', actions: 'eventReason' },
  },
  states: {
    handshaking: {
      initial: 'waiting',
      after: { handshakeTimeout: { target: 'closing', actions: { type: 'because', params: { reason: 'handshake timeout' } } } },
      on: {
        // Everything not listed in the current sub-state is out of order.
        HANDSHAKE_ACK: { target: 'closing', actions: { type: 'because', params: { reason: 'handshake ack before handshake' } } },
        HEARTBEAT: { target: 'closing', actions: { type: 'because', params: { reason: 'heartbeat before handshake' } } },
        DATA: { target: 'closing', actions: { type: 'because', params: { reason: 'data before handshake' } } },
        KICK: { target: 'closing', actions: ['sendKick', 'eventReason'] },
        INVALID: { target: 'closing', actions: 'eventReason' },
        SHUTDOWN: { target: 'closing', actions: { type: 'because', params: { reason: 'server stopping' } } },
      },
      states: {
        waiting: {
          on: { HANDSHAKE: { target: 'verifying', actions: 'verify' } },
        },
        verifying: {
          on: {
            HANDSHAKE: { target: '#session.closing', actions: { type: 'because', params: { reason: 'second handshake' } } },
            ACCEPTED: { target: 'acking', actions: 'sendHandshake' },
            REJECTED: { target: '#session.closing', actions: ['sendHandshake', 'eventReason'] },
          },
        },
        acking: {
          on: {
            HANDSHAKE: { target: '#session.closing', actions: { type: 'because', params: { reason: 'second handshake' } } },
            HANDSHAKE_ACK: { target: '#session.working', actions: 'startHeartbeat' },
          },
        },
      },
    },
    working: {
      after: {
        idleLeft: [
          { guard: 'silentTooLong', target: 'closing', actions: { type: 'because', params: { reason: 'heartbeat timeout' } } },
          // Heard from since the timer was set: wait for the rest of the timeout.
          { target: 'working', reenter: true },
        ],
      },
      on: {
        HEARTBEAT: { actions: 'answerHeartbeat' },
        DATA: { actions: 'dispatch' },
        HANDSHAKE: { target: 'closing', actions: { type: 'because', params: { reason: 'second handshake' } } },
        HANDSHAKE_ACK: { target: 'closing', actions: { type: 'because', params: { reason: 'second handshake ack' } } },
        KICK: { target: 'closing', actions: ['sendKick', 'eventReason'] },
        INVALID: { target: 'closing', actions: 'eventReason' },
        SHUTDOWN: { target: 'closing', actions: { type: 'because', params: { reason: 'server stopping' } } },
      },
    },
    closing: {
      entry: 'close',
      after: { closeTimeout: { target: 'closed', actions: 'destroy' } },
      // Already leaving: a late kick, bad bytes or a stop change nothing.
      on: { LINK_CLOSED: { target: 'closed' } },
    },
    closed: {
      type: 'final',
      entry: 'ended',
    },
  },
});
