import { systemClock, type Clock } from '../../clock.ts';

/** The time source and timers a {@link TimerWheel} runs on: Node's by default, a simulated one in tests. */
export type WheelClock = Pick<Clock, 'now' | 'setTimeout' | 'clearTimeout'>;

/** The longest delay Node's timers take. */
const MAX_TIMER_MS = 0x7fffffff;

/** Something waiting on a wheel: the wheel keeps the tick it waits for on it, and calls `expire` then. */
export interface WheelEntry {
  /** @internal The wheel's: the tick this entry waits for, undefined when it waits for none. */
  wheelTick: number | undefined;
  expire(): void;
}

/**
 * Many timeouts on one timer. Each entry waits for a tick (time rounded up to `resolution` ms);
 * the wheel keeps one array of entries per tick and a single clock timer, set for the earliest
 * tick. A Node timeout costs a `Timeout` object plus the closure it calls, about 250 bytes; an
 * entry here costs one array slot, which matters when every client connection has a timer.
 *
 * Cancelling only forgets the entry's tick: its slot stays in the tick's array and is skipped when
 * the tick comes. When no entry waits any more, the clock timer is cleared and the arrays dropped,
 * so an idle wheel keeps no timer (and no process alive). A delay fires between `ms` and
 * `ms + resolution` later, never earlier, and never in the turn that scheduled it.
 */
export class TimerWheel {
  private readonly epoch: number;
  private readonly buckets = new Map<number, WheelEntry[]>();
  /** The ticks that have a bucket, ascending. */
  private readonly ticks: number[] = [];
  /** Entries waiting for a tick. */
  private waiting = 0;
  private armedTick: number | undefined;
  private handle: unknown;

  constructor(
    /** Monotonic by default, like Node's own timers: setting the system clock back or forth moves no timeout. */
    readonly clock: WheelClock = systemClock,
    readonly resolution = 100,
  ) {
    if (!(resolution >= 1)) throw new RangeError(`timer wheel resolution must be at least 1 ms (got ${resolution})`);
    // Ticks count from here, so that they stay small integers.
    this.epoch = clock.now();
  }

  /** Number of entries waiting. */
  get size(): number {
    return this.waiting;
  }

  /** `entry.expire()` in `ms` milliseconds (rounded up to the resolution); replaces what it waited for. */
  schedule(entry: WheelEntry, ms: number): void {
    const elapsed = this.clock.now() - this.epoch;
    const tick = Math.max(Math.floor(elapsed / this.resolution) + 1, Math.ceil((elapsed + Math.max(0, ms)) / this.resolution));
    if (entry.wheelTick === tick) return;
    if (entry.wheelTick === undefined) this.waiting++;
    entry.wheelTick = tick;
    const bucket = this.buckets.get(tick);
    if (bucket) {
      bucket.push(entry);
      return;
    }
    this.buckets.set(tick, [entry]);
    this.ticks.splice(this.insertionPoint(tick), 0, tick);
    this.arm();
  }

  /** The entry no longer waits. */
  cancel(entry: WheelEntry): void {
    if (entry.wheelTick === undefined) return;
    entry.wheelTick = undefined;
    if (--this.waiting === 0) this.clear();
  }

  private readonly fire = (): void => {
    this.armedTick = this.handle = undefined;
    const due = (this.clock.now() - this.epoch) / this.resolution;
    // An entry that throws must not strand the others: every due entry runs, the timer is set
    // again, and then the first error goes on to the caller (the process, as a timer's would).
    let failure: { error: unknown } | undefined;
    while (this.ticks.length > 0 && this.ticks[0]! <= due) {
      const tick = this.ticks.shift()!;
      const bucket = this.buckets.get(tick)!;
      this.buckets.delete(tick);
      for (const entry of bucket) {
        if (entry.wheelTick !== tick) continue;
        entry.wheelTick = undefined;
        this.waiting--;
        try {
          entry.expire();
        } catch (error) {
          failure ??= { error };
        }
      }
    }
    if (this.waiting === 0) this.clear();
    else this.arm();
    if (failure) throw failure.error;
  };

  /** The clock timer set for the earliest tick. */
  private arm(): void {
    const first = this.ticks[0];
    if (first === undefined || first === this.armedTick) return;
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.armedTick = first;
    // Node's timers take at most 2^31-1 ms (a longer one fires after 1 ms, and would wake the wheel
    // every ms); a tick further off is armed for that long, then re-armed when it fires.
    this.handle = this.clock.setTimeout(this.fire, Math.min(MAX_TIMER_MS, Math.max(0, this.epoch + first * this.resolution - this.clock.now())));
  }

  private clear(): void {
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.armedTick = this.handle = undefined;
    this.buckets.clear();
    this.ticks.length = 0;
  }

  /** Where `tick` goes in the ascending `ticks` (new ticks are nearly always the latest). */
  private insertionPoint(tick: number): number {
    let low = 0;
    let high = this.ticks.length;
    if (high === 0 || this.ticks[high - 1]! < tick) return high;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.ticks[middle]! < tick) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
