import { assign, setup } from 'xstate';

/**
 * The restart policy of one server, interpreted as a machine: whether the server is restarted
 * when its process goes down, after how long, and when to give up. The policy is data (the
 * server's child spec: its `restart` type, or Pomelo's `auto-restart`, and master.json's `restart`
 * with the server's own overrides); this machine is the only place it is read.
 *
 * States, as an operator would say them:
 * - `watching.starting`: the server is (re)starting; nothing to do until it is up or down.
 * - `watching.up`: the server is connected. After `resetAfter` of stable running the backoff
 *   starts again from `initialDelay`.
 * - `killingHung`: the server stopped heartbeating but did not exit; it is being killed so that
 *   it can be restarted.
 * - `backingOff`: the server went down; it is restarted after the backoff delay.
 * - `left`: the server went down and its restart type says to leave it down (`temporary`, or
 *   `transient` after a clean exit); it stays down until started by hand.
 * - `failed`: the server went down too often (more than `maxRestarts` restarts in `period`); it is
 *   not restarted again until started by hand. `reason` says why.
 * - `stopped`: stopped on purpose; nothing is restarted. A pending restart is cancelled.
 *
 * Effects are injected: `restart` (start the server's process again) and `kill` (kill a hung
 * process through its server machine: SIGTERM, then SIGKILL). Time comes from the actor's clock,
 * so the schedule is testable with a simulated clock.
 */

/**
 * OTP's restart types: `permanent` is always restarted (Pomelo's `auto-restart: true`),
 * `transient` only when it ends abnormally (a crash, a non-zero exit, a kill because it hung),
 * `temporary` never.
 */
export type RestartType = 'permanent' | 'transient' | 'temporary';

export interface SupervisorPolicy {
  restart: RestartType;
  /** ms before the first restart after a stable run. */
  initialDelay: number;
  /** Each consecutive restart waits this many times longer. */
  factor: number;
  /** ms the backoff never exceeds. */
  maxDelay: number;
  /** ms of stable running after which the backoff starts again from `initialDelay`. */
  resetAfter: number;
  /** At most this many restarts... */
  maxRestarts: number;
  /** ...within this many ms; one more and the server is `failed`. */
  period: number;
}

export interface SupervisorInput {
  serverId: string;
  policy: SupervisorPolicy;
  /** Restarts already done under earlier masters (an adopted server announces them); default 0. */
  restartsBefore?: number;
}

export interface SupervisorContext extends SupervisorInput {
  /** Consecutive restarts since the last stable run: the backoff exponent. */
  attempt: number;
  /** Epoch ms (from the actor's clock) of recent restarts, for the intensity limit. */
  recent: number[];
  /** Restarts done since the supervisor was created (shown by `list`); a cancelled one does not count. */
  restarts: number;
  /** Delay of the pending or last restart, ms. */
  delay: number;
  /** Why the server is `failed` or `left`. */
  reason: string | undefined;
}

export type SupervisorEvent =
  /** The server connected (first heartbeat of its process). */
  | { type: 'UP'; at: number }
  /** The server's process ended, for any reason other than a stop on purpose. */
  | { type: 'DOWN'; at: number; why: string; /** It exited on its own with code 0. */ clean?: boolean }
  /** The server stopped heartbeating (its process may be hung). */
  | { type: 'UNREACHABLE'; at: number }
  /** Stopped on purpose (`shaddock stop`, `kill`): never restart. */
  | { type: 'STOP' }
  /** Started (again) by hand: supervise afresh. */
  | { type: 'START' };

/** The backoff delay of restart number `attempt` (0-based) under `policy`. */
export function backoffDelay(policy: SupervisorPolicy, attempt: number): number {
  return Math.min(policy.maxDelay, Math.round(policy.initialDelay * policy.factor ** attempt));
}

export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent,
    input: {} as SupervisorInput,
  },
  actions: {
    // Injected by the runtime (src/actors/master/supervised-server.ts).
    restart: () => {},
    kill: () => {},
    scheduleRestart: assign(({ context, event }) => {
      const at = (event as { at: number }).at;
      const recent = [...context.recent.filter((t) => at - t < context.policy.period), at];
      return { recent, delay: backoffDelay(context.policy, context.attempt), attempt: context.attempt + 1 };
    }),
    countRestart: assign(({ context }) => ({ restarts: context.restarts + 1 })),
    giveUp: assign(({ context, event }) => ({
      reason: `restarted ${context.policy.maxRestarts} times within ${context.policy.period / 1000} s; last down: ${(event as { why?: string }).why ?? 'unknown'}`,
    })),
    leaveDown: assign(({ context, event }) => ({
      reason: `${context.policy.restart === 'transient' ? 'transient, ended cleanly' : 'not auto-restarted'}; down: ${(event as { why?: string }).why ?? 'unknown'}`,
    })),
    resetBackoff: assign({ attempt: 0 }),
    startAfresh: assign({ attempt: 0, recent: [] as number[], reason: undefined }),
  },
  guards: {
    /** A silent server may be killed to be restarted: it would be restarted after that abnormal end. */
    restartsHung: ({ context }) => context.policy.restart !== 'temporary',
    /** This end leaves the server down. */
    leftDown: ({ context, event }) =>
      context.policy.restart === 'temporary' || (context.policy.restart === 'transient' && (event as { clean?: boolean }).clean === true),
    /** One more restart would exceed the intensity limit. */
    tooMany: ({ context, event }) => {
      const at = (event as { at: number }).at;
      return context.recent.filter((t) => at - t < context.policy.period).length >= context.policy.maxRestarts;
    },
  },
  delays: {
    backoff: ({ context }) => context.delay,
    resetAfter: ({ context }) => context.policy.resetAfter,
  },
}).createMachine({
  id: 'supervisor',
  context: ({ input }) => ({ ...input, attempt: 0, recent: [], restarts: input.restartsBefore ?? 0, delay: 0, reason: undefined }),
  initial: 'watching',
  on: {
    STOP: { target: '.stopped' },
    START: { target: '.watching', actions: 'startAfresh' },
  },
  states: {
    watching: {
      initial: 'starting',
      on: {
        // Silent (hung, or never registered): kill it so it can be restarted.
        UNREACHABLE: { guard: 'restartsHung', target: 'killingHung' },
        DOWN: [
          { guard: 'leftDown', target: 'left', actions: 'leaveDown' },
          { guard: 'tooMany', target: 'failed', actions: 'giveUp' },
          { target: 'backingOff', actions: 'scheduleRestart' },
        ],
      },
      states: {
        starting: {
          on: { UP: { target: 'up' } },
        },
        up: {
          after: { resetAfter: { actions: 'resetBackoff' } },
        },
      },
    },
    killingHung: {
      entry: 'kill',
      on: {
        DOWN: [
          { guard: 'tooMany', target: 'failed', actions: 'giveUp' },
          { target: 'backingOff', actions: 'scheduleRestart' },
        ],
        // It came back before the kill landed: keep watching.
        UP: { target: 'watching.up' },
      },
    },
    backingOff: {
      after: { backoff: { target: 'watching', actions: ['countRestart', 'restart'] } },
    },
    // Up again (started by hand, or adopted): supervise afresh.
    left: { on: { UP: { target: 'watching.up', actions: 'startAfresh' } } },
    failed: { on: { UP: { target: 'watching.up', actions: 'startAfresh' } } },
    stopped: {},
  },
});
