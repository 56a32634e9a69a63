import type { StateValue } from 'xstate';

/**
 * What a {@link MachineRunner} (sessions: thousands of them, no actor each) tells the process's
 * inspector about one step. The inspector (src/actors/inspect) installs itself here; the runner
 * knows nothing else of it.
 */
export interface RunnerProbe {
  /** A runner of `machine` took `event` from `before` to `after` (`before` undefined: it was just created). */
  stepped(machine: string, actor: string | number | undefined, before: StateValue | undefined, after: StateValue, event: string): void;
}

/**
 * The process's one switch for runner inspection. `watching` is true only while a watcher holds a
 * lease: with nobody watching, a runner's step costs one property read and nothing more.
 */
export const runnerInspection: { watching: boolean; probe: RunnerProbe | undefined } = { watching: false, probe: undefined };
