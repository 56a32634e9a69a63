import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createActor, SimulatedClock } from 'xstate';
import { stateName } from '../src/machines/state-name.ts';
import { zkSessionMachine, type ZkSessionPort } from '../src/machines/zk-session.ts';

const input = { sessionTimeout: 3_000, connectTimeout: 2_000, retryDelay: 100 };

/** A session machine whose effects only record what they were asked to do. */
function sessionUnderTest() {
  const clock = new SimulatedClock();
  const effects: string[] = [];
  const port: ZkSessionPort = {
    open: () => void effects.push('open'),
    established: () => void effects.push('established'),
    probe: () => void effects.push('probe'),
    suspended: (reason) => void effects.push(`suspended: ${reason}`),
    resumed: () => void effects.push('resumed'),
    lost: (reason) => void effects.push(`lost: ${reason}`),
    closeClient: () => void effects.push('closeClient'),
  };
  const actor = createActor(zkSessionMachine, { clock, input: { ...input, port } });
  actor.start();
  const state = (): string => stateName(actor.getSnapshot().value);
  /** The effects since the last call. */
  const taken = (): string[] => effects.splice(0);
  return { clock, actor, state, taken };
}

describe('ZooKeeper session machine (the master’s view of its session)', () => {
  test('connecting opens a client; CONNECTED → connected.listening and established once', () => {
    const { actor, state, taken } = sessionUnderTest();
    assert.equal(state(), 'connecting');
    assert.deepEqual(taken(), ['open']);
    actor.send({ type: 'CONNECTED' });
    assert.equal(state(), 'connected.listening');
    assert.deepEqual(taken(), ['established']);
    actor.send({ type: 'CONNECTED' });
    assert.deepEqual(taken(), []);
  });

  test('a first connect that never answers: the client is given up after connectTimeout and a fresh one opened', () => {
    const { clock, state, taken } = sessionUnderTest();
    taken();
    clock.increment(input.connectTimeout - 1);
    assert.deepEqual(taken(), []);
    clock.increment(1);
    assert.equal(state(), 'connecting');
    assert.deepEqual(taken(), ['closeClient', 'open']);
    clock.increment(input.connectTimeout);
    assert.deepEqual(taken(), ['closeClient', 'open']);
  });

  test('DISCONNECTED while connecting changes nothing (the client tries the next server)', () => {
    const { actor, state, taken } = sessionUnderTest();
    taken();
    actor.send({ type: 'DISCONNECTED' });
    assert.equal(state(), 'connecting');
    assert.deepEqual(taken(), []);
  });

  test('connected probes every third of the timeout; each answer keeps it connected', () => {
    const { actor, clock, state, taken } = sessionUnderTest();
    actor.send({ type: 'CONNECTED' });
    taken();
    for (let i = 0; i < 4; i++) {
      clock.increment(999);
      assert.deepEqual(taken(), []);
      clock.increment(1);
      assert.equal(state(), 'connected.probing');
      assert.deepEqual(taken(), ['probe']);
      clock.increment(400);
      actor.send({ type: 'HEARD' });
      assert.equal(state(), 'connected.listening');
    }
  });

  test('a probe unanswered for a third of the timeout → suspended, though the client saw nothing', () => {
    const { actor, clock, state, taken } = sessionUnderTest();
    actor.send({ type: 'CONNECTED' });
    clock.increment(1_000);
    taken();
    clock.increment(999);
    assert.equal(state(), 'connected.probing');
    clock.increment(1);
    assert.equal(state(), 'suspended');
    assert.deepEqual(taken(), ['suspended: ZooKeeper did not answer within 1000 ms']);
    // The late answer: the link never dropped, the session is alive.
    actor.send({ type: 'HEARD' });
    assert.equal(state(), 'connected.listening');
    assert.deepEqual(taken(), ['resumed']);
  });

  test('after an unanswered probe the session is lost a session timeout after the last answer', () => {
    const { actor, clock, state, taken } = sessionUnderTest();
    actor.send({ type: 'CONNECTED' });
    taken();
    // Last answer at 0 (connect); probe at 1000, unanswered; suspended at 2000; lost at 3000.
    clock.increment(1_000);
    assert.deepEqual(taken(), ['probe']);
    clock.increment(1_000);
    assert.equal(state(), 'suspended');
    taken();
    clock.increment(999);
    assert.equal(state(), 'suspended');
    clock.increment(1);
    assert.equal(state(), 'expired');
    assert.deepEqual(taken(), ['lost: ZooKeeper session not confirmed within 1000 ms of being suspended (session timeout 3000 ms)', 'closeClient']);
  });

  test('DISCONNECTED → suspended; CONNECTED within 2/3 of the timeout → connected, resumed (not established again)', () => {
    const { actor, clock, state, taken } = sessionUnderTest();
    actor.send({ type: 'CONNECTED' });
    taken();
    actor.send({ type: 'DISCONNECTED' });
    assert.equal(state(), 'suspended');
    assert.deepEqual(taken(), ['suspended: ZooKeeper connection lost']);
    actor.send({ type: 'DISCONNECTED' });
    clock.increment(1_999);
    assert.equal(state(), 'suspended');
    actor.send({ type: 'CONNECTED' });
    assert.equal(state(), 'connected.listening');
    assert.deepEqual(taken(), ['resumed']);
  });

  test('not reconnected within 2/3 of the timeout → expired: lost, client closed, a fresh client after retryDelay', () => {
    const { actor, clock, state, taken } = sessionUnderTest();
    actor.send({ type: 'CONNECTED' });
    actor.send({ type: 'DISCONNECTED' });
    taken();
    clock.increment(1_999);
    assert.deepEqual(taken(), []);
    clock.increment(1);
    assert.equal(state(), 'expired');
    assert.deepEqual(taken(), ['lost: ZooKeeper session not confirmed within 2000 ms of being suspended (session timeout 3000 ms)', 'closeClient']);
    clock.increment(input.retryDelay - 1);
    assert.equal(state(), 'expired');
    clock.increment(1);
    assert.equal(state(), 'connecting');
    assert.deepEqual(taken(), ['open']);
    actor.send({ type: 'CONNECTED' });
    assert.deepEqual(taken(), ['established']);
  });

  test('EXPIRED from connected, suspended or connecting → expired with the reason given', () => {
    for (const before of ['connected', 'suspended', 'connecting'] as const) {
      const { actor, state, taken } = sessionUnderTest();
      if (before !== 'connecting') actor.send({ type: 'CONNECTED' });
      if (before === 'suspended') actor.send({ type: 'DISCONNECTED' });
      taken();
      actor.send({ type: 'EXPIRED', reason: 'session 0x1 expired' });
      assert.equal(state(), 'expired', before);
      assert.deepEqual(taken(), ['lost: session 0x1 expired', 'closeClient'], before);
    }
    const { actor, taken } = sessionUnderTest();
    actor.send({ type: 'CONNECTED' });
    taken();
    actor.send({ type: 'EXPIRED' });
    assert.deepEqual(taken(), ['lost: ZooKeeper session expired', 'closeClient']);
  });

  test('the granted session timeout drives the delays', () => {
    const { actor, clock, state, taken } = sessionUnderTest();
    actor.send({ type: 'CONNECTED', sessionTimeout: 6_000 });
    taken();
    clock.increment(1_999);
    assert.deepEqual(taken(), []);
    clock.increment(1);
    assert.deepEqual(taken(), ['probe']);
    actor.send({ type: 'DISCONNECTED' });
    clock.increment(3_999);
    assert.equal(state(), 'suspended');
    clock.increment(1);
    assert.equal(state(), 'expired');
    assert.match(taken().join('|'), /within 4000 ms/);
  });

  test('CLOSE from every state → closed (final), closing the client once; nothing after', () => {
    const setups: Record<string, (s: ReturnType<typeof sessionUnderTest>) => void> = {
      connecting: () => {},
      connected: (s) => s.actor.send({ type: 'CONNECTED' }),
      suspended: (s) => {
        s.actor.send({ type: 'CONNECTED' });
        s.actor.send({ type: 'DISCONNECTED' });
      },
      expired: (s) => {
        s.actor.send({ type: 'CONNECTED' });
        s.actor.send({ type: 'EXPIRED' });
      },
    };
    for (const [name, reach] of Object.entries(setups)) {
      const s = sessionUnderTest();
      reach(s);
      assert.equal(s.state().split('.')[0], name);
      s.taken();
      s.actor.send({ type: 'CLOSE' });
      assert.equal(s.state(), 'closed', name);
      assert.equal(s.actor.getSnapshot().status, 'done');
      assert.deepEqual(s.taken(), ['closeClient'], name);
      s.clock.increment(60_000);
      s.actor.send({ type: 'CONNECTED' });
      assert.deepEqual(s.taken(), [], name);
    }
  });
});
