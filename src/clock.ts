/**
 * The time a runtime part reads and the timers it sets, given to it rather than taken from the
 * globals, so that a test can run it on a {@link SimulatedClock} instead of waiting. Machines
 * never read time; the runtime puts it in their events.
 */
export interface Clock {
  /** Epoch ms: for what people read (start times, uptimes, exit times). */
  wall(): number;
  /** Monotonic ms: for what is measured (silence, deadlines); setting the system clock does not move it. */
  now(): number;
  /** A one-off timer. `unref`: it does not keep the process alive. xstate's actor clock fits this. */
  setTimeout(fn: () => void, ms: number, options?: TimerOptions): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(fn: () => void, ms: number, options?: TimerOptions): unknown;
  clearInterval(handle: unknown): void;
}

export interface TimerOptions {
  unref?: boolean;
}

/** Node's clocks and timers. */
export const systemClock: Clock = {
  wall: () => Date.now(),
  now: () => performance.now(),
  setTimeout: (fn, ms, options) => {
    const timer = setTimeout(fn, ms);
    if (options?.unref) timer.unref();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
  setInterval: (fn, ms, options) => {
    const timer = setInterval(fn, ms);
    if (options?.unref) timer.unref();
    return timer;
  },
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout | undefined),
};

interface SimulatedTimer {
  at: number;
  seq: number;
  fn: () => void;
  every: number | undefined;
}

/**
 * A clock that moves only when told: `advance(ms)` runs every timer that falls due, in order of
 * time (then of setting), intervals included. Wall time starts at `wallStart` and moves with it.
 *
 * @example
 * const clock = new SimulatedClock();
 * clock.setTimeout(() => console.log('fired'), 1000);
 * clock.advance(999); // nothing
 * clock.advance(1);   // fired
 */
export class SimulatedClock implements Clock {
  private current = 0;
  private seq = 0;
  private readonly timers = new Map<number, SimulatedTimer>();

  constructor(private readonly wallStart = 1_700_000_000_000) {}

  wall(): number {
    return this.wallStart + this.current;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): number {
    return this.add(fn, ms, undefined);
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  setInterval(fn: () => void, ms: number): number {
    return this.add(fn, ms, Math.max(1, ms));
  }

  clearInterval(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Timers waiting now. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, running each timer that falls due at its own time. */
  advance(ms: number): void {
    const end = this.current + ms;
    for (;;) {
      let next: [number, SimulatedTimer] | undefined;
      for (const entry of this.timers) {
        const timer = entry[1];
        if (timer.at > end) continue;
        if (!next || timer.at < next[1].at || (timer.at === next[1].at && timer.seq < next[1].seq)) next = entry;
      }
      if (!next) break;
      const [id, timer] = next;
      this.current = Math.max(this.current, timer.at);
      if (timer.every === undefined) this.timers.delete(id);
      else this.timers.set(id, { ...timer, at: timer.at + timer.every, seq: this.seq++ });
      timer.fn();
    }
    this.current = end;
  }

  private add(fn: () => void, ms: number, every: number | undefined): number {
    const id = ++this.seq;
    this.timers.set(id, { at: this.current + Math.max(0, ms), seq: id, fn, every });
    return id;
  }
}
