import { readFileSync } from 'node:fs';
import type { AnyActorRef, SnapshotFrom } from 'xstate';
import { stateName } from '../../machines/state-name.ts';

/** Calls `onChange` with the dotted state name (`leading.running`) each time it changes; context-only updates do not. */
export function watchState<A extends AnyActorRef>(actor: A, onChange: (state: string, snapshot: SnapshotFrom<A>) => void): { unsubscribe(): void } {
  let last: string | undefined;
  const check = (snapshot: SnapshotFrom<A>): void => {
    const state = stateName((snapshot as { value: Parameters<typeof stateName>[0] }).value);
    if (state === last) return;
    last = state;
    onChange(state, snapshot);
  };
  return actor.subscribe((snapshot: SnapshotFrom<A>) => check(snapshot));
}

/** Resolves once the actor has reached a final state. */
export function whenDone(actor: AnyActorRef): Promise<void> {
  return new Promise((resolve) => {
    const done = (): boolean => (actor.getSnapshot() as { status: string }).status === 'done';
    if (done()) return resolve();
    const subscription = actor.subscribe(() => {
      if (!done()) return;
      subscription.unsubscribe();
      resolve();
    });
  });
}

/** SIGTERM and SIGINT ask for a graceful stop; returns the function that removes the handlers. */
export function stopOnSignals(stop: () => void): () => void {
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return () => {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
  };
}

/**
 * Whether a process exists (and is ours to signal, or at least visible) and has not ended: a
 * zombie (ended, not yet reaped by its parent, e.g. a child of a master that is paused) counts
 * as ended, where /proc tells.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // `pid (comm) S …`: the state follows the last ')' (comm may itself hold parentheses).
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}
