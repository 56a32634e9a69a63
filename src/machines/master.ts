import { assign, fromPromise, setup } from 'xstate';

/**
 * The master: connects to NATS, asks to lead (at once with a single master, through an election
 * with master HA), takes charge of every configured server, and stops them.
 *
 * States, as an operator would say them:
 * - `connecting`: reaching NATS (starting the embedded broker first when none is configured).
 * - `electing`: connected, waiting to hear whether it leads. A single master is elected at once.
 *   Also where a master waits after losing leadership, while the election runs again.
 * - `standby`: another master leads; this one waits, hot, to be elected (master HA).
 * - `leading`: in charge. Inside it, `adopting` (learning which servers run, adopting them as they
 *   are, starting the missing ones) until every configured server is connected (Pomelo's
 *   `afterStartAll`), then `running`.
 * - `suspended`: was leading, but the election's store is unreachable while its session may still
 *   be alive: it issues no command, spawns and kills nothing; servers keep serving. Back to
 *   `leading` (adopting afresh) when the connection returns in time, else to `electing`.
 * - `stopping`: stopping the servers it is in charge of (frontends first), then its connections.
 * - `stopped`: done; the process may exit 0.
 * - `failed`: could not connect; the process should exit non-zero.
 *
 * Leaving `leading` for `suspended` or `electing` runs `release`: the runtime stops supervising
 * (without touching the processes), so two masters never both act. The machine reads no clock:
 * `ELECTED` carries the time and the term's epoch. Effects are injected: the `connect`,
 * `adoptServers` and `stopServers` promise actors, the `campaign` action (once connected: join the
 * election, whose outcome comes back as `ELECTED`, `STANDBY`, `SUSPENDED`, `RESUMED` and
 * `LEADERSHIP_LOST`), `release` and `announceAllStarted`.
 */

export interface MasterInput {
  masterId: string;
}

export interface MasterContext extends MasterInput {
  error: string | undefined;
  /** Epoch ms at which this master last became the leader. */
  leadingSince: number | undefined;
  /** The fencing epoch of its current (or last) term; servers obey no lower one. */
  epoch: number | undefined;
  /** Why it is suspended, or last lost leadership. */
  reason: string | undefined;
}

export type MasterEvent =
  /** This master leads, since `at` (epoch ms), in the term `epoch`. */
  | { type: 'ELECTED'; at: number; epoch: number }
  /** Another master leads; this one waits. */
  | { type: 'STANDBY' }
  /** The election's store is unreachable; leadership may still be held. */
  | { type: 'SUSPENDED'; reason: string }
  /** The store is back within the session: still the leader of the same term. */
  | { type: 'RESUMED' }
  | { type: 'LEADERSHIP_LOST'; reason: string }
  | { type: 'ALL_STARTED' }
  | { type: 'STOP' };

const notProvided = fromPromise<void, MasterContext>(async () => {
  throw new Error('master effect not provided');
});

export const masterMachine = setup({
  types: {
    context: {} as MasterContext,
    events: {} as MasterEvent,
    input: {} as MasterInput,
  },
  actors: {
    connect: notProvided,
    adoptServers: notProvided,
    stopServers: notProvided,
  },
  actions: {
    campaign: () => {},
    release: () => {},
    announceAllStarted: () => {},
    recordError: assign(({ event }) => {
      const error = (event as { error?: unknown }).error;
      return { error: error instanceof Error ? error.message : String(error) };
    }),
    recordLeading: assign(({ context, event }) =>
      event.type === 'ELECTED' ? { leadingSince: event.at, epoch: event.epoch, reason: undefined } : { leadingSince: context.leadingSince },
    ),
    recordReason: assign(({ context, event }) => ({ reason: 'reason' in event ? event.reason : context.reason })),
  },
}).createMachine({
  id: 'master',
  context: ({ input }) => ({ ...input, error: undefined, leadingSince: undefined, epoch: undefined, reason: undefined }),
  initial: 'connecting',
  on: {
    STOP: { target: '.stopping' },
  },
  states: {
    connecting: {
      invoke: {
        src: 'connect',
        input: ({ context }) => context,
        // One campaign for the master's whole life: the election itself reports each change.
        onDone: { target: 'electing', actions: 'campaign' },
        onError: { target: 'failed', actions: 'recordError' },
      },
    },
    electing: {
      on: {
        ELECTED: { target: 'leading', actions: 'recordLeading' },
        STANDBY: { target: 'standby' },
      },
    },
    standby: {
      on: {
        ELECTED: { target: 'leading', actions: 'recordLeading' },
        LEADERSHIP_LOST: { target: 'electing', actions: 'recordReason' },
      },
    },
    leading: {
      initial: 'adopting',
      on: {
        SUSPENDED: { target: 'suspended', actions: ['recordReason', 'release'] },
        LEADERSHIP_LOST: { target: 'electing', actions: ['recordReason', 'release'] },
      },
      states: {
        adopting: {
          invoke: {
            src: 'adoptServers',
            input: ({ context }) => context,
            onError: { actions: 'recordError' },
          },
          on: { ALL_STARTED: { target: 'running', actions: 'announceAllStarted' } },
        },
        running: {},
      },
    },
    suspended: {
      on: {
        RESUMED: { target: 'leading' },
        LEADERSHIP_LOST: { target: 'electing', actions: 'recordReason' },
      },
    },
    stopping: {
      // Once stopping, a second STOP changes nothing.
      on: { STOP: {} },
      invoke: {
        src: 'stopServers',
        input: ({ context }) => context,
        onDone: { target: 'stopped' },
        onError: { target: 'stopped', actions: 'recordError' },
      },
    },
    stopped: { type: 'final' },
    failed: { type: 'final' },
  },
});
