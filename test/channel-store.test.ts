import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChannelService } from '../src/actors/channel/channel.ts';
import { LocalChannelStore } from '../src/actors/channel/channel-store.ts';
import type { PushMessage } from '../src/actors/connector/types.ts';

/** A store's grouping as plain data: frontend id → uids. */
function groups(store: LocalChannelStore, name: string): Record<string, string[]> {
  const members = store.get(name);
  assert.ok(members, `channel ${name} exists`);
  return Object.fromEntries([...members.byFrontend()].map(([frontendId, uids]) => [frontendId, [...uids]]));
}

describe('LocalChannelStore', () => {
  test('open makes a channel with no members, once; get finds only channels that exist', () => {
    const store = new LocalChannelStore();
    assert.equal(store.get('room-1'), undefined);
    const members = store.open('room-1');
    assert.equal(members.size, 0);
    assert.deepEqual(members.uids(), []);
    assert.equal(members.byFrontend().size, 0);
    assert.equal(store.open('room-1'), members);
    assert.equal(store.get('room-1'), members);
    assert.deepEqual(store.names(), ['room-1']);
  });

  test('add and leave: a uid is a member once, on one frontend, and leaves only from that one', () => {
    const members = new LocalChannelStore().open('room-1');
    assert.equal(members.add('alice', 'connector-1'), true);
    assert.equal(members.add('alice', 'connector-2'), false, 'already a member, on another frontend');
    assert.equal(members.add('alice', 'connector-1'), false);
    assert.equal(members.frontendOf('alice'), 'connector-1');
    assert.equal(members.leave('alice', 'connector-2'), false, 'not a member on that frontend');
    assert.equal(members.leave('bob', 'connector-1'), false, 'not a member');
    assert.equal(members.size, 1);
    assert.equal(members.leave('alice', 'connector-1'), true);
    assert.equal(members.leave('alice', 'connector-1'), false);
    assert.equal(members.frontendOf('alice'), undefined);
    assert.equal(members.size, 0);
  });

  test('members are listed in the order they joined, and grouped by frontend with no empty group', () => {
    const store = new LocalChannelStore();
    const members = store.open('room-1');
    members.add('alice', 'connector-1');
    members.add('bob', 'connector-2');
    members.add('carol', 'connector-1');
    assert.deepEqual(members.uids(), ['alice', 'bob', 'carol']);
    assert.equal(members.size, 3);
    assert.deepEqual(groups(store, 'room-1'), { 'connector-1': ['alice', 'carol'], 'connector-2': ['bob'] });
    members.leave('bob', 'connector-2');
    assert.deepEqual(groups(store, 'room-1'), { 'connector-1': ['alice', 'carol'] });
    // The channel outlives its last member.
    members.leave('alice', 'connector-1');
    members.leave('carol', 'connector-1');
    assert.deepEqual(groups(store, 'room-1'), {});
    assert.deepEqual(store.names(), ['room-1']);
  });

  test('channels are separate, listed oldest first; destroy forgets one, and opening it again starts empty', () => {
    const store = new LocalChannelStore();
    const first = store.open('room-1');
    store.open('room-2').add('bob', 'connector-1');
    first.add('alice', 'connector-1');
    assert.deepEqual(store.names(), ['room-1', 'room-2']);
    assert.deepEqual(store.get('room-2')?.uids(), ['bob']);
    store.destroy('room-1');
    store.destroy('room-3');
    assert.deepEqual(store.names(), ['room-2']);
    assert.equal(store.get('room-1'), undefined);
    // Handed out before, it keeps its members; it is no longer the channel's.
    assert.deepEqual(first.uids(), ['alice']);
    const again = store.open('room-1');
    assert.notEqual(again, first);
    assert.equal(again.size, 0);
    assert.deepEqual(store.names(), ['room-2', 'room-1']);
  });
});

describe('ChannelService over a store', () => {
  /** A service that records its pushes; given `store`, or with its default one. */
  function serviceUnderTest(store?: LocalChannelStore) {
    const pushes: { frontendId: string; push: PushMessage }[] = [];
    const service = new ChannelService((frontendId, push) => void pushes.push({ frontendId, push }), () => [], store);
    return { pushes, service };
  }

  test('membership goes to the store it was given; a name always gives the same channel until destroyed', () => {
    const store = new LocalChannelStore();
    const { service } = serviceUnderTest(store);
    assert.equal(service.getChannel('room-1'), undefined);
    const channel = service.getChannel('room-1', true);
    assert.equal(service.createChannel('room-1'), channel);
    assert.equal(service.getChannel('room-1'), channel);
    channel.add('alice', 'connector-1');
    assert.deepEqual(store.get('room-1')?.uids(), ['alice']);
    assert.deepEqual(channel.getMember('alice'), { uid: 'alice', sid: 'connector-1' });
    assert.deepEqual(service.names(), ['room-1']);
    channel.destroy();
    assert.deepEqual(store.names(), []);
    assert.equal(service.getChannel('room-1'), undefined);
    const again = service.createChannel('room-1');
    assert.notEqual(again, channel);
    assert.equal(again.size, 0);
  });

  test('a push to a channel is one message per frontend, with the body encoded once', async () => {
    const { pushes, service } = serviceUnderTest();
    const channel = service.createChannel('room-1');
    await channel.pushMessage('onChat', { text: 'nobody here' });
    assert.equal(pushes.length, 0);
    channel.add('alice', 'connector-1');
    channel.add('bob', 'connector-2');
    channel.add('carol', 'connector-1');
    await channel.pushMessage('onChat', { text: 'hi' });
    assert.deepEqual(pushes.map(({ frontendId, push }) => [frontendId, push.route, push.uids]), [
      ['connector-1', 'onChat', ['alice', 'carol']],
      ['connector-2', 'onChat', ['bob']],
    ]);
    assert.equal(pushes[0]?.push.body, pushes[1]?.push.body);
    assert.equal(new TextDecoder().decode(pushes[0]?.push.body), '{"text":"hi"}');
  });
});
