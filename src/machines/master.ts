import { assign, fromPromise, setup } from 'xstate';

/**
 * The master: connects to NATS, asks to lead (at once with a single master, through an election
 * with master HA), starts and watches every configured server, and stops them.
 *
 * States, as an operator would say them:
 * - `connecting`: reaching NATS (starting the embedded broker first when none is configured).
 * - `electing`: connected, waiting to hear whether it leads. A single master is elected at once.
 * - `standby`: another master leads; this one waits, hot, to be elected (master HA).
 * - `leading`: in charge. Inside it, `startingServers` until every configured server has
 *   connected once (Pomelo's `afterStartAll`), then `running`.
 * - `stopping`: stopping every server (frontends first), then closing its own connections.
 * - `stopped`: done; the process may exit 0.
 * - `failed`: could not connect; the process should exit non-zero.
 *
 * A leader that loses its leadership (e.g. its ZooKeeper session) steps down to `standby` at once.
 * The machine reads no clock: `ELECTED` carries the time. Effects are injected: the `connect`,
 * `startServers` and `stopServers` promise actors, the `campaign` action (entering `electing`: join
 * the election, whose outcome comes back as `ELECTED`, `STANDBY` and `LEADERSHIP_LOST`) and the
 * `announceAllStarted` action.
 */

export interface MasterInput {
  masterId: string;
}

export interface MasterContext extends MasterInput {
  error: string | undefined;
  /** Epoch ms at which this master last became the leader. */
  leadingSince: number | undefined;
}

export type MasterEvent =
  /** This master leads, since `at` (epoch ms). */
  | { type: 'ELECTED'; at: number }
  /** Another master leads; this one waits. */
  | { type: 'STANDBY' }
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
    startServers: notProvided,
    stopServers: notProvided,
  },
  actions: {
    campaign: () => {},
    announceAllStarted: () => {},
    recordError: assign(({ event }) => {
      const error = (event as { error?: unknown }).error;
      return { error: error instanceof Error ? error.message : String(error) };
    }),
    recordLeading: assign(({ context, event }) => ({ leadingSince: event.type === 'ELECTED' ? event.at : context.leadingSince })),
  },
}).createMachine({
  id: 'master',
  context: ({ input }) => ({ ...input, error: undefined, leadingSince: undefined }),
  initial: 'connecting',
  on: {
    STOP: { target: '.stopping' },
  },
  states: {
    connecting: {
      invoke: {
        src: 'connect',
        input: ({ context }) => context,
        onDone: { target: 'electing' },
        onError: { target: 'failed', actions: 'recordError' },
      },
    },
    electing: {
      entry: 'campaign',
      on: {
        ELECTED: { target: 'leading', actions: 'recordLeading' },
        STANDBY: { target: 'standby' },
      },
    },
    standby: {
      on: { ELECTED: { target: 'leading', actions: 'recordLeading' } },
    },
    leading: {
      initial: 'startingServers',
      on: { LEADERSHIP_LOST: { target: 'standby' } },
      states: {
        startingServers: {
          invoke: {
            src: 'startServers',
            input: ({ context }) => context,
            onError: { actions: 'recordError' },
          },
          on: { ALL_STARTED: { target: 'running', actions: 'announceAllStarted' } },
        },
        running: {},
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
