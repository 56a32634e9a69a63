// The global channel service's connection machine, on xstate's SimulatedClock: no Redis, no wait.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createActor, SimulatedClock } from 'xstate';
import { globalChannelConnectionMachine, type GlobalChannelConnectionPort } from '../src/machines/global-channel-connection.ts';
import { stateName } from '../src/machines/state-name.ts';

function connection(connectTimeout = 1_000) {
  const clock = new SimulatedClock();
  const effects: string[] = [];
  const port: GlobalChannelConnectionPort = {
    ready: (first) => void effects.push(first ? 'ready(first)' : 'ready'),
    reconnecting: (reason) => void effects.push(`reconnecting(${reason})`),
    failed: (reason) => void effects.push(`failed(${reason})`),
    close: () => void effects.push('close'),
  };
  const actor = createActor(globalChannelConnectionMachine, { clock, input: { port, connectTimeout } });
  actor.start();
  return { clock, effects, actor, state: () => stateName(actor.getSnapshot().value) };
}

test('connecting → ready → reconnecting → ready → stopped, telling the first ready apart', () => {
  const { actor, effects, state } = connection();
  assert.equal(state(), 'connecting');
  actor.send({ type: 'LOST' });
  assert.equal(state(), 'connecting', 'a failed first attempt is not a drop: still connecting');
  actor.send({ type: 'READY' });
  assert.equal(state(), 'ready');
  actor.send({ type: 'LOST', reason: 'ECONNRESET' });
  assert.equal(state(), 'reconnecting');
  actor.send({ type: 'LOST' });
  assert.equal(actor.getSnapshot().context.attempts, 1, 'one drop, however many failed reconnects');
  actor.send({ type: 'READY' });
  assert.equal(state(), 'ready');
  actor.send({ type: 'STOP' });
  assert.equal(state(), 'stopped');
  assert.equal(actor.getSnapshot().status, 'done');
  assert.deepEqual(effects, ['ready(first)', 'reconnecting(ECONNRESET)', 'ready', 'close']);
});

test('no answer within connectTimeout → failed, saying so, and the client is closed', () => {
  const { clock, effects, state } = connection(2_000);
  clock.increment(1_999);
  assert.equal(state(), 'connecting');
  clock.increment(1);
  assert.equal(state(), 'failed');
  assert.deepEqual(effects, ['failed(Redis did not answer within 2000 ms)', 'close']);
});

test('reconnecting waits as long as it takes: no timeout gives up on a Redis that was up', () => {
  const { clock, actor, state } = connection(1_000);
  actor.send({ type: 'READY' });
  actor.send({ type: 'LOST' });
  clock.increment(10 * 60_000);
  assert.equal(state(), 'reconnecting');
  assert.equal(actor.getSnapshot().context.reason, 'connection to Redis lost');
  actor.send({ type: 'READY' });
  assert.equal(state(), 'ready');
});

test('STOP while connecting stops at once and closes the client', () => {
  const { actor, effects, state } = connection();
  actor.send({ type: 'STOP' });
  assert.equal(state(), 'stopped');
  assert.deepEqual(effects, ['close']);
});
