// The per-process inspector (src/actors/inspect/inspector.ts) on a SimulatedClock: leases that
// expire and are renewed, the bounded buffer and its drop counter, sessions counted per state and
// one in full, and nothing recorded while nobody watches.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assign, createActor, createMachine, setup } from 'xstate';
import { SimulatedClock } from '../src/clock.ts';
import { Inspector, type ActorSource } from '../src/actors/inspect/inspector.ts';
import { plainData } from '../src/actors/inspect/plain.ts';
import { MachineRunner } from '../src/actors/runtime/machine-runner.ts';
import { runnerInspection } from '../src/actors/runtime/inspection.ts';
import { TimerWheel } from '../src/actors/runtime/timer-wheel.ts';
import { checkInspectBatch, checkWatchReply, checkWatchRequest, WireShapeError } from '../src/transport/wire-check.ts';
import type { InspectBatch } from '../src/transport/wire.ts';
import { supervisorMachine } from '../src/machines/supervisor.ts';

/** A light with two states and a self-transition that changes nothing. */
const light = createMachine({
  id: 'light',
  initial: 'off',
  states: {
    off: { on: { TOGGLE: 'on', SAME: 'off' } },
    on: { on: { TOGGLE: 'off', SAME: 'on' } },
  },
});

/** A machine for runners: what a session is to the connector. */
const door = setup({ types: { context: {} as { opened: number; secret: () => void } } }).createMachine({
  id: 'door',
  context: { opened: 0, secret: () => {} },
  initial: 'shut',
  states: {
    shut: { on: { OPEN: { target: 'open', actions: assign({ opened: ({ context }) => context.opened + 1 }) } } },
    open: { on: { SHUT: 'shut' } },
  },
});

function setUp(options: { bufferSize?: number } = {}) {
  const clock = new SimulatedClock();
  const runners = { watching: false, probe: undefined };
  const inspector = new Inspector({ clock, runners, ...options });
  const batches: InspectBatch[] = [];
  inspector.open('test-server-1', (batch) => batches.push(checkInspectBatch(structuredClone(batch))));
  const actor = createActor(light).start();
  inspector.register(actor, 'light-1');
  return { clock, runners, inspector, batches, actor };
}

describe('inspector leases', () => {
  test('a lease makes transitions into batches; once it expires, nothing more is published', () => {
    const { clock, runners, inspector, batches, actor } = setUp();
    assert.equal(inspector.watching, false);
    const snapshot = inspector.watch({ watcher: 'w1', ttlMs: 2_000 });
    assert.deepEqual(snapshot.actors, [{ actor: 'light-1', machine: 'light', state: 'off' }]);
    assert.equal(runners.watching, true, 'runners are switched on with the first lease');

    actor.send({ type: 'TOGGLE' });
    actor.send({ type: 'SAME' }); // no change of state: not an event
    clock.advance(50);
    const events = batches.flatMap((batch) => batch.events);
    assert.deepEqual(
      events.map(({ actor: id, machine, state, event }) => ({ id, machine, state, event })),
      [{ id: 'light-1', machine: 'light', state: 'on', event: 'TOGGLE' }],
    );
    assert.equal(events[0]!.at, clock.wall() - 50);

    clock.advance(1_950); // the lease ends at 2 000 ms
    assert.equal(inspector.watching, false);
    assert.equal(runners.watching, false, 'runners are switched off with the last lease');
    const published = batches.length;
    actor.send({ type: 'TOGGLE' });
    clock.advance(1_000);
    assert.equal(batches.length, published, 'no batch after the lease expired');
    assert.equal(clock.pending, 0, 'no timer is left running');
  });

  test('a renewal extends the lease from the time it comes; a short ttl is clamped to 1 s', () => {
    const { clock, inspector, batches, actor } = setUp();
    inspector.watch({ watcher: 'w1', ttlMs: 10 });
    clock.advance(900);
    assert.equal(inspector.watching, true, 'a 10 ms ttl lasts 1 000 ms');
    inspector.watch({ watcher: 'w1', ttlMs: 1_000 }); // renewed at 900: lasts until 1 900
    clock.advance(900);
    actor.send({ type: 'TOGGLE' });
    clock.advance(50);
    assert.equal(batches.at(-1)?.events.at(-1)?.state, 'on');
    clock.advance(100);
    assert.equal(inspector.watching, false);
  });

  test('two watchers: events go on until the last lease has ended', () => {
    const { clock, inspector } = setUp();
    inspector.watch({ watcher: 'short', ttlMs: 1_000 });
    inspector.watch({ watcher: 'long', ttlMs: 3_000 });
    clock.advance(1_500);
    assert.equal(inspector.watching, true);
    clock.advance(1_550);
    assert.equal(inspector.watching, false);
  });

  test('transitions made while nobody watched are not recorded: the next watcher starts from the snapshot', () => {
    const { clock, inspector, batches, actor } = setUp();
    actor.send({ type: 'TOGGLE' });
    const snapshot = inspector.watch({ watcher: 'late', ttlMs: 1_000 });
    assert.equal(snapshot.actors[0]!.state, 'on');
    clock.advance(100);
    assert.deepEqual(batches.flatMap((batch) => batch.events), []);
  });

  test('a stopped actor leaves the snapshot', () => {
    const { inspector, actor } = setUp();
    actor.stop();
    assert.deepEqual(inspector.watch({ watcher: 'w', ttlMs: 1_000 }).actors, []);
  });
});

describe('inspector buffer', () => {
  test('at most bufferSize events per batch; the rest are dropped and counted, and the count stays', () => {
    const { clock, inspector, batches, actor } = setUp({ bufferSize: 5 });
    inspector.watch({ watcher: 'w', ttlMs: 5_000 });
    for (let i = 0; i < 8; i++) actor.send({ type: 'TOGGLE' });
    clock.advance(50);
    assert.equal(batches.length, 1);
    assert.equal(batches[0]!.events.length, 5);
    assert.equal(batches[0]!.dropped, 3);
    actor.send({ type: 'TOGGLE' });
    clock.advance(50);
    assert.equal(batches[1]!.events.length, 1);
    assert.equal(batches[1]!.dropped, 3);
    assert.equal(inspector.watch({ watcher: 'w', ttlMs: 5_000 }).dropped, 3);
  });

  test('nothing happened: no batch', () => {
    const { clock, inspector, batches } = setUp();
    inspector.watch({ watcher: 'w', ttlMs: 5_000 });
    clock.advance(50); // the first batch carries the counts
    const first = batches.length;
    clock.advance(500);
    assert.equal(batches.length, first);
  });
});

describe('many-instance machines', () => {
  /** Runners of `door` as a connector holds its sessions, reported through the process switch. */
  function doors(clock: SimulatedClock, count: number): { runners: Map<number, MachineRunner<typeof door>>; source: ActorSource } {
    const wheel = new TimerWheel(clock);
    const runners = new Map<number, MachineRunner<typeof door>>();
    for (let id = 1; id <= count; id++) runners.set(id, new MachineRunner(door, undefined, wheel, id));
    const source: ActorSource = {
      machine: 'door',
      states: () => [...runners.values()].map((runner) => runner.value),
      find: (actor) => {
        const runner = runners.get(Number(actor));
        return runner && { value: runner.value, context: runner.snapshot.context };
      },
    };
    return { runners, source };
  }

  test('counted per state; a batch carries new counts when one changed, and the detail actor its events', () => {
    const clock = new SimulatedClock();
    const inspector = new Inspector({ clock }); // the process switch that MachineRunner reads
    const batches: InspectBatch[] = [];
    inspector.open('connector-1', (batch) => batches.push(structuredClone(batch)));
    const { runners, source } = doors(clock, 3);
    const remove = inspector.addSource(source);
    try {
      const snapshot = inspector.watch({ watcher: 'w', ttlMs: 5_000, detail: '2' });
      assert.deepEqual(snapshot.counts, { door: { shut: 3 } });
      assert.deepEqual(snapshot.detail, { actor: '2', machine: 'door', state: 'shut', context: { opened: 0 } }, 'the function in the context is left out');
      assert.equal(runnerInspection.watching, true);
      clock.advance(50);
      batches.length = 0;

      runners.get(1)!.send({ type: 'OPEN' });
      runners.get(2)!.send({ type: 'OPEN' });
      clock.advance(50);
      assert.equal(batches.length, 1);
      assert.deepEqual(batches[0]!.counts, { door: { open: 2, shut: 1 } });
      assert.deepEqual(
        batches[0]!.events.map((e) => [e.actor, e.machine, e.state, e.event]),
        [['2', 'door', 'open', 'OPEN']],
        'only the actor in detail is an event; the others are counts',
      );
      assert.deepEqual(inspector.watch({ watcher: 'w', ttlMs: 5_000, detail: 'door/2' }).detail?.context, { opened: 1 });
    } finally {
      remove();
      inspector.close();
    }
    assert.equal(runnerInspection.watching, false);
  });

  test('with nobody watching a runner does not call the inspector', () => {
    const clock = new SimulatedClock();
    let calls = 0;
    const saved = runnerInspection.probe;
    runnerInspection.probe = { stepped: () => void calls++ };
    try {
      const { runners } = doors(clock, 2);
      runners.get(1)!.send({ type: 'OPEN' });
      assert.equal(calls, 0);
      runnerInspection.watching = true;
      runners.get(1)!.send({ type: 'SHUT' });
      assert.equal(calls, 1);
    } finally {
      runnerInspection.watching = false;
      runnerInspection.probe = saved;
    }
  });
});

describe('a real machine under the inspector', () => {
  test("a supervisor's DOWN and its backoff show as backingOff then watching.starting", () => {
    const clock = new SimulatedClock();
    const runners = { watching: false, probe: undefined };
    const inspector = new Inspector({ clock, runners });
    const batches: InspectBatch[] = [];
    inspector.open('master-1', (batch) => batches.push(batch));
    const supervisor = createActor(supervisorMachine.provide({ actions: { restart: () => {}, kill: () => {} } }), {
      clock,
      input: { serverId: 'chat-server-1', policy: { restart: 'permanent', initialDelay: 100, factor: 2, maxDelay: 1_000, resetAfter: 10_000, maxRestarts: 5, period: 60_000 } },
    }).start();
    inspector.register(supervisor, 'chat-server-1');
    inspector.watch({ watcher: 'w', ttlMs: 10_000 });
    supervisor.send({ type: 'UP', at: clock.wall() });
    supervisor.send({ type: 'DOWN', at: clock.wall(), why: 'killed by SIGKILL' });
    clock.advance(2_000);
    const states = batches.flatMap((batch) => batch.events.map((event) => `${event.machine}:${event.state}`));
    assert.ok(states.includes('supervisor:backingOff'), states.join(' '));
    assert.ok(states.indexOf('supervisor:watching.starting') > states.indexOf('supervisor:backingOff'), states.join(' '));
    inspector.close();
  });
});

describe('wire checks of the inspection protocol', () => {
  test('a watch request without a watcher or with a bad ttl names the field', () => {
    assert.throws(() => checkWatchRequest({ ttlMs: 1000 }), (e: unknown) => e instanceof WireShapeError && /field "watcher"/.test(e.message));
    assert.throws(() => checkWatchRequest({ watcher: 'w', ttlMs: '5s' }), /field "ttlMs": expected a positive number of ms, got string "5s"/);
    assert.throws(() => checkWatchRequest({ watcher: 'w', ttlMs: 1000, detail: 3 }), /field "detail"/);
    assert.deepEqual(checkWatchRequest({ watcher: 'w', ttlMs: 1000 }), { watcher: 'w', ttlMs: 1000 });
  });

  test('batches and replies with a wrong field are refused', () => {
    assert.throws(() => checkInspectBatch({ server: 's', dropped: 0, events: [{ actor: 'a', machine: 'm', state: 's', event: 'E' }] }), /events\[0\]\.at/);
    assert.throws(() => checkInspectBatch({ server: 's', dropped: 0, events: [], counts: { session: { working: 'x' } } }), /counts.*session\.working/);
    assert.deepEqual(checkWatchReply({ error: 'bad' }), { error: 'bad' });
    assert.throws(() => checkWatchReply({ server: 's', at: 1, dropped: 0, actors: [{ actor: 'a' }], counts: {} }), /actors\[0\]\.machine/);
  });

  test('plainData keeps data and names live objects', () => {
    class Connection {}
    assert.deepEqual(plainData({ n: 1, s: 'x', list: [1, { f: () => 1 }], port: new Connection(), gone: undefined, inf: Infinity }), {
      n: 1,
      s: 'x',
      list: [1, {}],
      port: '<Connection>',
      inf: 'Infinity',
    });
  });
});
