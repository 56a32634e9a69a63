// Integration: the example chat cluster seen from outside, with nothing of Shaddock on the client
// side: NATS micro discovery ($SRV.PING / INFO / STATS, checked against the io.nats.micro.v1
// schemas' required fields and patterns), remote calls in JSON (Content-Type header) answered in
// JSON, also over the NATS text protocol on a raw socket, a push received on a frontend's push
// subject, and every server's Prometheus metrics: on the leading master's console /metrics, and
// through the same handler on a tiny HTTP server of this test's own, where exact counts are checked.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect as tcpConnect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createInbox, headers, type Msg } from '@nats-io/transport-node';
import { Packr } from 'msgpackr';
import { Registry } from 'prom-client';
import { countRestarts, metricsHandler } from '../src/actors/master/metrics.ts';
import { ServerDirectory } from '../src/actors/server/directory.ts';
import { subjects } from '../src/transport/subjects.ts';
import { PinusClient } from './harness/pinus-client.ts';
import { eventually, repoRoot, startCluster, useNats, type TestCluster } from './harness/index.ts';
import { readRunFile } from '../src/actors/master/run-file.ts';

const bus = useNats();
const SERVERS = ['chat-server-1', 'chat-server-2', 'connector-server-1', 'connector-server-2', 'gate-server-1'];
/** What answers `$SRV.*`: every server and the master. */
const SERVICES = [...SERVERS, 'master-server-1'].sort();
const base = 'shaddock.chat';
/** A msgpack library of the client's own (not Shaddock's codec). */
const msgpack = new Packr({ useRecords: false, mapsAsObjects: true });
const text = new TextDecoder();
const json = (msg: Msg): Record<string, unknown> => JSON.parse(text.decode(msg.data)) as Record<string, unknown>;

// ---- the io.nats.micro.v1 schemas (https://nats.io/schemas/micro/v1/*.json): required fields and patterns
const NAME = /^[a-zA-Z0-9_-]+$/;
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function checkCommon(reply: Record<string, unknown>, type: string): void {
  assert.equal(reply.type, `io.nats.micro.v1.${type}`);
  assert.match(String(reply.name), NAME, 'name');
  assert.ok(typeof reply.id === 'string' && reply.id.length > 0, 'id');
  assert.match(String(reply.version), SEMVER, 'version');
  if (reply.metadata !== undefined && reply.metadata !== null) {
    for (const value of Object.values(reply.metadata as object)) assert.equal(typeof value, 'string', 'metadata values are strings');
  }
}

function checkPing(reply: Record<string, unknown>): void {
  checkCommon(reply, 'ping_response');
}

function checkInfo(reply: Record<string, unknown>): void {
  checkCommon(reply, 'info_response');
  assert.equal(typeof reply.description, 'string', 'description');
  assert.ok(Array.isArray(reply.endpoints), 'endpoints');
  for (const endpoint of reply.endpoints as Record<string, unknown>[]) {
    assert.match(String(endpoint.name), NAME, 'endpoint name');
    assert.ok(typeof endpoint.subject === 'string' && endpoint.subject.length > 0, 'endpoint subject');
  }
}

function checkStats(reply: Record<string, unknown>): void {
  checkCommon(reply, 'stats_response');
  assert.match(String(reply.started), RFC3339, 'started');
  assert.ok(Array.isArray(reply.endpoints), 'endpoints');
  for (const endpoint of reply.endpoints as Record<string, unknown>[]) {
    assert.match(String(endpoint.name), NAME, 'endpoint name');
    assert.ok(typeof endpoint.subject === 'string' && endpoint.subject.length > 0, 'endpoint subject');
    for (const field of ['num_requests', 'num_errors', 'processing_time', 'average_processing_time']) {
      assert.ok(Number.isInteger(endpoint[field]), `endpoint ${field} is an integer`);
    }
    assert.equal(typeof endpoint.last_error, 'string', 'last_error');
  }
}

/**
 * `nats micro ls`: one request on `subject`, every reply collected until `expected` services
 * have answered (the event that ends the wait), bounded by a deadline.
 */
async function discover(subject: string, expected: number): Promise<Record<string, unknown>[]> {
  const inbox = createInbox();
  const replies: Record<string, unknown>[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${subject}: ${replies.length} of ${expected} answered`)), 5_000);
    const subscription = bus.nc.subscribe(inbox, {
      callback: (_error, msg) => {
        replies.push(json(msg));
        if (replies.length < expected) return;
        clearTimeout(timer);
        subscription.unsubscribe();
        resolve();
      },
    });
    bus.nc.publish(subject, new Uint8Array(), { reply: inbox });
  });
  return replies;
}

async function one(subject: string): Promise<Record<string, unknown>> {
  return json(await bus.nc.request(subject, new Uint8Array(), { timeout: 5_000 }));
}

/** A remote called in JSON, as a client with no msgpack library would. */
async function jsonCall(serverId: string, body: string): Promise<{ reply: Record<string, unknown>; contentType: string }> {
  const marked = headers();
  marked.set('Content-Type', 'application/json');
  const msg = await bus.nc.request(`${base}.rpc.${serverId}`, new TextEncoder().encode(body), { timeout: 5_000, headers: marked });
  return { reply: json(msg), contentType: msg.headers?.get('Content-Type') ?? '' };
}

/** A remote called in msgpack, with the client's own msgpack library. */
async function msgpackCall(serverId: string, remote: string, method: string, args: unknown[]): Promise<{ ok: boolean }> {
  const msg = await bus.nc.request(`${base}.rpc.${serverId}`, msgpack.pack({ remote, method, args }), { timeout: 5_000 });
  return msgpack.unpack(msg.data) as { ok: boolean };
}

describe('the chat cluster seen by tools that know only NATS', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster(join(repoRoot, 'examples/chat'), 'test', bus.url);
  });
  after(async () => {
    await cluster?.destroy();
  });

  test('$SRV.PING, $SRV.INFO and $SRV.STATS find every server and the master, plain, by name and by name and id', async () => {
    const pings = await discover('$SRV.PING', SERVICES.length);
    pings.forEach(checkPing);
    assert.deepEqual(pings.map((ping) => ping.id).sort(), SERVICES);
    const masterPing = pings.find((ping) => ping.id === 'master-server-1')!;
    assert.equal(masterPing.name, 'shaddock-chat-master');
    assert.equal((masterPing.metadata as Record<string, string>).server_type, 'master');
    const chatPing = pings.find((ping) => ping.id === 'chat-server-1')!;
    assert.equal(chatPing.name, 'shaddock-chat-chat');
    assert.deepEqual((chatPing.metadata as Record<string, string>).server_type, 'chat');

    const infos = await discover('$SRV.INFO', SERVICES.length);
    infos.forEach(checkInfo);
    const endpoints = (id: string) => ((infos.find((info) => info.id === id)!.endpoints as { name: string; subject: string }[]));
    assert.ok(endpoints('chat-server-1').some((e) => e.name === 'remote-chatRemote' && e.subject === `${base}.rpc.chat-server-1`));
    assert.ok(endpoints('chat-server-2').some((e) => e.name === 'handler-chatHandler' && e.subject === `${base}.handler.chat-server-2`));
    assert.ok(endpoints('connector-server-1').some((e) => e.name === 'handler-entryHandler'));
    assert.ok(endpoints('gate-server-1').some((e) => e.name === 'handler-gateHandler'));
    assert.deepEqual(endpoints('master-server-1').map((e) => [e.name, e.subject]), [['admin', `${base}.admin`]]);

    // By name: the two chat servers; by name and id: one.
    const byName = await discover('$SRV.PING.shaddock-chat-chat', 2);
    assert.deepEqual(byName.map((ping) => ping.id).sort(), ['chat-server-1', 'chat-server-2']);
    const info = await one('$SRV.INFO.shaddock-chat-connector.connector-server-2');
    checkInfo(info);
    assert.equal(info.id, 'connector-server-2');
    const stats = await discover('$SRV.STATS', SERVICES.length);
    stats.forEach(checkStats);
  });

  test('STATS counts each remote call and error once its promise has settled', async () => {
    const statsOf = async () => {
      const reply = await one('$SRV.STATS.shaddock-chat-chat.chat-server-2');
      checkStats(reply);
      return (reply.endpoints as Record<string, number | string>[]).find((e) => e.name === 'remote-chatRemote')!;
    };
    const before = await statsOf();
    for (let i = 0; i < 3; i++) assert.equal((await msgpackCall('chat-server-2', 'chatRemote', 'whereIs', ['room-x'])).ok, true);
    assert.equal((await msgpackCall('chat-server-2', 'chatRemote', 'fail', ['full'])).ok, false);
    const now = await statsOf();
    assert.equal(Number(now.num_requests) - Number(before.num_requests), 4);
    assert.equal(Number(now.num_errors) - Number(before.num_errors), 1);
    assert.match(String(now.last_error), /full/);
    assert.ok(Number(now.processing_time) > Number(before.processing_time), 'processing time grows');
    assert.equal(now.average_processing_time, Math.round(Number(now.processing_time) / Number(now.num_requests)));
  });

  test("the master's STATS count the CLI's admin requests, a refused one as an error", async () => {
    const statsOf = async () => {
      const reply = await one('$SRV.STATS.shaddock-chat-master.master-server-1');
      checkStats(reply);
      return (reply.endpoints as Record<string, number | string>[]).find((e) => e.name === 'admin')!;
    };
    const admin = async (token: string) => msgpack.unpack((await bus.nc.request(`${base}.admin`, msgpack.pack({ command: 'list', token }), { timeout: 5_000 })).data) as { ok: boolean };
    const before = await statsOf();
    assert.equal((await admin(readRunFile(join(repoRoot, 'examples/chat'), 'test')!.adminToken)).ok, true);
    assert.equal((await admin('not-the-token')).ok, false);
    const now = await statsOf();
    assert.equal(Number(now.num_requests) - Number(before.num_requests), 2);
    assert.equal(Number(now.num_errors) - Number(before.num_errors), 1);
    assert.match(String(now.last_error), /token/);
  });

  test('a remote called in JSON answers in JSON; a bad JSON body gets a JSON error', async () => {
    const { reply, contentType } = await jsonCall('chat-server-1', JSON.stringify({ remote: 'chatRemote', method: 'whereIs', args: ['room-j'] }));
    assert.equal(contentType, 'application/json');
    assert.deepEqual(reply, { ok: true, result: { serverId: 'chat-server-1', users: 0 } });
    const failed = await jsonCall('chat-server-1', JSON.stringify({ remote: 'chatRemote', method: 'fail', args: ['nope'] }));
    assert.deepEqual(failed.reply, { ok: false, error: { name: 'Error', message: 'nope', code: 'CHAT_FAILED' } });
    const garbled = await jsonCall('chat-server-1', '{"remote": ');
    assert.equal(garbled.contentType, 'application/json');
    assert.equal(garbled.reply.ok, false);
    assert.equal((garbled.reply.error as { code: string }).code, 'BAD_REQUEST');
  });

  test('a remote called in JSON over the NATS text protocol on a raw socket (no NATS library)', async () => {
    const { port } = new URL(bus.url);
    const socket = tcpConnect(Number(port), '127.0.0.1');
    try {
      let buffer = Buffer.alloc(0);
      let wake: () => void = () => {};
      socket.on('data', (data: Buffer) => {
        buffer = Buffer.concat([buffer, data]);
        wake();
      });
      /** Waits for data until `parse` finds what it looks for in the buffer. */
      const read = async <T>(parse: () => T | undefined): Promise<T> => {
        for (;;) {
          const found = parse();
          if (found !== undefined) return found;
          await new Promise<void>((resolve) => (wake = resolve));
        }
      };
      await read(() => (buffer.includes('\r\n') && buffer.toString().startsWith('INFO ') ? true : undefined));
      buffer = Buffer.alloc(0);
      const body = JSON.stringify({ remote: 'chatRemote', method: 'whereIs', args: ['room-raw'] });
      const head = 'NATS/1.0\r\nContent-Type: application/json\r\n\r\n';
      socket.write(`CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"lang":"raw","version":"0"}\r\n`);
      socket.write('SUB raw.reply 1\r\n');
      socket.write(`HPUB ${base}.rpc.chat-server-2 raw.reply ${Buffer.byteLength(head)} ${Buffer.byteLength(head) + Buffer.byteLength(body)}\r\n${head}${body}\r\n`);
      const reply = await read(() => {
        const text = buffer.toString();
        const match = /HMSG raw\.reply 1 (\d+) (\d+)\r\n/.exec(text);
        if (!match) return undefined;
        const start = match.index + match[0].length;
        const total = Number(match[2]);
        if (Buffer.byteLength(text.slice(start)) < total) return undefined;
        const message = Buffer.from(text.slice(start)).subarray(0, total).toString();
        return { headers: message.slice(0, Number(match[1])), body: message.slice(Number(match[1])) };
      });
      assert.match(reply.headers, /Content-Type: application\/json/);
      assert.deepEqual(JSON.parse(reply.body), { ok: true, result: { serverId: 'chat-server-2', users: 0 } });
    } finally {
      socket.destroy();
    }
  });

  test('a JSON client joins a room through a remote and receives the room\'s pushes on its push subject', async () => {
    // This client plays a frontend of its own: the room's pushes for its user come to push.<its id>.
    const frontend = 'json-frontend';
    const pushes: { route: string; body: unknown }[] = [];
    let pushed: () => void = () => {};
    const arrived = new Promise<void>((resolve) => (pushed = resolve));
    const subscription = bus.nc.subscribe(`${base}.push.${frontend}`, {
      callback: (_error, msg) => {
        const push = msgpack.unpack(msg.data) as { route: string; body: Uint8Array; uids: string[] };
        pushes.push({ route: push.route, body: JSON.parse(text.decode(push.body)) });
        pushed();
      },
    });
    await bus.nc.flush();
    const join = (uid: string, sid: string) => jsonCall('chat-server-1', JSON.stringify({ remote: 'chatRemote', method: 'add', args: [uid, sid, 'room-json'] }));
    assert.deepEqual((await join('jay*room-json', frontend)).reply, { ok: true, result: ['jay'] });
    // Someone else enters: the room (jay included) hears onAdd.
    assert.deepEqual((await join('kim*room-json', 'connector-server-1')).reply, { ok: true, result: ['jay', 'kim'] });
    await arrived;
    subscription.unsubscribe();
    assert.deepEqual(pushes, [{ route: 'onAdd', body: { user: 'kim' } }]);
  });

  test('the leading master serves every server\'s metrics on its console\'s /metrics, behind the admin token', async () => {
    const dir = join(repoRoot, 'examples/chat');
    const run = await eventually(async () => {
      const file = readRunFile(dir, 'test');
      return file?.console ? file : undefined;
    }, 'the run file to name the console');
    const url = new URL('metrics', run.console!).href;
    assert.equal((await fetch(url, { redirect: 'manual' })).status, 401);
    const response = await fetch(url, { headers: { authorization: `Bearer ${run.adminToken}` } });
    assert.equal(response.status, 200);
    const body = await response.text();
    for (const id of SERVERS) {
      const type = id.replace(/-server-\d+$/, '');
      assert.ok(body.includes(`shaddock_scrape_up{server_id="${id}",server_type="${type}"} 1`), `${id} answered the master`);
      assert.ok(body.includes(`shaddock_restarts_total{server_id="${id}",server_type="${type}"} 0`), `the master counts ${id}'s restarts`);
      assert.ok(body.includes(`shaddock_nats_reconnects_total{server_id="${id}",server_type="${type}"} 0`), `${id}'s own metrics`);
    }
    assert.ok(body.includes('shaddock_nats_reconnects_total{server_id="master-server-1",server_type="master"} 0'), 'the master\'s own');
    assert.match(body, /shaddock_rpc_calls_total\{server_id="chat-server-2",server_type="chat",remote="chatRemote",method="whereIs",outcome="ok"\} \d+/);
  });

  test('/metrics gathers every server\'s metrics over NATS, labelled server_id and server_type, counters moving', async () => {
    const names = subjects('shaddock', 'chat');
    const directory = new ServerDirectory(bus.nc, names, 3_000);
    const ready = new Promise<void>((resolve) => {
      const check = () => SERVERS.every((id) => directory.get(id)) && resolve();
      directory.on('heartbeat', check);
    });
    directory.start();
    await ready;
    const registry = new Registry();
    countRestarts(registry, () => [{ id: 'chat-server-1', serverType: 'chat', restarts: 2 }]);
    const handler = metricsHandler({ nc: () => bus.nc, subjects: names, servers: () => directory.all(), self: { id: 'master-server-1', registry }, timeout: 2_000 });
    const server: Server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const scrape = async (): Promise<string> => {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
      return response.text();
    };
    const value = (body: string, name: string, labels: Record<string, string>): number | undefined => {
      for (const line of body.split('\n')) {
        const match = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
        if (!match || match[1] !== name) continue;
        const has = Object.fromEntries([...match[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
        if (Object.entries(labels).every(([k, v]) => has[k] === v)) return Number(match[3]);
      }
      return undefined;
    };
    const client = await PinusClient.connect('tcp', (await cluster.list()).find((row) => row.id === 'connector-server-2')!.clientPort!);
    try {
      const entered = (await client.request('connector.entryHandler.enter', { username: 'mia', rid: 'room-m' })) as { users: string[] };
      assert.deepEqual(entered.users, ['mia']);
      assert.deepEqual(await client.request('chat.chatHandler.send', { content: 'hi', target: '*' }), { code: 200 });

      const first = await scrape();
      for (const id of SERVERS) {
        const type = id.replace(/-server-\d+$/, '');
        assert.equal(value(first, 'shaddock_scrape_up', { server_id: id, server_type: type }), 1, `${id} answered`);
        assert.equal(value(first, 'shaddock_nats_reconnects_total', { server_id: id, server_type: type }), 0, `${id} counts reconnects`);
      }
      assert.equal(value(first, 'shaddock_restarts_total', { server_id: 'chat-server-1', server_type: 'chat' }), 2, 'the master\'s own metrics keep their labels');
      assert.equal(value(first, 'shaddock_client_connections', { server_id: 'connector-server-2', server_type: 'connector' }), 1);
      assert.equal(value(first, 'shaddock_requests_total', { server_id: 'connector-server-2', route: 'connector.entryHandler.enter', outcome: 'ok' }), 1);
      // The room's chat server ran the forwarded send and pushed to the room.
      const chat = SERVERS.filter((id) => id.startsWith('chat')).find((id) => value(first, 'shaddock_requests_total', { server_id: id, route: 'chat.chatHandler.send' }) === 1);
      assert.ok(chat, 'one chat server handled chat.chatHandler.send');
      assert.ok((value(first, 'shaddock_pushes_total', { server_id: chat }) ?? 0) >= 1, `${chat} counted its pushes`);
      assert.ok((value(first, 'shaddock_rpc_calls_total', { server_id: chat, remote: 'chatRemote', method: 'add', outcome: 'ok' }) ?? 0) >= 1);
      assert.equal(
        value(first, 'shaddock_rpc_duration_seconds_count', { server_id: chat, remote: 'chatRemote', method: 'add' }),
        value(first, 'shaddock_rpc_calls_total', { server_id: chat, remote: 'chatRemote', method: 'add', outcome: 'ok' }),
        'one latency observation per call',
      );

      const calls = (body: string) => value(body, 'shaddock_rpc_calls_total', { server_id: 'chat-server-2', remote: 'chatRemote', method: 'whereIs', outcome: 'ok' }) ?? 0;
      const errors = (body: string) => value(body, 'shaddock_rpc_calls_total', { server_id: 'chat-server-2', remote: 'chatRemote', method: 'fail', outcome: 'error' }) ?? 0;
      for (let i = 0; i < 5; i++) await msgpackCall('chat-server-2', 'chatRemote', 'whereIs', ['room-z']);
      await msgpackCall('chat-server-2', 'chatRemote', 'fail', ['boom']);
      const unknown = (body: string) => value(body, 'shaddock_rpc_calls_total', { server_id: 'chat-server-2', remote: '_unknown', method: '_unknown', outcome: 'error' }) ?? 0;
      assert.equal((await msgpackCall('chat-server-2', 'chatRemote', 'noSuchMethod', [])).ok, false);
      const second = await scrape();
      assert.equal(calls(second) - calls(first), 5);
      assert.equal(errors(second) - errors(first), 1);
      // A name the server does not serve adds no label set of its own.
      assert.equal(unknown(second) - unknown(first), 1);
      assert.ok(!second.includes('noSuchMethod'));
    } finally {
      client.close();
      directory.stop();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
