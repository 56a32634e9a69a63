import { assign, fromPromise, setup } from 'xstate';

/**
 * A server process's view of itself, from `node app.ts` to `exit`.
 *
 * States, as a developer would say them:
 * - `booting`: connecting to NATS.
 * - `starting`: loading handlers and remotes, subscribing, registering with the cluster.
 * - `running`: serving RPC (and, on frontends, clients); heartbeating.
 * - `draining`: no new work is accepted; in-flight work finishes, bounded by `drainTimeout`.
 * - `stopping`: `beforeStop` hooks run, then components stop in reverse start order.
 * - `stopped`: everything is closed; the process may exit with code 0.
 * - `failing`: booting or starting threw; closing what was opened.
 * - `failed`: closed after a failure; the process should exit non-zero.
 *
 * A stop asked for while booting or starting waits until that step settles, then stops:
 * half-opened connections are closed by the same `stopping` path as everything else.
 *
 * Effects are injected as promise actors: `boot`, `start`, `drain`, `runStopHooks`, `stopComponents`.
 */

export interface LifecycleInput {
  serverId: string;
  /** ms in-flight work may take to finish once draining starts. */
  drainTimeout: number;
}

export interface LifecycleContext extends LifecycleInput {
  /** A stop was asked for before `running`; honour it as soon as the current step settles. */
  stopRequested: boolean;
  error: string | undefined;
}

export type LifecycleEvent = { type: 'STOP' };

const notProvided = fromPromise<void, LifecycleInput>(async () => {
  throw new Error('lifecycle effect not provided');
});

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export const lifecycleMachine = setup({
  types: {
    context: {} as LifecycleContext,
    events: {} as LifecycleEvent,
    input: {} as LifecycleInput,
  },
  actors: {
    boot: notProvided,
    start: notProvided,
    drain: notProvided,
    runStopHooks: notProvided,
    stopComponents: notProvided,
  },
  actions: {
    rememberStop: assign({ stopRequested: true }),
    recordError: assign(({ event }) => ({ error: describe((event as { error?: unknown }).error) })),
  },
  guards: {
    stopRequested: ({ context }) => context.stopRequested,
  },
  delays: {
    drainTimeout: ({ context }) => context.drainTimeout,
  },
}).createMachine({
  id: 'lifecycle',
  context: ({ input }) => ({ ...input, stopRequested: false, error: undefined }),
  initial: 'booting',
  states: {
    booting: {
      on: { STOP: { actions: 'rememberStop' } },
      invoke: {
        src: 'boot',
        input: ({ context }) => context,
        onDone: [{ guard: 'stopRequested', target: 'stopping' }, { target: 'starting' }],
        onError: { target: 'failing', actions: 'recordError' },
      },
    },
    starting: {
      on: { STOP: { actions: 'rememberStop' } },
      invoke: {
        src: 'start',
        input: ({ context }) => context,
        onDone: [{ guard: 'stopRequested', target: 'stopping' }, { target: 'running' }],
        onError: { target: 'failing', actions: 'recordError' },
      },
    },
    running: {
      on: { STOP: { target: 'draining' } },
    },
    draining: {
      invoke: {
        src: 'drain',
        input: ({ context }) => context,
        onDone: { target: 'stopping' },
        onError: { target: 'stopping', actions: 'recordError' },
      },
      after: { drainTimeout: { target: 'stopping' } },
    },
    stopping: {
      initial: 'hooks',
      states: {
        hooks: {
          invoke: {
            src: 'runStopHooks',
            input: ({ context }) => context,
            // A failing hook is the hook's problem: the stop goes on.
            onDone: { target: 'components' },
            onError: { target: 'components', actions: 'recordError' },
          },
        },
        components: {
          invoke: {
            src: 'stopComponents',
            input: ({ context }) => context,
            onDone: { target: 'done' },
            onError: { target: 'done', actions: 'recordError' },
          },
        },
        done: { type: 'final' },
      },
      onDone: { target: 'stopped' },
    },
    stopped: { type: 'final' },
    failing: {
      // Close whatever booting or starting had opened, then end as failed.
      invoke: {
        src: 'stopComponents',
        input: ({ context }) => context,
        onDone: { target: 'failed' },
        onError: { target: 'failed' },
      },
    },
    failed: { type: 'final' },
  },
});
