import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createActor, SimulatedClock } from 'xstate';
import { backoffDelay, supervisorMachine, type SupervisorPolicy } from '../src/machines/supervisor.ts';
import { stateName } from '../src/machines/state-name.ts';

const policy: SupervisorPolicy = { restart: 'permanent', initialDelay: 100, factor: 2, maxDelay: 1_000, resetAfter: 30_000, maxRestarts: 5, period: 60_000 };

/** A supervisor on a simulated clock whose effects record the clock time they ran at. */
function supervise(overrides: Partial<SupervisorPolicy> = {}) {
  const clock = new SimulatedClock();
  const restarts: number[] = [];
  const kills: number[] = [];
  const machine = supervisorMachine.provide({
    actions: {
      restart: () => void restarts.push(clock.now()),
      kill: () => void kills.push(clock.now()),
    },
  });
  const actor = createActor(machine, { clock, input: { serverId: 'chat-server-1', policy: { ...policy, ...overrides } } });
  actor.start();
  const state = (): string => stateName(actor.getSnapshot().value);
  /** The server comes up, then its process dies `after` ms later. */
  const crashAfter = (after: number): void => {
    actor.send({ type: 'UP', at: clock.now() });
    clock.increment(after);
    actor.send({ type: 'DOWN', at: clock.now(), why: 'signal SIGKILL' });
  };
  return { actor, clock, restarts, kills, state, crashAfter };
}

describe('supervisor machine (restart policy)', () => {
  test('backoff: 100 ms, ×2, capped', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((n) => backoffDelay(policy, n)), [100, 200, 400, 800, 1_000, 1_000]);
  });

  test('a crash-looping server is restarted with growing delays, then failed past the intensity limit', () => {
    const { actor, clock, restarts, state, crashAfter } = supervise();
    const downs: number[] = [];
    for (let i = 0; i < 5; i++) {
      crashAfter(10);
      downs.push(clock.now());
      assert.equal(state(), 'backingOff');
      clock.increment(backoffDelay(policy, i) - 1);
      assert.equal(restarts.length, i, 'not restarted before its delay');
      clock.increment(1);
      assert.equal(restarts.length, i + 1);
      assert.equal(state(), 'watching.starting');
    }
    // The timeline: each restart came exactly its backoff after the crash.
    assert.deepEqual(restarts.map((t, i) => t - downs[i]!), [100, 200, 400, 800, 1_000]);
    crashAfter(10);
    assert.equal(state(), 'failed');
    assert.match(actor.getSnapshot().context.reason ?? '', /restarted 5 times within 60 s; last down: signal SIGKILL/);
    clock.increment(60_000);
    assert.equal(restarts.length, 5, 'never restarted again');
    assert.equal(actor.getSnapshot().context.restarts, 5);
  });

  test('restarts older than the period do not count against the limit', () => {
    const { clock, restarts, state, crashAfter } = supervise({ maxRestarts: 2, period: 10_000 });
    crashAfter(10);
    clock.increment(100);
    crashAfter(10);
    clock.increment(200);
    clock.increment(10_000);
    crashAfter(10);
    assert.equal(state(), 'backingOff', 'the first two restarts are out of the window');
    clock.increment(400);
    assert.equal(restarts.length, 3);
  });

  test('after resetAfter of stable running the backoff starts again from initialDelay', () => {
    const { clock, restarts, crashAfter } = supervise();
    crashAfter(10);
    clock.increment(100);
    crashAfter(10);
    clock.increment(200);
    assert.equal(restarts.length, 2);
    crashAfter(30_000);
    const down = clock.now();
    clock.increment(100);
    assert.equal(restarts.length, 3);
    assert.equal(restarts[2]! - down, 100);
  });

  test('a server without auto-restart is left down, with the reason', () => {
    const { actor, clock, restarts, state, crashAfter } = supervise({ restart: 'temporary' });
    crashAfter(10);
    assert.equal(state(), 'left');
    assert.equal(actor.getSnapshot().context.reason, 'not auto-restarted; down: signal SIGKILL');
    actor.send({ type: 'UNREACHABLE', at: clock.now() });
    clock.increment(60_000);
    assert.deepEqual(restarts, []);
  });

  test('a transient server is restarted after a crash, left down after a clean exit, and killed when hung', () => {
    const { actor, clock, kills, restarts, state } = supervise({ restart: 'transient' });
    actor.send({ type: 'UP', at: clock.now() });
    actor.send({ type: 'DOWN', at: clock.now(), why: 'exit code 1', clean: false });
    assert.equal(state(), 'backingOff');
    clock.increment(100);
    assert.equal(restarts.length, 1);
    actor.send({ type: 'UP', at: clock.now() });
    actor.send({ type: 'UNREACHABLE', at: clock.now() });
    assert.equal(state(), 'killingHung');
    assert.equal(kills.length, 1);
    actor.send({ type: 'DOWN', at: clock.now(), why: 'signal SIGTERM' });
    clock.increment(200);
    assert.equal(restarts.length, 2);
    actor.send({ type: 'UP', at: clock.now() });
    actor.send({ type: 'DOWN', at: clock.now(), why: 'exit code 0', clean: true });
    assert.equal(state(), 'left');
    assert.equal(actor.getSnapshot().context.reason, 'transient, ended cleanly; down: exit code 0');
    clock.increment(60_000);
    assert.equal(restarts.length, 2);
  });

  test('a hung server is killed, then restarted when its process has gone', () => {
    const { actor, clock, kills, restarts, state } = supervise();
    actor.send({ type: 'UP', at: clock.now() });
    clock.increment(5_000);
    actor.send({ type: 'UNREACHABLE', at: clock.now() });
    assert.equal(state(), 'killingHung');
    assert.deepEqual(kills, [5_000]);
    clock.increment(20);
    actor.send({ type: 'DOWN', at: clock.now(), why: 'killed: stopped heartbeating' });
    assert.equal(state(), 'backingOff');
    clock.increment(100);
    assert.deepEqual(restarts, [5_120]);
  });

  test('a stop on purpose cancels a pending restart; a start by hand supervises afresh', () => {
    const { actor, clock, restarts, state, crashAfter } = supervise({ maxRestarts: 1 });
    crashAfter(10);
    assert.equal(state(), 'backingOff');
    actor.send({ type: 'STOP' });
    clock.increment(10_000);
    assert.deepEqual(restarts, []);
    assert.equal(actor.getSnapshot().context.restarts, 0, 'a cancelled restart does not count');
    assert.equal(state(), 'stopped');
    actor.send({ type: 'DOWN', at: clock.now(), why: 'exit 0' });
    assert.equal(state(), 'stopped', 'an exit after a stop is no crash');
    actor.send({ type: 'START' });
    assert.equal(state(), 'watching.starting');
    crashAfter(10);
    clock.increment(100);
    assert.equal(restarts.length, 1, 'the limit counts from the start by hand');
  });

  test('a failed server started by hand and up again is supervised afresh', () => {
    const { actor, clock, state, crashAfter } = supervise({ maxRestarts: 0 });
    crashAfter(10);
    assert.equal(state(), 'failed');
    actor.send({ type: 'UP', at: clock.now() });
    assert.equal(state(), 'watching.up');
    assert.equal(actor.getSnapshot().context.reason, undefined);
  });
});
