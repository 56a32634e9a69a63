// examples/chat in environment `global` (rooms are global channels, the master's embedded
// redis-server holds them): what a kill -9 of a chat server or of a connector does to a room.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { readRunFile } from '../src/actors/master/run-file.ts';
import { createClient, type ShaddockClient, type UntypedRoutes } from '../src/client/node.ts';
import { eventually, isAlive, nextHeartbeat, repoRoot, runCli, startCluster, useNats, waitForExit, type TestCluster } from './harness/index.ts';

const chatDir = join(repoRoot, 'examples/chat');
const env = 'global';
const clusterName = 'chat-global';
const prefix = `shaddock:${clusterName}:channel`;
const nats = useNats();
let cluster: TestCluster | undefined;
let redis: Redis | undefined;
let redisPid: number | undefined;
const clients: ShaddockClient<UntypedRoutes>[] = [];

async function portOf(serverId: string): Promise<number> {
  const row = (await cluster!.list()).find((r) => r.id === serverId);
  assert.ok(row?.clientPort, `${serverId} has a client port`);
  return row.clientPort;
}

/** A user on connector `serverId` who entered room `rid`; `chats` collects its onChat pushes. */
async function enter(serverId: string, username: string, rid: string): Promise<{ client: ShaddockClient<UntypedRoutes>; users: unknown; chats: unknown[]; nextChat: () => Promise<unknown> }> {
  const client = createClient<UntypedRoutes>({ transport: 'ws', host: '127.0.0.1', port: await portOf(serverId), reconnect: false });
  clients.push(client);
  const chats: unknown[] = [];
  const waiting: ((body: unknown) => void)[] = [];
  client.on('onChat', (body: unknown) => {
    chats.push(body);
    waiting.shift()?.(body);
  });
  await client.connect();
  const reply = (await client.request('connector.entryHandler.enter', { username, rid })) as { users?: string[] };
  assert.ok(reply.users, `${username} entered ${rid}: ${JSON.stringify(reply)}`);
  return { client, users: reply.users, chats, nextChat: () => new Promise((resolve) => waiting.push(resolve)) };
}

function members(rid: string, sid: string): Promise<string[]> {
  return redis!.smembers(`{${prefix}:${rid}}:m:${sid}`).then((uids) => uids.sort());
}

describe('examples/chat env global: rooms in Redis', () => {
  before(async () => {
    process.env.SHADDOCK_WEB_PORT = '0';
    cluster = await startCluster(chatDir, env, nats.url);
    const run = readRunFile(chatDir, env);
    assert.ok(run?.embeddedRedis, `the master started an embedded redis-server and says where: ${JSON.stringify(run)}`);
    redisPid = run.embeddedRedisPid;
    redis = new Redis(run.embeddedRedis);
  });

  after(async () => {
    await Promise.all(clients.map((client) => client.disconnect()));
    redis?.disconnect();
    if (cluster) await runCli(['stop', ...cluster.args]);
    await cluster?.destroy();
    // The master stops its redis-server; one left by a master killed above is killed here, by pid.
    if (redisPid !== undefined && isAlive(redisPid)) process.kill(redisPid, 'SIGKILL');
    if (redisPid !== undefined) await waitForExit(redisPid);
  });

  test('two connectors, one room; kill -9 of every chat server: after their restart the room is whole and chatting', { timeout: 90_000 }, async () => {
    const alice = await enter('connector-server-1', 'alice', 'lobby');
    const bob = await enter('connector-server-2', 'bob', 'lobby');
    assert.deepEqual((bob.users as string[]).sort(), ['alice', 'bob']);
    assert.deepEqual(await members('lobby', 'connector-server-1'), ['alice*lobby']);
    assert.deepEqual(await members('lobby', 'connector-server-2'), ['bob*lobby']);
    const first = bob.nextChat();
    await alice.client.request('chat.chatHandler.send', { content: 'before', target: '*' });
    assert.deepEqual(await first, { msg: 'before', from: 'alice', target: '*' });

    // Both chat servers die at once: whichever holds the lobby is among them.
    const chats = (await cluster!.list()).filter((row) => row.serverType === 'chat');
    const back = chats.map((row) => nextHeartbeat(nats.nc, clusterName, (info) => info.id === row.id && info.state === 'running' && info.pid !== row.pid));
    for (const row of chats) process.kill(row.pid!, 'SIGKILL');
    await Promise.all(back);

    const after = bob.nextChat();
    assert.deepEqual(await alice.client.request('chat.chatHandler.send', { content: 'after', target: '*' }), { code: 200 }, 'alice is still in the room: no need to enter again');
    assert.deepEqual(await after, { msg: 'after', from: 'alice', target: '*' });
    const carol = await enter('connector-server-1', 'carol', 'lobby');
    assert.deepEqual((carol.users as string[]).sort(), ['alice', 'bob', 'carol'], 'a newcomer sees everyone who was there before the kill');
  });

  test('a closed session leaves its room', { timeout: 30_000 }, async () => {
    const dave = await enter('connector-server-1', 'dave', 'den');
    assert.deepEqual(await members('den', 'connector-server-1'), ['dave*den']);
    await dave.client.disconnect();
    await eventually(async () => ((await members('den', 'connector-server-1')).length === 0 ? true : undefined), 'dave gone from den');
    assert.deepEqual(await redis!.exists(`{${prefix}:fe:connector-server-1}:u:dave*den`), 0);
  });

  test('kill -9 of a connector: the leading master removes its members from every room within a few seconds', { timeout: 30_000 }, async () => {
    await enter('connector-server-2', 'erin', 'attic');
    await enter('connector-server-1', 'frank', 'attic');
    assert.deepEqual(await members('attic', 'connector-server-2'), ['erin*attic']);
    assert.ok((await members('lobby', 'connector-server-2')).includes('bob*lobby'));
    const connector = (await cluster!.list()).find((row) => row.id === 'connector-server-2')!;
    process.kill(connector.pid!, 'SIGKILL');
    const started = Date.now();
    await eventually(async () => ((await members('attic', 'connector-server-2')).length === 0 ? true : undefined), 'erin gone from attic', 10_000);
    assert.ok(Date.now() - started < 10_000);
    assert.deepEqual(await members('lobby', 'connector-server-2'), [], 'and bob from the lobby');
    // The cleanup removes the members before the frontend's index keys: wait for those too.
    await eventually(async () => ((await redis!.exists(`{${prefix}:fe:connector-server-2}:channels`, `{${prefix}:fe:connector-server-2}:u:erin*attic`)) === 0 ? true : undefined), "connector-server-2's index keys gone", 10_000);
    assert.deepEqual(await members('attic', 'connector-server-1'), ['frank*attic'], "the other connector's members stay");
  });
});
