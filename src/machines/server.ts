import { assign, setup } from 'xstate';

/**
 * The leading master's view of one configured server: is its process up, has it registered,
 * is it still heartbeating, is it being stopped.
 *
 * States, as an operator would say them:
 * - `pending`: configured, no process yet.
 * - `starting`: a process was spawned; waiting for its first heartbeat.
 * - `connected`: registered and heartbeating on time.
 * - `unreachable`: the process did not register in time, or its heartbeats stopped.
 * - `stopping`: asked to stop gracefully; killed if it has not exited after `stopTimeout`.
 * - `killing`: killed on purpose; waiting for the exit.
 * - `stopped`: stopped on purpose.
 * - `exited`: the process ended on its own with code 0.
 * - `crashed`: the process ended on its own with a non-zero code or a signal.
 *
 * A heartbeat from a server that is down (started by hand with `shaddock start -i`, or still
 * running from before this master) adopts it: `connected`, with the pid it announced.
 *
 * Effects are injected: `spawn` (start the process, then send `SPAWNED` or `SPAWN_FAILED`),
 * `requestStop` (ask the process to stop gracefully) and `kill` (SIGTERM it, then SIGKILL it if it
 * is still alive after a short grace).
 */

/** How a server process ended. */
export interface ExitInfo {
  /** The process that ended. */
  pid: number | undefined;
  code: number | null;
  signal: string | null;
  /** Epoch ms of the exit. */
  at: number;
}

export interface ServerTiming {
  /** ms a spawned process may take to send its first heartbeat. */
  startTimeout: number;
  /** ms of heartbeat silence after which the server is unreachable. */
  heartbeatTimeout: number;
  /** ms a graceful stop may take before the process is killed. */
  stopTimeout: number;
}

export interface ServerInput {
  id: string;
  serverType: string;
  timing: ServerTiming;
}

export interface ServerContext extends ServerInput {
  pid: number | undefined;
  restarts: number;
  /** Epoch ms the current process was spawned. */
  startedAt: number | undefined;
  /** Epoch ms of the first heartbeat of the current process. */
  connectedAt: number | undefined;
  lastExit: ExitInfo | undefined;
  /** Why the last spawn failed, if it did. */
  error: string | undefined;
}

export type ServerEvent =
  | { type: 'START'; at: number }
  | { type: 'SPAWNED'; pid: number }
  | { type: 'SPAWN_FAILED'; error: string }
  | { type: 'HEARTBEAT'; pid: number; at: number }
  | { type: 'EXITED'; code: number | null; signal: string | null; at: number }
  | { type: 'STOP' }
  | { type: 'KILL' }
  /**
   * A master taking over learns that the server's process, which it had heard from (pid `pid`),
   * ended while no master led: down, as if it had crashed, for its restart policy to decide.
   */
  | { type: 'GONE'; pid: number; at: number };

export const serverMachine = setup({
  types: {
    context: {} as ServerContext,
    events: {} as ServerEvent,
    input: {} as ServerInput,
  },
  actions: {
    // Injected by the runtime (src/actors/master/supervised-server.ts).
    spawn: () => {},
    requestStop: () => {},
    kill: () => {},
    recordStart: assign(({ event }) => {
      const at = event.type === 'START' ? event.at : undefined;
      return { startedAt: at, connectedAt: undefined, pid: undefined, error: undefined };
    }),
    recordPid: assign(({ event }) => (event.type === 'SPAWNED' ? { pid: event.pid } : {})),
    recordSpawnError: assign(({ event }) => (event.type === 'SPAWN_FAILED' ? { error: event.error } : {})),
    recordAdopted: assign(({ event }) =>
      event.type === 'HEARTBEAT' ? { pid: event.pid, startedAt: event.at, connectedAt: event.at, error: undefined } : {},
    ),
    recordConnected: assign(({ context, event }) =>
      event.type === 'HEARTBEAT'
        ? { pid: context.pid ?? event.pid, connectedAt: context.connectedAt ?? event.at }
        : {},
    ),
    recordGone: assign(({ event }) =>
      event.type === 'GONE' ? { lastExit: { pid: event.pid, code: null, signal: null, at: event.at }, pid: undefined, connectedAt: undefined } : {},
    ),
    recordExit: assign(({ context, event }) =>
      event.type === 'EXITED'
        ? { lastExit: { pid: context.pid, code: event.code, signal: event.signal, at: event.at }, pid: undefined, connectedAt: undefined }
        : {},
    ),
  },
  guards: {
    /** A heartbeat from a live process other than the one that just ended. */
    adoptable: ({ context, event }) => event.type === 'HEARTBEAT' && event.pid !== context.lastExit?.pid,
    cleanExit: ({ event }) => event.type === 'EXITED' && event.code === 0 && event.signal === null,
    /** A heartbeat from an older process of this server (e.g. one being replaced) must not count. */
    fromCurrentProcess: ({ context, event }) =>
      event.type === 'HEARTBEAT' && (context.pid === undefined || context.pid === event.pid),
  },
  delays: {
    startTimeout: ({ context }) => context.timing.startTimeout,
    heartbeatTimeout: ({ context }) => context.timing.heartbeatTimeout,
    stopTimeout: ({ context }) => context.timing.stopTimeout,
  },
}).createMachine({
  id: 'server',
  context: ({ input }) => ({
    ...input,
    pid: undefined,
    restarts: 0,
    startedAt: undefined,
    connectedAt: undefined,
    lastExit: undefined,
    error: undefined,
  }),
  initial: 'pending',
  states: {
    pending: {
      on: {
        START: { target: 'live' },
        STOP: { target: 'stopped' },
        KILL: { target: 'stopped' },
        HEARTBEAT: { guard: 'adoptable', target: '#server.live.connected', actions: 'recordAdopted' },
        GONE: { target: 'crashed', actions: 'recordGone' },
      },
    },
    live: {
      // The process may be alive in every sub-state, so stop, kill and exit apply to all of them.
      initial: 'starting',
      on: {
        STOP: { target: 'stopping' },
        KILL: { target: 'killing' },
        EXITED: [
          { guard: 'cleanExit', target: 'exited', actions: 'recordExit' },
          { target: 'crashed', actions: 'recordExit' },
        ],
      },
      states: {
        starting: {
          entry: ['recordStart', 'spawn'],
          on: {
            SPAWNED: { actions: 'recordPid' },
            SPAWN_FAILED: { target: '#server.crashed', actions: 'recordSpawnError' },
            HEARTBEAT: { guard: 'fromCurrentProcess', target: 'connected', actions: 'recordConnected' },
          },
          after: { startTimeout: { target: 'unreachable' } },
        },
        connected: {
          on: {
            // Re-entering restarts the heartbeat timer.
            HEARTBEAT: { guard: 'fromCurrentProcess', target: 'connected', reenter: true, actions: 'recordConnected' },
          },
          after: { heartbeatTimeout: { target: 'unreachable' } },
        },
        unreachable: {
          on: {
            HEARTBEAT: { guard: 'fromCurrentProcess', target: 'connected', actions: 'recordConnected' },
          },
        },
      },
    },
    stopping: {
      entry: 'requestStop',
      on: {
        EXITED: { target: 'stopped', actions: 'recordExit' },
      },
      after: { stopTimeout: { target: 'killing' } },
    },
    killing: {
      entry: 'kill',
      on: {
        EXITED: { target: 'stopped', actions: 'recordExit' },
      },
    },
    stopped: {
      on: { START: { target: 'live' }, HEARTBEAT: { guard: 'adoptable', target: '#server.live.connected', actions: 'recordAdopted' } },
    },
    exited: {
      on: { START: { target: 'live' }, STOP: { target: 'stopped' }, HEARTBEAT: { guard: 'adoptable', target: '#server.live.connected', actions: 'recordAdopted' } },
    },
    crashed: {
      on: { START: { target: 'live' }, STOP: { target: 'stopped' }, HEARTBEAT: { guard: 'adoptable', target: '#server.live.connected', actions: 'recordAdopted' } },
    },
  },
});
