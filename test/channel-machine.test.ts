import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assign, createActor, raise, setup, SimulatedClock } from 'xstate';
import { ChannelService } from '../src/actors/channel/channel.ts';
import { LocalChannelStore } from '../src/actors/channel/channel-store.ts';
import { ChannelDestroyedError } from '../src/actors/channel/errors.ts';
import type { PushMessage } from '../src/actors/connector/types.ts';
import { MachineRunner } from '../src/actors/runtime/machine-runner.ts';
import { channelMachine, type ChannelPort } from '../src/machines/channel.ts';

/** A channel machine whose port only records what it was asked to do. */
function channelUnderTest() {
  const clock = new SimulatedClock();
  const effects: string[] = [];
  const port: ChannelPort = {
    add: (uid, sid) => void effects.push(`add ${uid}@${sid}`),
    leave: (uid, sid) => void effects.push(`leave ${uid}@${sid}`),
    push: (route, msg) => void effects.push(`push ${route} ${JSON.stringify(msg)}`),
    release: () => void effects.push('release'),
    refuse: (event) => void effects.push(`refuse ${event.type}`),
  };
  const actor = createActor(channelMachine, { clock, input: { name: 'room-1', port } });
  actor.start();
  const state = (): string => String(actor.getSnapshot().value);
  /** The effects since the last call. */
  const taken = (): string[] => effects.splice(0);
  return { actor, state, taken, port };
}

describe('channel machine', () => {
  test('starts open and asks nothing of the store', () => {
    const { state, taken, actor } = channelUnderTest();
    assert.equal(state(), 'open');
    assert.deepEqual(taken(), []);
    assert.equal(actor.getSnapshot().context.name, 'room-1');
  });

  test('while open, joins, leaves and pushes go to the store, in order, and the channel stays open', () => {
    const { actor, state, taken } = channelUnderTest();
    actor.send({ type: 'JOIN', uid: 'alice', sid: 'connector-1' });
    actor.send({ type: 'JOIN', uid: 'bob', sid: 'connector-2' });
    actor.send({ type: 'PUSH', route: 'onChat', msg: { text: 'hi' } });
    actor.send({ type: 'LEAVE', uid: 'bob', sid: 'connector-2' });
    assert.deepEqual(taken(), ['add alice@connector-1', 'add bob@connector-2', 'push onChat {"text":"hi"}', 'leave bob@connector-2']);
    assert.equal(state(), 'open');
  });

  test('DESTROY releases the membership once; then joins and pushes are refused, and leaves and destroys change nothing', () => {
    const { actor, state, taken } = channelUnderTest();
    actor.send({ type: 'JOIN', uid: 'alice', sid: 'connector-1' });
    taken();
    actor.send({ type: 'DESTROY' });
    assert.equal(state(), 'destroyed');
    assert.deepEqual(taken(), ['release']);
    actor.send({ type: 'JOIN', uid: 'carol', sid: 'connector-1' });
    actor.send({ type: 'PUSH', route: 'onChat', msg: {} });
    actor.send({ type: 'LEAVE', uid: 'alice', sid: 'connector-1' });
    actor.send({ type: 'DESTROY' });
    assert.deepEqual(taken(), ['refuse JOIN', 'refuse PUSH']);
    assert.equal(state(), 'destroyed');
    assert.equal(actor.getSnapshot().status, 'active', 'destroyed is not final: it keeps refusing');
  });

  test('holds no member: its context is the name and the port, however many join', () => {
    const { actor, port } = channelUnderTest();
    for (let i = 0; i < 1_000; i++) actor.send({ type: 'JOIN', uid: `user-${i}`, sid: `connector-${i % 2}` });
    assert.deepEqual(actor.getSnapshot().context, { name: 'room-1', port });
  });

  test('on a MachineRunner, as local channels run it: the same effects, and a refusal that throws reaches the sender', () => {
    const { port, taken } = channelUnderTest();
    const refusing: ChannelPort = {
      ...port,
      refuse: (event) => {
        port.refuse(event);
        throw new Error(`refused ${event.type}`);
      },
    };
    const runner = new MachineRunner(channelMachine, { name: 'room-2', port: refusing });
    runner.send({ type: 'JOIN', uid: 'alice', sid: 'connector-1' });
    runner.send({ type: 'PUSH', route: 'onChat', msg: 1 });
    runner.send({ type: 'LEAVE', uid: 'alice', sid: 'connector-1' });
    assert.equal(runner.value, 'open');
    runner.send({ type: 'DESTROY' });
    assert.equal(runner.value, 'destroyed');
    assert.throws(() => runner.send({ type: 'JOIN', uid: 'bob', sid: 'connector-1' }), /refused JOIN/);
    assert.throws(() => runner.send({ type: 'PUSH', route: 'onChat', msg: 2 }), /refused PUSH/);
    runner.send({ type: 'LEAVE', uid: 'alice', sid: 'connector-1' });
    assert.deepEqual(taken(), ['add alice@connector-1', 'push onChat 1', 'leave alice@connector-1', 'release', 'refuse JOIN', 'refuse PUSH']);
    assert.equal(runner.value, 'destroyed');
  });
});

describe('MachineRunner: transitions that only run actions skip the step', () => {
  // A machine mixing what may skip the step (plain actions) with what may not (assign, raise, guards, targets).
  const counter = setup({
    types: { context: {} as { count: number; seen: string[] }, events: {} as { type: 'NOTE' | 'ADD' | 'GUARDED' | 'RAISE' | 'STOP' | 'STAY'; by?: number } },
    actions: {
      note: ({ context, event }, params: { tag: string }) => void context.seen.push(`${params.tag}:${event.type}:${context.count}`),
      add: assign({ count: ({ context, event }) => context.count + (event.by ?? 1) }),
    },
    guards: { small: ({ context }) => context.count < 2 },
  }).createMachine({
    id: 'counter',
    context: () => ({ count: 0, seen: [] }),
    initial: 'on',
    states: {
      on: {
        on: {
          NOTE: { actions: { type: 'note', params: { tag: 'n' } } },
          ADD: { actions: ['add', { type: 'note', params: { tag: 'a' } }] },
          GUARDED: [{ guard: 'small', actions: { type: 'note', params: { tag: 'g' } } }, { target: 'off' }],
          RAISE: { actions: raise({ type: 'ADD', by: 10 }) },
          STAY: { target: 'on', reenter: true, actions: { type: 'note', params: { tag: 's' } } },
          STOP: { target: 'off' },
        },
      },
      off: { type: 'final' },
    },
  });

  test('plain actions run with params, context and event; assign, raise, guards and re-entry still take a step', () => {
    const runner = new MachineRunner(counter, undefined as never);
    const context = () => runner.snapshot.context;
    runner.send({ type: 'NOTE' });
    runner.send({ type: 'ADD' });
    assert.equal(context().count, 1);
    runner.send({ type: 'GUARDED' });
    runner.send({ type: 'RAISE' });
    assert.equal(context().count, 11);
    runner.send({ type: 'STAY' });
    assert.deepEqual(context().seen, ['n:NOTE:0', 'a:ADD:1', 'g:GUARDED:1', 'a:ADD:11', 's:STAY:11']);
    runner.send({ type: 'GUARDED' });
    assert.equal(runner.value, 'off');
    runner.send({ type: 'NOTE' });
    assert.equal(context().seen.length, 5, 'a stopped runner takes no event, not even one that would skip the step');
  });
});

describe('local channels run the channel machine', () => {
  function serviceUnderTest() {
    const pushes: { frontendId: string; push: PushMessage }[] = [];
    const store = new LocalChannelStore();
    const service = new ChannelService((frontendId, push) => void pushes.push({ frontendId, push }), () => [], store);
    return { pushes, store, service };
  }

  test('add and leave answer as the store does', () => {
    const { service } = serviceUnderTest();
    const channel = service.createChannel('room-1');
    assert.equal(channel.machine.value, 'open');
    assert.equal(channel.add('alice', 'connector-1'), true);
    assert.equal(channel.add('alice', 'connector-2'), false);
    assert.equal(channel.add('bob', 'connector-2'), true);
    assert.equal(channel.leave('bob', 'connector-1'), false);
    assert.equal(channel.leave('bob', 'connector-2'), true);
    assert.deepEqual(channel.getMembers(), ['alice']);
    assert.equal(channel.size, 1);
  });

  test('a destroyed channel refuses joins and pushes with an error naming the channel; leave is false', async () => {
    const { service, store, pushes } = serviceUnderTest();
    const channel = service.createChannel('room-1');
    channel.add('alice', 'connector-1');
    service.destroyChannel('room-1');
    assert.equal(channel.destroyed, true);
    assert.deepEqual(store.names(), []);
    assert.throws(
      () => channel.add('bob', 'connector-1'),
      (error: unknown) =>
        error instanceof ChannelDestroyedError &&
        error.code === 'CHANNEL_DESTROYED' &&
        error.channel === 'room-1' &&
        /channel "room-1" is destroyed: cannot add user "bob" \(frontend connector-1\)/.test(error.message),
    );
    await assert.rejects(channel.pushMessage('onChat', { text: 'hi' }), /channel "room-1" is destroyed: cannot push "onChat"/);
    assert.equal(pushes.length, 0);
    assert.equal(channel.leave('alice', 'connector-1'), false);
    // The refusal left the handle usable: it still refuses, and says so.
    assert.throws(() => channel.add('carol', 'connector-1'), ChannelDestroyedError);
    assert.equal(channel.machine.value, 'destroyed');
  });

  test('destroying an old handle again leaves a newer channel of the same name alone', () => {
    const { service, store } = serviceUnderTest();
    const old = service.createChannel('room-1');
    old.destroy();
    const fresh = service.getChannel('room-1', true);
    assert.notEqual(fresh, old);
    fresh.add('alice', 'connector-1');
    old.destroy();
    assert.equal(service.getChannel('room-1'), fresh);
    assert.deepEqual(store.get('room-1')?.uids(), ['alice']);
    assert.equal(fresh.destroyed, false);
  });

  test('a channel that was never handed out is destroyed by name, and stays refused', () => {
    const { service, store } = serviceUnderTest();
    store.open('room-2').add('alice', 'connector-1');
    service.destroyChannel('room-2');
    service.destroyChannel('room-3');
    assert.deepEqual(store.names(), []);
    assert.equal(service.getChannel('room-2'), undefined);
  });
});
