// The timer wheel that carries every session's timeouts, on a simulated clock.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SimulatedClock } from 'xstate';
import { TimerWheel, type WheelEntry } from '../src/actors/runtime/timer-wheel.ts';

/** A clock that also counts the timers set on it and those pending. */
function countingClock() {
  const clock = new SimulatedClock();
  let set = 0;
  const pending = new Set<number>();
  /** What timer callbacks threw (caught here: xstate's SimulatedClock stops flushing after a throw). */
  const thrown: unknown[] = [];
  return {
    clock: {
      now: () => clock.now(),
      setTimeout(fn: () => void, ms: number): number {
        set++;
        const id = clock.setTimeout(() => {
          pending.delete(id);
          try {
            fn();
          } catch (error) {
            thrown.push(error);
          }
        }, ms);
        pending.add(id);
        return id;
      },
      clearTimeout(id: unknown): void {
        pending.delete(id as number);
        clock.clearTimeout(id as number);
      },
    },
    advance: (ms: number) => clock.increment(ms),
    timersSet: () => set,
    timersPending: () => pending.size,
    thrown,
  };
}

function entry(log: string[], name: string, onExpire?: () => void): WheelEntry {
  return {
    wheelTick: undefined,
    expire() {
      log.push(`${name}@${this.wheelTick === undefined ? 'done' : 'still waiting'}`);
      onExpire?.();
    },
  };
}

describe('timer wheel', () => {
  test('a wait longer than Node\'s timer limit (2^31-1 ms) is armed in steps, and fires on time', () => {
    const c = countingClock();
    const delays: number[] = [];
    const clock = { ...c.clock, setTimeout: (fn: () => void, ms: number) => (delays.push(ms), c.clock.setTimeout(fn, ms)) };
    const wheel = new TimerWheel(clock, 100);
    const log: string[] = [];
    wheel.schedule(entry(log, 'far'), 0x7fffffff + 1_000);
    assert.ok(delays.every((ms) => ms <= 0x7fffffff), `armed for ${delays}`);
    c.advance(0x7fffffff);
    assert.deepEqual(log, []);
    c.advance(1_099);
    assert.deepEqual(log, ['far@done']);
  });

  test('fires each entry once, never early, at most one resolution late, in tick order', () => {
    const c = countingClock();
    const wheel = new TimerWheel(c.clock, 100);
    const log: string[] = [];
    const fired: Record<string, number> = {};
    const at = (name: string): WheelEntry => entry(log, name, () => (fired[name] = c.clock.now()));
    wheel.schedule(at('b'), 250);
    wheel.schedule(at('a'), 120);
    wheel.schedule(at('c'), 300);
    assert.equal(wheel.size, 3);
    c.advance(119);
    assert.deepEqual(log, []);
    c.advance(81); // 200: a's tick (120 rounded up)
    assert.deepEqual(log, ['a@done']);
    c.advance(100); // 300: b (250 → 300) and c
    assert.deepEqual(log, ['a@done', 'b@done', 'c@done']);
    assert.deepEqual(fired, { a: 200, b: 300, c: 300 });
    assert.equal(wheel.size, 0);
    assert.equal(c.timersPending(), 0, 'no clock timer left once nothing waits');
  });

  test('one clock timer at a time, however many entries wait', () => {
    const c = countingClock();
    const wheel = new TimerWheel(c.clock, 100);
    const log: string[] = [];
    for (let i = 0; i < 1_000; i++) wheel.schedule(entry(log, `e${i}`), 10_000 + (i % 7) * 100);
    assert.equal(c.timersPending(), 1);
    assert.ok(c.timersSet() <= 7, `timers set: ${c.timersSet()}`);
    c.advance(10_700);
    assert.equal(log.length, 1_000);
    assert.equal(c.timersPending(), 0);
  });

  test('a cancelled entry does not fire; the last cancel clears the clock timer', () => {
    const c = countingClock();
    const wheel = new TimerWheel(c.clock, 10);
    const log: string[] = [];
    const a = entry(log, 'a');
    const b = entry(log, 'b');
    wheel.schedule(a, 50);
    wheel.schedule(b, 50);
    wheel.cancel(a);
    assert.equal(wheel.size, 1);
    c.advance(50);
    assert.deepEqual(log, ['b@done']);
    wheel.schedule(a, 50);
    wheel.cancel(a);
    assert.equal(c.timersPending(), 0);
    c.advance(1_000);
    assert.deepEqual(log, ['b@done']);
  });

  test('rescheduling moves an entry, earlier or later, and it fires once', () => {
    const c = countingClock();
    const wheel = new TimerWheel(c.clock, 1);
    const log: string[] = [];
    const a = entry(log, 'a');
    wheel.schedule(a, 500);
    wheel.schedule(a, 100);
    wheel.schedule(a, 300);
    assert.equal(wheel.size, 1);
    c.advance(299);
    assert.deepEqual(log, []);
    c.advance(1);
    assert.deepEqual(log, ['a@done']);
    c.advance(1_000);
    assert.deepEqual(log, ['a@done'], 'the stale slots of 100 and 500 stay silent');
  });

  test('an entry rescheduled as it fires waits for a later tick, not the same turn', () => {
    const c = countingClock();
    const wheel = new TimerWheel(c.clock, 100);
    const log: string[] = [];
    let rounds = 0;
    const looping: WheelEntry = {
      wheelTick: undefined,
      expire() {
        log.push(`round ${++rounds}@${c.clock.now()}`);
        if (rounds < 3) wheel.schedule(looping, 0);
      },
    };
    wheel.schedule(looping, 0);
    c.advance(100);
    assert.deepEqual(log, ['round 1@100']);
    c.advance(100);
    c.advance(100);
    assert.deepEqual(log, ['round 1@100', 'round 2@200', 'round 3@300']);
    assert.equal(c.timersPending(), 0);
  });

  test('an entry that throws does not strand the others: they fire, later ticks too, and the error surfaces', () => {
    const c = countingClock();
    const wheel = new TimerWheel(c.clock, 10);
    const log: string[] = [];
    wheel.schedule(entry(log, 'before'), 10);
    wheel.schedule({ wheelTick: undefined, expire: () => { throw new Error('action failed'); } }, 10);
    wheel.schedule(entry(log, 'after'), 10);
    wheel.schedule(entry(log, 'later'), 50);
    c.advance(10);
    assert.deepEqual(log, ['before@done', 'after@done']);
    assert.deepEqual(c.thrown.map((error) => (error as Error).message), ['action failed']);
    c.advance(40);
    assert.deepEqual(log, ['before@done', 'after@done', 'later@done']);
    assert.equal(wheel.size, 0);
  });

  test("on Node's clock, setting the system time back an hour does not delay a timeout", async () => {
    const wheel = new TimerWheel(undefined, 10);
    const realNow = Date.now;
    const waiting: WheelEntry = { wheelTick: undefined, expire: () => {} };
    try {
      const expired = new Promise<string>((resolve) => {
        waiting.expire = () => resolve('expired');
        wheel.schedule(waiting, 30);
      });
      Date.now = () => realNow() - 3_600_000;
      let guard: NodeJS.Timeout | undefined;
      const late = new Promise<string>((resolve) => (guard = setTimeout(resolve, 2_000, 'still waiting after 2 s')));
      assert.equal(await Promise.race([expired, late]), 'expired');
      clearTimeout(guard);
    } finally {
      Date.now = realNow;
      wheel.cancel(waiting);
    }
  });

  test('a resolution under 1 ms is refused', () => {
    assert.throws(() => new TimerWheel(undefined, 0), /resolution must be at least 1 ms \(got 0\)/);
  });
});
