// Global channels against a real redis-server and nats-server started by the harness: every
// operation of globalChannelService, its keys, push over NATS, cleanup scope, and Redis restarts.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { GlobalChannelError } from '../src/actors/channel/errors.ts';
import { GlobalChannelService } from '../src/actors/channel/global-channel-service.ts';
import { GlobalChannelStore } from '../src/actors/channel/global-channel-store.ts';
import { globalChannelSettings, type GlobalChannelSettings } from '../src/config/global-channel.ts';
import { ConfigError } from '../src/config/errors.ts';
import { createLogger } from '../src/logger.ts';
import { decode } from '../src/transport/codec.ts';
import { subjects as buildSubjects } from '../src/transport/subjects.ts';
import type { PushMessage } from '../src/transport/wire.ts';
import { eventually, startRedis, startRedisSentinel, useNats, type RunningService } from './harness/index.ts';

const nats = useNats();
const subjects = buildSubjects('shaddock', 'gc');
const logger = createLogger('global-channel-test');
let redis: RunningService;
let raw: Redis;
let prefixes = 0;

before(async () => {
  redis = await startRedis();
  raw = new Redis(redis.port, '127.0.0.1');
});
after(async () => {
  raw.disconnect();
  await redis.stop();
});

/** Settings on the harness's Redis, each test with its own prefix so tests share nothing. */
function settingsFor(url: string, extra: Record<string, unknown> = {}): GlobalChannelSettings {
  return globalChannelSettings({ url, prefix: `t${++prefixes}`, ...extra }, { env: 'test', cluster: 'gc' });
}

/** A started service as server `serverId`; `frontends` answers `frontendsOfType`. */
async function service(settings: GlobalChannelSettings, serverId: string, frontends: Record<string, string[]> = {}, frontend = false): Promise<GlobalChannelService> {
  const made = new GlobalChannelService({
    settings,
    serverId,
    frontend,
    nc: nats.nc,
    subjects,
    frontendsOfType: (type) => frontends[type] ?? [],
    logger,
    connectTimeout: 5_000,
  });
  await made.start();
  return made;
}

/** Resolves with the next push on frontend `sid`'s push subject. */
function nextPush(sid: string): Promise<PushMessage> {
  return new Promise((resolve) => {
    const subscription = nats.nc.subscribe(subjects.push(sid), {
      callback: (_error, msg) => {
        subscription.unsubscribe();
        resolve(decode<PushMessage>(msg.data));
      },
    });
  });
}

describe('globalChannelConfig is checked, naming the field', () => {
  const where = { env: 'test', cluster: 'chat' };
  test('standalone defaults: prefix under the cluster, cleanOnStartUp on', () => {
    assert.deepEqual(globalChannelSettings({ host: '10.0.0.1', port: 6380, db: 2 }, where), {
      target: { mode: 'standalone', host: '10.0.0.1', port: 6380, db: 2 },
      prefix: 'shaddock:chat:channel',
      cleanOnStartUp: true,
    });
  });
  test('the URL override wins over host and port', () => {
    const settings = globalChannelSettings({ host: 'a', port: 1 }, { ...where, url: 'redis://:secret@127.0.0.1:7000/3' });
    assert.deepEqual(settings.target, { mode: 'standalone', host: '127.0.0.1', port: 7000, db: 3, password: 'secret' });
  });
  test('sentinels and cluster', () => {
    assert.equal(globalChannelSettings({ sentinels: [{ host: 'h', port: 26379 }], name: 'mymaster' }, where).target.mode, 'sentinel');
    assert.equal(globalChannelSettings({ cluster: [{ host: 'h', port: 7000 }] }, where).target.mode, 'cluster');
  });
  const bad: [string, unknown, RegExp][] = [
    ['port', { host: 'h', port: 'six' }, /globalChannelConfig.*port.*expected number/i],
    ['unknown key', { host: 'h', hots: 1 }, /field "?hots"?.*unknown field/],
    ['sentinels without name', { sentinels: [{ host: 'h', port: 1 }] }, /name.*required with sentinels/],
    ['two modes', { url: 'redis://h', cluster: [{ host: 'h', port: 1 }] }, /give one of url, sentinels and cluster/],
    ['url scheme', { url: 'http://h' }, /url.*only redis:\/\/ URLs/],
    ['prefix with a brace', { host: 'h', prefix: 'a{b' }, /prefix.*without spaces, braces/],
    ['db on a cluster', { cluster: [{ host: 'h', port: 1 }], db: 1 }, /db.*only db 0/],
  ];
  for (const [what, config, message] of bad) {
    test(`rejects ${what}`, () => {
      assert.throws(() => globalChannelSettings(config, where), (error: unknown) => error instanceof ConfigError && message.test(error.message));
    });
  }
});

describe('globalChannelService on a real Redis', () => {
  test('add, getMembersBySid, getMembersByChannelName, leave, with a callback too', async () => {
    const settings = settingsFor(redis.url);
    const chat = await service(settings, 'chat-1', { connector: ['connector-1', 'connector-2'] });
    try {
      assert.equal(await chat.add('room', 'alice', 'connector-1'), true);
      assert.equal(await chat.add('room', 'alice', 'connector-1'), false, 'already a member there');
      await chat.add('room', 'bob', 'connector-2');
      await chat.add('room', 'carol', 'connector-2');
      assert.deepEqual(await chat.getMembersBySid('room', 'connector-1'), ['alice']);
      assert.deepEqual((await chat.getMembersBySid('room', 'connector-2')).sort(), ['bob', 'carol']);
      assert.deepEqual((await chat.getMembersByChannelName('connector', 'room')).sort(), ['alice', 'bob', 'carol']);
      const viaCallback = await new Promise<string[] | undefined>((resolve, reject) => {
        void chat.getMembersByChannelName('connector', 'room', (error, members) => (error ? reject(error) : resolve(members)));
      });
      assert.deepEqual(viaCallback?.sort(), ['alice', 'bob', 'carol']);
      assert.equal(await chat.leave('room', 'bob', 'connector-2'), true);
      assert.equal(await chat.leave('room', 'bob', 'connector-2'), false);
      assert.deepEqual((await chat.getMembersByChannelName('connector', 'room')).sort(), ['alice', 'carol']);
      // The keys are the documented ones, hash-tagged by channel and by frontend.
      const { prefix } = settings;
      assert.deepEqual(await raw.smembers(`{${prefix}:room}:m:connector-2`), ['carol']);
      assert.deepEqual((await raw.smembers(`{${prefix}:room}:fe`)).sort(), ['connector-1', 'connector-2']);
      assert.deepEqual(await raw.smembers(`{${prefix}:fe:connector-1}:channels`), ['room']);
      assert.deepEqual(await raw.smembers(`{${prefix}:fe:connector-1}:u:alice`), ['room']);
    } finally {
      await chat.stop();
    }
  });

  test('leaveAll uses the user index: every channel of that user on that frontend, no other', async () => {
    const chat = await service(settingsFor(redis.url), 'chat-1', { connector: ['connector-1', 'connector-2'] });
    try {
      for (const room of ['a', 'b', 'c']) await chat.add(room, 'alice', 'connector-1');
      await chat.add('a', 'alice', 'connector-2');
      await chat.add('a', 'bob', 'connector-1');
      assert.deepEqual((await chat.leaveAll('alice', 'connector-1')).sort(), ['a', 'b', 'c']);
      assert.deepEqual(await chat.getMembersBySid('a', 'connector-1'), ['bob']);
      assert.deepEqual(await chat.getMembersBySid('a', 'connector-2'), ['alice'], "alice's membership through another frontend stays");
      assert.deepEqual(await chat.getMembersBySid('b', 'connector-1'), []);
      assert.deepEqual(await chat.leaveAll('alice', 'connector-1'), []);
    } finally {
      await chat.stop();
    }
  });

  test('pushMessage: one NATS message per frontend with its members, failedSids empty', async () => {
    const settings = settingsFor(redis.url);
    const chat = await service(settings, 'chat-1', { connector: ['connector-1', 'connector-2', 'connector-3'] });
    try {
      await chat.add('room', 'alice', 'connector-1');
      await chat.add('room', 'bob', 'connector-2');
      await chat.add('room', 'carol', 'connector-2');
      const pushes = [nextPush('connector-1'), nextPush('connector-2')];
      let third = 0;
      const silent = nats.nc.subscribe(subjects.push('connector-3'), { callback: () => void third++ });
      await nats.nc.flush();
      assert.deepEqual(await chat.pushMessage('connector', 'onChat', { text: 'hi' }, 'room'), { failedSids: [] });
      const [one, two] = await Promise.all(pushes);
      assert.deepEqual([one!.route, one!.uids], ['onChat', ['alice']]);
      assert.deepEqual([two!.route, two!.uids?.sort()], ['onChat', ['bob', 'carol']]);
      assert.deepEqual(JSON.parse(new TextDecoder().decode(one!.body)), { text: 'hi' });
      await nats.nc.flush();
      silent.unsubscribe();
      assert.equal(third, 0, 'a frontend with no member of the channel is sent nothing');
      // A change of membership after a push is seen by the next one (its cached members are stale).
      await chat.add('room', 'dave', 'connector-1');
      await chat.leave('room', 'bob', 'connector-2');
      const again = [nextPush('connector-1'), nextPush('connector-2')];
      await nats.nc.flush();
      await chat.pushMessage('connector', 'onChat', { text: 'again' }, 'room');
      const [one2, two2] = await Promise.all(again);
      assert.deepEqual(one2!.uids?.sort(), ['alice', 'dave']);
      assert.deepEqual(two2!.uids, ['carol']);
      // ... also when another server changed it.
      const other = await service(settings, 'chat-2');
      await other.add('room', 'erin', 'connector-1');
      await other.stop();
      const latest = nextPush('connector-1');
      await nats.nc.flush();
      await chat.pushMessage('connector', 'onChat', { text: 'third' }, 'room');
      assert.deepEqual((await latest).uids?.sort(), ['alice', 'dave', 'erin']);
      await assert.rejects(chat.pushMessage('connector', 'onChat', {}, 'room', { binded: true } as never), /pushMessage\("room"\): unknown option "binded"/);
    } finally {
      await chat.stop();
    }
  });

  test('destroyChannel removes the keys of every frontend that ever held a member, live or not', async () => {
    const settings = settingsFor(redis.url);
    // connector-9 is not running (not listed for the type) but has members: destroy finds it anyway.
    const chat = await service(settings, 'chat-1', { connector: ['connector-1'] });
    try {
      await chat.add('room', 'alice', 'connector-1');
      await chat.add('room', 'zed', 'connector-9');
      await chat.add('other', 'zed', 'connector-9');
      await chat.destroyChannel('room');
      const { prefix } = settings;
      assert.equal(await raw.exists(`{${prefix}:room}:m:connector-1`, `{${prefix}:room}:m:connector-9`, `{${prefix}:room}:fe`), 0);
      assert.deepEqual(await raw.smembers(`{${prefix}:fe:connector-9}:channels`), ['other']);
      assert.deepEqual(await raw.smembers(`{${prefix}:fe:connector-9}:u:zed`), ['other']);
      assert.deepEqual(await chat.getMembersBySid('other', 'connector-9'), ['zed'], 'other channels untouched');
    } finally {
      await chat.stop();
    }
  });

  test("cleanOnStartUp: a frontend that starts removes its own stale memberships and leaves other frontends' alone", async () => {
    const settings = settingsFor(redis.url);
    const chat = await service(settings, 'chat-1', { connector: ['connector-1', 'connector-2'] });
    try {
      await chat.add('room', 'alice', 'connector-1');
      await chat.add('room', 'bob', 'connector-2');
      await chat.add('lobby', 'alice', 'connector-1');
      await chat.add('lobby', 'bob', 'connector-2');
      // connector-1 (re)starts: Pomelo's plugin would KEYS + DEL every channel here.
      const restarted = await service(settings, 'connector-1', {}, true);
      await restarted.stop();
      assert.deepEqual(await chat.getMembersBySid('room', 'connector-1'), []);
      assert.deepEqual(await chat.getMembersBySid('lobby', 'connector-1'), []);
      assert.deepEqual(await chat.getMembersBySid('room', 'connector-2'), ['bob']);
      assert.deepEqual(await chat.getMembersBySid('lobby', 'connector-2'), ['bob']);
      assert.equal(await raw.exists(`{${settings.prefix}:fe:connector-1}:u:alice`, `{${settings.prefix}:fe:connector-1}:channels`), 0);
      assert.deepEqual(await raw.smembers(`{${settings.prefix}:fe:connector-2}:u:bob`).then((s) => s.sort()), ['lobby', 'room']);
      // With cleanOnStartUp off, a starting frontend leaves its memberships.
      await chat.add('room', 'alice', 'connector-1');
      const keeping = await service({ ...settings, cleanOnStartUp: false }, 'connector-1', {}, true);
      await keeping.stop();
      assert.deepEqual(await chat.getMembersBySid('room', 'connector-1'), ['alice']);
    } finally {
      await chat.stop();
    }
  });

  test('getChannel: a handle running the channel machine, open → destroyed, over Redis', async () => {
    const chat = await service(settingsFor(redis.url), 'chat-1', { connector: ['connector-1', 'connector-2'] });
    try {
      const room = chat.getChannel('hall', 'connector');
      assert.equal(chat.getChannel('hall', 'connector'), room, 'the same handle for the same name');
      assert.equal(await room.add('alice', 'connector-1'), true);
      assert.equal(await room.add('alice', 'connector-1'), false);
      await room.add('bob', 'connector-2');
      assert.deepEqual((await room.getMembers()).sort(), ['alice', 'bob']);
      const pushed = nextPush('connector-2');
      await nats.nc.flush();
      assert.deepEqual(await room.pushMessage('onChat', { text: 'hi' }), { failedSids: [] });
      assert.deepEqual((await pushed).uids, ['bob']);
      assert.equal(await room.leave('bob', 'connector-2'), true);
      await room.destroy();
      assert.equal(room.destroyed, true);
      assert.equal(room.machine.value, 'destroyed');
      assert.deepEqual(await chat.getMembersBySid('hall', 'connector-1'), [], 'destroyed in Redis');
      await assert.rejects(room.add('carol', 'connector-1'), /channel "hall" is destroyed: cannot add user "carol" \(frontend connector-1\)/);
      await assert.rejects(room.pushMessage('onChat', {}), /channel "hall" is destroyed: cannot push "onChat"/);
      assert.equal(await room.leave('alice', 'connector-1'), false);
      assert.notEqual(chat.getChannel('hall', 'connector'), room, 'a destroyed handle is replaced');
    } finally {
      await chat.stop();
    }
  });

  test('bad arguments and calls on a stopped service reject, naming the operation and the channel', async () => {
    const chat = await service(settingsFor(redis.url), 'chat-1');
    await assert.rejects(chat.add('room', '', 'connector-1'), (error: unknown) => error instanceof GlobalChannelError && /^globalChannelService\.add\("room"\): uid must be a non-empty string/.test(error.message));
    await assert.rejects(chat.add('a{b}', 'u', 'connector-1'), /add\("a\{b\}"\): the channel name may not contain/);
    await assert.rejects(chat.getMembersByChannelName('', 'room'), /getMembersByChannelName\("room"\): serverType must be a non-empty string/);
    await chat.stop();
    assert.equal(chat.state, 'stopped');
    await assert.rejects(chat.add('room', 'u', 'connector-1'), /globalChannelService\.add\("room"\): the service is stopped/);
  });

  test('a call before the service is ready rejects clearly; a Redis that never answers fails the start', async () => {
    const dead = settingsFor('redis://127.0.0.1:1');
    const early = new GlobalChannelService({ settings: dead, serverId: 's', frontend: false, nc: nats.nc, subjects, frontendsOfType: () => [], logger, connectTimeout: 300 });
    const starting = early.start();
    await assert.rejects(early.add('room', 'u', 'c'), /globalChannelService\.add\("room"\): the service is not ready yet \(connecting to Redis\)/);
    await assert.rejects(starting, /globalChannelService\.start\(\): Redis did not answer within 300 ms \(Redis 127\.0\.0\.1:1\/0\)/);
    assert.equal(early.state, 'failed');
  });
});

describe('Redis stopped and started again (AOF on)', () => {
  test('calls reject while it is away, the service reconnects by itself, membership is kept', { timeout: 60_000 }, async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'shaddock-aof-'));
    let own = await startRedis({ aofDir: dir });
    const chat = await service(settingsFor(own.url), 'chat-1', { connector: ['connector-1'] });
    try {
      await chat.add('room', 'alice', 'connector-1');
      const lost = chat.whenState('reconnecting');
      await own.stop();
      await lost;
      await assert.rejects(chat.add('room', 'bob', 'connector-1'), /globalChannelService\.add\("room"\): Redis is away \(connection to Redis lost\); reconnecting/);
      const back = chat.whenState('ready');
      own = await startRedis({ aofDir: dir, port: own.port });
      await back;
      assert.equal(chat.reconnects, 1);
      assert.deepEqual(await chat.getMembersBySid('room', 'connector-1'), ['alice'], 'kept through the restart by the AOF');
      await chat.add('room', 'bob', 'connector-1');
      assert.deepEqual((await chat.getMembersBySid('room', 'connector-1')).sort(), ['alice', 'bob']);
    } finally {
      await chat.stop();
      await own.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('Sentinel failover (one master, one replica, one sentinel on loopback)', () => {
  test('the service follows the new master; membership replicated before the failover is kept', { timeout: 90_000 }, async () => {
    const master = await startRedis();
    const replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
    const sentinel = await startRedisSentinel(master.port, { name: 'mymaster', downAfterMs: 1_000 });
    const direct = new Redis(master.port, '127.0.0.1');
    const watcher = new Redis(sentinel.port, '127.0.0.1');
    let chat: GlobalChannelService | undefined;
    try {
      // The sentinel knows the replica (it learns it from the master's INFO) before the test goes on.
      await eventually(async () => (((await watcher.call('SENTINEL', 'REPLICAS', 'mymaster')) as unknown[]).length > 0 ? true : undefined), 'the sentinel knows the replica');
      const settings = globalChannelSettings({ sentinels: [{ host: '127.0.0.1', port: sentinel.port }], name: 'mymaster', prefix: `t${++prefixes}` }, { env: 'test', cluster: 'gc' });
      chat = await service(settings, 'chat-1', { connector: ['connector-1'] });
      await chat.add('room', 'alice', 'connector-1');
      assert.equal(await direct.wait(1, 5_000), 1, 'the replica has the write');
      direct.disconnect();
      const lost = chat.whenState('reconnecting');
      await master.stop();
      await lost;
      await chat.whenState('ready');
      // The sentinel promoted the replica: the service talks to it now.
      const [host, port] = (await watcher.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'mymaster')) as [string, string];
      assert.deepEqual([host, Number(port)], ['127.0.0.1', replica.port]);
      assert.deepEqual(await chat.getMembersBySid('room', 'connector-1'), ['alice']);
      // Writes right after a failover may still meet the old role for a moment: retry on failure only.
      await eventually(() => chat!.add('room', 'bob', 'connector-1').then(() => true, () => undefined), 'a write on the new master');
      assert.deepEqual((await chat.getMembersBySid('room', 'connector-1')).sort(), ['alice', 'bob']);
    } finally {
      await chat?.stop();
      direct.disconnect();
      watcher.disconnect();
      await sentinel.stop();
      await replica.stop();
      await master.stop();
    }
  });
});

describe('Redis Cluster (three masters on loopback)', () => {
  test('every operation works across slots; a channel\'s keys share one slot; cleanup scans every node', { timeout: 90_000 }, async () => {
    const clusterArgs = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000'];
    const nodes = await Promise.all([0, 1, 2].map(() => startRedis({ args: clusterArgs })));
    const links = nodes.map((node) => new Redis(node.port, '127.0.0.1'));
    let chat: GlobalChannelService | undefined;
    try {
      // Slots split in three, the nodes introduced to each other: a cluster without redis-cli.
      await Promise.all(links.map((link, i) => link.call('CLUSTER', 'ADDSLOTSRANGE', String(Math.floor((16384 * i) / 3)), String(Math.floor((16384 * (i + 1)) / 3) - 1))));
      for (const node of nodes.slice(1)) await links[0]!.call('CLUSTER', 'MEET', '127.0.0.1', String(node.port));
      await eventually(async () => ((await Promise.all(links.map((link) => link.call('CLUSTER', 'INFO')))) as string[]).every((info) => info.includes('cluster_state:ok')) ? true : undefined, 'the cluster is ok', 30_000);
      const settings = globalChannelSettings({ cluster: nodes.map((node) => ({ host: '127.0.0.1', port: node.port })), prefix: `t${++prefixes}` }, { env: 'test', cluster: 'gc' });
      chat = await service(settings, 'chat-1', { connector: ['connector-1', 'connector-2'] });
      const keys = new GlobalChannelStore(raw, settings.prefix).keys;
      const slots = await Promise.all([keys.members('room', 'connector-1'), keys.members('room', 'connector-2'), keys.frontends('room'), keys.version('room')].map((key) => links[0]!.call('CLUSTER', 'KEYSLOT', key)));
      assert.equal(new Set(slots).size, 1, `one slot for the channel's keys: ${slots.join(', ')}`);
      // Enough channels that they land on every node.
      const rooms = Array.from({ length: 12 }, (_, i) => `room-${i}`);
      for (const room of rooms) {
        await chat.add(room, 'alice', 'connector-1');
        await chat.add(room, 'bob', 'connector-2');
      }
      const owners = new Set(await Promise.all(rooms.map((room) => links[0]!.call('CLUSTER', 'KEYSLOT', keys.members(room, 'connector-1')).then((slot) => Math.floor(((slot as number) * 3) / 16384)))));
      assert.equal(owners.size, 3, 'the rooms are spread over the three nodes');
      assert.deepEqual((await chat.getMembersByChannelName('connector', 'room-0')).sort(), ['alice', 'bob']);
      const pushed = nextPush('connector-2');
      await nats.nc.flush();
      assert.deepEqual(await chat.pushMessage('connector', 'onChat', { text: 'hi' }, 'room-5'), { failedSids: [] });
      assert.deepEqual((await pushed).uids, ['bob']);
      assert.deepEqual((await chat.leaveAll('alice', 'connector-1')).sort(), [...rooms].sort());
      await chat.add('room-0', 'carol', 'connector-1');
      await chat.destroyChannel('room-1');
      assert.deepEqual(await chat.getMembersBySid('room-1', 'connector-2'), []);
      // A restarting connector-2 cleans its own keys on every node, and nothing of connector-1.
      const restarted = await service(settings, 'connector-2', {}, true);
      await restarted.stop();
      for (const room of rooms) assert.deepEqual(await chat.getMembersBySid(room, 'connector-2'), [], room);
      assert.deepEqual(await chat.getMembersBySid('room-0', 'connector-1'), ['carol']);
    } finally {
      await chat?.stop();
      for (const link of links) link.disconnect();
      await Promise.all(nodes.map((node) => node.stop()));
    }
  });
});

// The store alone, for cleanup from the master (which has no service).
test('GlobalChannelStore.cleanFrontend touches only that frontend', async () => {
  const prefix = `t${++prefixes}`;
  const store = new GlobalChannelStore(raw, prefix);
  await store.add('x', 'u1', 'f1');
  await store.add('x', 'u2', 'f2');
  assert.equal(await store.cleanFrontend('f1'), 1);
  assert.deepEqual(await store.membersOf('x', 'f1'), []);
  assert.deepEqual(await store.membersOf('x', 'f2'), ['u2']);
  assert.deepEqual(await raw.smembers(`{${prefix}:x}:fe`), ['f2']);
});
