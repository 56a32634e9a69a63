import { assign, fromPromise, setup } from 'xstate';

/**
 * The master: connects to NATS, becomes the leader (at once without master HA, through a
 * ZooKeeper election with it), starts and watches every configured server, and stops them.
 *
 * States, as an operator would say them:
 * - `connecting`: reaching NATS (starting the embedded broker first when none is configured).
 * - `standby`: a hot standby waiting to be elected (master HA only).
 * - `leading`: in charge. Inside it, `startingServers` until every configured server has
 *   connected once (Pomelo's `afterStartAll`), then `running`.
 * - `stopping`: stopping every server (frontends first), then closing its own connections.
 * - `stopped`: done; the process may exit 0.
 * - `failed`: could not connect; the process should exit non-zero.
 *
 * A leader that loses its election (e.g. its ZooKeeper session) steps down to `standby` at once.
 * Effects are injected: the `connect`, `startServers` and `stopServers` promise actors and the
 * `announceAllStarted` action.
 */

export interface MasterInput {
  masterId: string;
  /** Whether master HA (a ZooKeeper election) decides who leads. */
  ha: boolean;
}

export interface MasterContext extends MasterInput {
  error: string | undefined;
  /** Epoch ms at which this master last became the leader. */
  leadingSince: number | undefined;
}

export type MasterEvent =
  | { type: 'ELECTED'; at: number }
  | { type: 'LEADERSHIP_LOST' }
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
    announceAllStarted: () => {},
    recordError: assign(({ event }) => {
      const error = (event as { error?: unknown }).error;
      return { error: error instanceof Error ? error.message : String(error) };
    }),
    recordLeading: assign(({ event }) => ({ leadingSince: event.type === 'ELECTED' ? event.at : Date.now() })),
  },
  guards: {
    ha: ({ context }) => context.ha,
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
        onDone: [{ guard: 'ha', target: 'standby' }, { target: 'leading', actions: 'recordLeading' }],
        onError: { target: 'failed', actions: 'recordError' },
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
