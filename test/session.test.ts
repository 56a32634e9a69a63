// The session machine on a simulated clock, driven through a recording port: every effect it
// asks for, and when, without a socket.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createActor, setup, SimulatedClock } from 'xstate';
import { MachineRunner } from '../src/actors/runtime/machine-runner.ts';
import { TimerWheel } from '../src/actors/runtime/timer-wheel.ts';
import { sessionMachine, type SessionEvent, type SessionPort } from '../src/machines/session.ts';
import { stateName } from '../src/machines/state-name.ts';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** The connector runs sessions on a MachineRunner; every test runs on both it and an xstate actor. */
type Runner = 'actor' | 'runner';

const packageEvents = new Set(['HANDSHAKE', 'HANDSHAKE_ACK', 'HEARTBEAT', 'DATA']);

function start(runner: Runner, timing: { idleTimeout?: number; handshakeTimeout?: number; closeTimeout?: number } = {}) {
  const clock = new SimulatedClock();
  const effects: string[] = [];
  let ended: string | undefined;
  let lastSeen = 0;
  const port: SessionPort = {
    verifyHandshake: (body) => void effects.push(`verify ${new TextDecoder().decode(body)}`),
    sendHandshake: (body) => void effects.push(`handshake ${new TextDecoder().decode(body)}`),
    answerHeartbeat: () => void effects.push(`heartbeat@${clock.now()}`),
    startHeartbeat: () => void effects.push(`first heartbeat@${clock.now()}`),
    silentFor: () => clock.now() - lastSeen,
    dispatch: (body) => void effects.push(`dispatch ${new TextDecoder().decode(body)}`),
    sendKick: (reason) => void effects.push(`kick ${reason}`),
    close: () => void effects.push(`close@${clock.now()}`),
    destroy: () => void effects.push(`destroy@${clock.now()}`),
    ended: (reason) => {
      ended = reason;
      effects.push(`ended ${reason}`);
    },
  };
  const input = { port, idleTimeout: timing.idleTimeout ?? 2_000, handshakeTimeout: timing.handshakeTimeout ?? 5_000, closeTimeout: timing.closeTimeout ?? 1_000 };
  const machine =
    runner === 'actor'
      ? (() => {
          const a = createActor(sessionMachine, { clock, input }).start();
          return { send: (event: SessionEvent) => a.send(event), value: () => a.getSnapshot().value };
        })()
      : (() => {
          // A 1 ms wheel on the simulated clock: timings as exact as the actor's.
          const r = new MachineRunner(sessionMachine, input, new TimerWheel(clock, 1));
          return { send: (event: SessionEvent) => r.send(event), value: () => r.snapshot.value };
        })();
  // A package from the client is a sign of life: the connection records when it came.
  const actor = {
    send(event: SessionEvent): void {
      if (packageEvents.has(event.type)) lastSeen = clock.now();
      machine.send(event);
    },
  };
  const state = (): string => stateName(machine.value());
  /** Handshake, accept and ack: a working session. */
  const work = (): void => {
    actor.send({ type: 'HANDSHAKE', body: bytes('{"sys":{}}') });
    actor.send({ type: 'ACCEPTED', response: bytes('{"code":200}') });
    actor.send({ type: 'HANDSHAKE_ACK' });
  };
  return { actor, clock, effects, state, work, ended: () => ended };
}

for (const mode of ['actor', 'runner'] as const) describe(`session machine (${mode === 'actor' ? 'xstate actor' : 'MachineRunner, as the connector runs it'})`, () => {
  const session = (timing?: { idleTimeout?: number; handshakeTimeout?: number; closeTimeout?: number }) => start(mode, timing);

  test('handshake, verify, answer, ack: working; data and heartbeats then flow', () => {
    const s = session();
    assert.equal(s.state(), 'handshaking.waiting');
    s.actor.send({ type: 'HANDSHAKE', body: bytes('{"sys":{}}') });
    assert.equal(s.state(), 'handshaking.verifying');
    s.actor.send({ type: 'ACCEPTED', response: bytes('{"code":200}') });
    assert.equal(s.state(), 'handshaking.acking');
    s.actor.send({ type: 'HANDSHAKE_ACK' });
    assert.equal(s.state(), 'working');
    s.actor.send({ type: 'DATA', body: bytes('request') });
    s.clock.increment(500);
    s.actor.send({ type: 'HEARTBEAT' });
    assert.deepEqual(s.effects, ['verify {"sys":{}}', 'handshake {"code":200}', 'first heartbeat@0', 'dispatch request', 'heartbeat@500']);
  });

  test('silence in working closes after the idle timeout; every package restarts the timer', () => {
    const s = session({ idleTimeout: 2_000 });
    s.work();
    s.clock.increment(1_900);
    s.actor.send({ type: 'HEARTBEAT' });
    s.clock.increment(1_900);
    s.actor.send({ type: 'DATA', body: bytes('x') });
    s.clock.increment(1_999);
    assert.equal(s.state(), 'working');
    s.clock.increment(1);
    assert.equal(s.state(), 'closing');
    assert.ok(s.effects.includes('close@5800'));
    s.actor.send({ type: 'LINK_CLOSED', reason: 'client closed' });
    assert.equal(s.state(), 'closed');
    assert.equal(s.ended(), 'heartbeat timeout');
  });

  test('an idle timeout of 0 never closes a working session', () => {
    const s = session({ idleTimeout: 0 });
    s.work();
    s.clock.increment(10 * 60_000);
    assert.equal(s.state(), 'working');
  });

  test('the whole handshake is bounded: a client that never acks is closed', () => {
    const s = session({ handshakeTimeout: 3_000 });
    s.actor.send({ type: 'HANDSHAKE', body: bytes('{}') });
    s.actor.send({ type: 'ACCEPTED', response: bytes('{}') });
    s.clock.increment(3_000);
    assert.equal(s.state(), 'closing');
    s.actor.send({ type: 'LINK_CLOSED' });
    assert.equal(s.ended(), 'handshake timeout');
  });

  for (const [name, event, reason] of [
    ['data', { type: 'DATA', body: bytes('x') }, 'data before handshake'],
    ['a heartbeat', { type: 'HEARTBEAT' }, 'heartbeat before handshake'],
    ['an ack', { type: 'HANDSHAKE_ACK' }, 'handshake ack before handshake'],
  ] as const) {
    test(`${name} before the handshake closes the session without dispatching anything`, () => {
      const s = session();
      s.actor.send(event);
      s.actor.send({ type: 'LINK_CLOSED' });
      assert.equal(s.ended(), reason);
      assert.ok(!s.effects.some((effect) => effect.startsWith('dispatch')));
    });
  }

  test('a rejected handshake sends its answer, then closes with the reason', () => {
    const s = session();
    s.actor.send({ type: 'HANDSHAKE', body: bytes('{}') });
    s.actor.send({ type: 'REJECTED', response: bytes('{"code":501}'), reason: 'client too old' });
    assert.deepEqual(s.effects, ['verify {}', 'handshake {"code":501}', 'close@0']);
    s.actor.send({ type: 'LINK_CLOSED' });
    assert.equal(s.ended(), 'client too old');
  });

  test('a second handshake while working, and bad bytes, close the session', () => {
    const a = session();
    a.work();
    a.actor.send({ type: 'HANDSHAKE', body: bytes('{}') });
    assert.equal(a.state(), 'closing');
    const b = session();
    b.work();
    b.actor.send({ type: 'INVALID', reason: 'unknown package type 9 (at byte 0)' });
    b.actor.send({ type: 'LINK_CLOSED' });
    assert.equal(b.ended(), 'unknown package type 9 (at byte 0)');
  });

  test('kick: the kick package goes out before the close, and the reason is kept', () => {
    const s = session();
    s.work();
    s.actor.send({ type: 'KICK', reason: 'duplicate login' });
    assert.deepEqual(s.effects.slice(-2), ['kick duplicate login', 'close@0']);
    // Late events change nothing while closing.
    s.actor.send({ type: 'DATA', body: bytes('late') });
    s.actor.send({ type: 'KICK', reason: 'again' });
    s.actor.send({ type: 'LINK_CLOSED', reason: 'client closed' });
    assert.equal(s.ended(), 'duplicate login');
    assert.ok(!s.effects.includes('dispatch late'));
  });

  test('a server stop closes without a kick, so the client may reconnect', () => {
    const s = session();
    s.work();
    s.actor.send({ type: 'SHUTDOWN' });
    s.actor.send({ type: 'LINK_CLOSED' });
    assert.equal(s.ended(), 'server stopping');
    assert.ok(!s.effects.some((effect) => effect.startsWith('kick')));
  });

  test('a peer that does not finish closing is destroyed after the close timeout', () => {
    const s = session({ closeTimeout: 1_000 });
    s.work();
    s.actor.send({ type: 'KICK', reason: 'bye' });
    s.clock.increment(999);
    assert.equal(s.state(), 'closing');
    s.clock.increment(1);
    assert.equal(s.state(), 'closed');
    assert.deepEqual(s.effects.slice(-2), ['destroy@1000', 'ended bye']);
  });

  test('the link going away ends the session from any state, once', () => {
    const s = session();
    s.work();
    s.actor.send({ type: 'LINK_CLOSED', reason: 'connection error' });
    s.actor.send({ type: 'LINK_CLOSED', reason: 'again' });
    assert.equal(s.state(), 'closed');
    assert.deepEqual(s.effects.filter((effect) => effect.startsWith('ended')), ['ended connection error']);
  });
});

describe('MachineRunner', () => {
  test('an action that throws surfaces to the sender, and the runner takes the next event', () => {
    const seen: string[] = [];
    const machine = setup({
      types: { events: {} as { type: 'BOOM' } | { type: 'PING' } },
      actions: {
        boom: () => {
          throw new Error('boom');
        },
        record: ({ event }) => void seen.push(event.type),
      },
    }).createMachine({ initial: 'idle', states: { idle: { on: { BOOM: { target: 'hit', actions: 'boom' } } }, hit: { on: { PING: { actions: 'record' } } } } });
    const runner = new MachineRunner(machine, undefined, new TimerWheel(new SimulatedClock(), 1));
    assert.throws(() => runner.send({ type: 'BOOM' }), /boom/);
    assert.equal(runner.value, 'hit', 'the transition the event led to holds');
    runner.send({ type: 'PING' });
    assert.deepEqual(seen, ['PING'], 'not stuck busy: the next event is handled, not queued forever');
  });
});
