// The client SDK (src/client): first against a scripted server on raw TCP, for what a real server
// does not do on demand (refused handshakes, malformed bytes, silence, out-of-order responses),
// then against the real example chat cluster over WebSocket and TCP: gate → connector → chat.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  createClient,
  DisconnectedError,
  HandshakeError,
  nodeWebSocketTransport,
  ProtocolError,
  RequestTimeoutError,
  tcpTransport,
  type DisconnectEvent,
  type HandlerRoutes,
  type NodeClientOptions,
  type ShaddockClient,
  type TransportFactory,
  type UntypedRoutes,
} from '../src/client/node.ts';
import { decode, encode } from '../src/transport/codec.ts';
import {
  decodeMessage,
  decodePackages,
  encodeMessage,
  encodePackage,
  MessageType,
  PackageReader,
  PackageType,
  type Message,
} from '../src/transport/connector/protocol.ts';
import { subjects } from '../src/transport/subjects.ts';
import type { Handlers } from '../src/types.ts';
import '../examples/chat/app/remotes.ts';
import { repoRoot, runCli, startCluster, startNats, type RunningService, type TestCluster } from './harness/index.ts';
import { isRecord, json, next, ok, parse, scriptedServer, type ScriptedServer } from './harness/scripted-server.ts';

// ---------------------------------------------------------------------------------------------
// A scripted server (test/harness/scripted-server.ts)
// ---------------------------------------------------------------------------------------------

describe('the client against a scripted server (TCP)', () => {
  let server: ScriptedServer;
  const clients: ShaddockClient<UntypedRoutes>[] = [];
  const client = (options: Partial<NodeClientOptions> = {}): ShaddockClient<UntypedRoutes> => {
    const c = createClient<UntypedRoutes>({ transport: 'tcp', host: '127.0.0.1', port: server.port, ...options });
    clients.push(c);
    return c;
  };

  before(async () => {
    server = await scriptedServer();
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.disconnect()));
    await server?.close();
  });

  test('handshake: sends type, version and user; resolves with the heartbeat, the user and the dict version', async () => {
    const c = client({ handshakeUser: { token: 't-1' } });
    const connected = c.connect();
    const conn = await server.accept();
    const hello = await conn.handshake(ok({ heartbeat: 0, dict: { 'a.b.c': 7 }, dictVersion: 'v1', useDict: true }, { motd: 'hi' }));
    assert.deepEqual(hello, { sys: { type: 'shaddock-js', version: '0.1.0' }, user: { token: 't-1' } });
    assert.deepEqual(await connected, { heartbeat: 0, user: { motd: 'hi' }, dictVersion: 'v1' });
    assert.equal(c.state, 'connected');
    assert.deepEqual(c.dict, { 'a.b.c': 7 });
  });

  test('requests: ids from 1, dictionary routes sent as codes, responses matched by id in any order, pushes mapped back', async () => {
    const c = client();
    const connected = c.connect();
    const conn = await server.accept();
    await conn.handshake(ok({ dict: { 'chat.chatHandler.send': 3, onChat: 4 }, dictVersion: 'd1', useDict: true }));
    await connected;
    const first = c.request('chat.chatHandler.send', { content: 'one' });
    const second = c.request('plain.route.here', { content: 'two' });
    const m1 = await conn.nextMessage();
    const m2 = await conn.nextMessage();
    assert.deepEqual({ ...m1, body: parse(m1.body) }, { type: MessageType.Request, id: 1, route: 3, compressRoute: true, gzip: false, body: { content: 'one' } });
    assert.deepEqual({ ...m2, body: parse(m2.body) }, { type: MessageType.Request, id: 2, route: 'plain.route.here', compressRoute: false, gzip: false, body: { content: 'two' } });
    // Answer the second first, and split the bytes of both answers across many small writes.
    const bytes = new Uint8Array([
      ...encodePackage(PackageType.Data, encodeMessage({ type: MessageType.Response, id: 2, route: '', compressRoute: false, body: json({ code: 500, message: 'nope' }) })),
      ...encodePackage(PackageType.Data, encodeMessage({ type: MessageType.Push, id: 0, route: 4, compressRoute: true, body: json({ msg: 'pushed' }) })),
      ...encodePackage(PackageType.Data, encodeMessage({ type: MessageType.Response, id: 1, route: '', compressRoute: false, body: json({ code: 200 }) })),
    ]);
    const pushed = next(c, 'onChat');
    conn.socket.setNoDelay(true);
    for (let at = 0; at < bytes.length; at += 3) {
      conn.socket.write(bytes.subarray(at, at + 3));
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.deepEqual(await second, { code: 500, message: 'nope' }, 'a {code: 500} body is data, not an error');
    assert.deepEqual(await first, { code: 200 });
    assert.deepEqual(await pushed, { msg: 'pushed' });
    c.notify('plain.notify', { n: 1 });
    const notify = await conn.nextMessage();
    assert.deepEqual({ type: notify.type, id: notify.id, route: notify.route, body: parse(notify.body) }, { type: MessageType.Notify, id: 0, route: 'plain.notify', body: { n: 1 } });
  });

  test('handshake codes 500 and 501 reject connect() with the code', async () => {
    for (const code of [500, 501]) {
      const c = client();
      const connected = c.connect();
      const conn = await server.accept();
      await conn.handshake({ code });
      await assert.rejects(connected, (error: unknown) => error instanceof HandshakeError && error.code === code && error.message.includes(String(code)));
      await conn.closed;
      assert.equal(c.state, 'closed');
    }
  });

  test('malformed bytes: error event with a ProtocolError naming the byte offset, pending requests rejected, disconnect', async () => {
    const c = client();
    const connected = c.connect();
    const conn = await server.accept();
    await conn.handshake(ok());
    await connected;
    const rejected = assert.rejects(c.request('x.y.z', {}), DisconnectedError);
    await conn.nextMessage();
    const errored = next<Error>(c, 'error');
    const disconnected = next<DisconnectEvent>(c, 'disconnect');
    // A good heartbeat, then a header of type 9: the offset counts from the start of the stream.
    conn.socket.write(new Uint8Array([PackageType.Heartbeat, 0, 0, 0, 9, 0, 0, 0]));
    const error = await errored;
    assert.ok(error instanceof ProtocolError);
    const at = encodePackage(PackageType.Handshake, json(ok())).length + 4;
    assert.equal(error.message, `unknown package type 9 (at byte ${at})`);
    await rejected;
    const event = await disconnected;
    assert.equal(event.reason, 'protocol');
    assert.equal(event.reconnecting, false);
    await conn.closed;
  });

  test('heartbeats: the server sends the first after the ack, the client answers each a heartbeat later; silence loses the connection', async () => {
    const c = client();
    const connected = c.connect();
    const conn = await server.accept();
    await conn.handshake(ok({ heartbeat: 0.1 }));
    await connected;
    const started = Date.now();
    for (let i = 0; i < 3; i++) {
      // Pomelo's rhythm: the server's heartbeat, then the client's answer one interval later.
      conn.send(PackageType.Heartbeat);
      assert.equal((await conn.next({ heartbeats: true })).type, PackageType.Heartbeat);
    }
    // Three answers, each at least 100 ms after the heartbeat it answers.
    assert.ok(Date.now() - started >= 290, `heartbeats came too fast (${Date.now() - started} ms)`);
    // Now the server stops answering: after about twice the interval, the client gives up.
    const disconnected = next<DisconnectEvent>(c, 'disconnect', 2_000);
    const event = await disconnected;
    assert.equal(event.reason, 'heartbeat');
    assert.equal(c.state, 'closed');
  });

  test('request timeout rejects with RequestTimeoutError; the late response is ignored', async () => {
    const c = client({ requestTimeout: 50 });
    const connected = c.connect();
    const conn = await server.accept();
    await conn.handshake(ok());
    await connected;
    const slow = c.request('slow.route.x', {});
    await assert.rejects(slow, RequestTimeoutError);
    const late = await conn.nextMessage();
    conn.sendMessage({ type: MessageType.Response, id: late.id, route: '', compressRoute: false, body: json({ late: true }) });
    const fast = c.request('fast.route.x', {}, { timeout: 2_000 });
    const m = await conn.nextMessage();
    conn.sendMessage({ type: MessageType.Response, id: m.id, route: '', compressRoute: false, body: json({ fast: true }) });
    assert.deepEqual(await fast, { fast: true });
  });

  test('reconnect with backoff: re-handshakes sending the cached dict version and keeps the dict the server left out', async () => {
    const c = client({ reconnect: { maxAttempts: 5, initialDelay: 20, maxDelay: 100 } });
    const connected = c.connect();
    const first = await server.accept();
    await first.handshake(ok({ dict: { 'a.b.c': 9 }, dictVersion: 'v7', useDict: true }));
    await connected;
    const pending = c.request('a.b.c', {});
    await first.nextMessage();
    const disconnected = next<DisconnectEvent>(c, 'disconnect');
    const reconnected = next(c, 'reconnect');
    first.socket.destroy();
    await assert.rejects(pending, (error: unknown) => error instanceof DisconnectedError && /closed/.test(error.message));
    assert.deepEqual(await disconnected, { reason: 'server', reconnecting: true });
    // The server is back: the client's attempt gets the short handshake (no dict: it has version v7).
    const second = await server.accept();
    const hello = await second.handshake(ok({ dictVersion: 'v7', useDict: true }));
    assert.equal(hello.sys.dictVersion, 'v7');
    assert.deepEqual(await reconnected, { heartbeat: 0, user: undefined, dictVersion: 'v7' });
    assert.equal(c.state, 'connected');
    const again = c.request('a.b.c', { n: 2 });
    const m = await second.nextMessage();
    assert.equal(m.compressRoute, true);
    assert.equal(m.route, 9);
    second.sendMessage({ type: MessageType.Response, id: m.id, route: '', compressRoute: false, body: json({ ok: 1 }) });
    assert.deepEqual(await again, { ok: 1 });
  });

  test('kick: the kick event carries the reason, and there is no reconnect after it', async () => {
    const c = client({ reconnect: { initialDelay: 10 } });
    const connected = c.connect();
    const conn = await server.accept();
    await conn.handshake(ok());
    await connected;
    const kicked = next<{ reason: string }>(c, 'kick');
    const disconnected = next<DisconnectEvent>(c, 'disconnect');
    conn.send(PackageType.Kick, json({ reason: 'go away' }));
    assert.deepEqual(await kicked, { reason: 'go away' });
    assert.deepEqual(await disconnected, { reason: 'kick', reconnecting: false });
    assert.equal(c.state, 'closed');
    await assert.rejects(c.request('a.b.c', {}), DisconnectedError);
  });

  test('disconnect() ends the connection without reconnecting, and requests then fail at once', async () => {
    const c = client({ reconnect: true });
    const connected = c.connect();
    const conn = await server.accept();
    await conn.handshake(ok());
    await connected;
    const disconnected = next<DisconnectEvent>(c, 'disconnect');
    await c.disconnect();
    assert.deepEqual(await disconnected, { reason: 'client', reconnecting: false });
    await conn.closed;
    await assert.rejects(c.request('a.b.c', {}), /not connected/);
  });

  test('connect() to a port nobody listens on rejects', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await assert.rejects(client({ port }).connect(), /ECONNREFUSED/);
  });
});

// ---------------------------------------------------------------------------------------------
// Types: HandlerRoutes derives routes from handler classes (checked by `tsc`, not at run time)
// ---------------------------------------------------------------------------------------------

class SampleHandler {
  private readonly secret = 1;
  readonly label = 'not a route';
  async send(msg: { content: string }, _session: unknown): Promise<{ delivered: number }> {
    return { delivered: msg.content.length + this.secret };
  }
  ping(): 'pong' {
    return 'pong';
  }
}
type SampleRoutes = HandlerRoutes<{ chat: { chatHandler: SampleHandler } }>;

/** Never called: the `@ts-expect-error` lines fail `npm run typecheck` if the types go loose. */
export function typeChecks(client: ShaddockClient<SampleRoutes>): void {
  const entry: { msg: { content: string }; response: { delivered: number } } = {} as SampleRoutes['chat.chatHandler.send'];
  void entry;
  void client.request('chat.chatHandler.send', { content: 'hi' }).then((reply) => reply.delivered.toFixed());
  void client.request('chat.chatHandler.ping').then((reply: 'pong') => reply);
  // @ts-expect-error: the message has the wrong shape
  void client.request('chat.chatHandler.send', { text: 'hi' });
  // @ts-expect-error: no such route
  void client.request('chat.chatHandler.label', {});
  // @ts-expect-error: the response is not a string
  void client.request('chat.chatHandler.send', { content: 'hi' }).then((reply: string) => reply);
}

// ---------------------------------------------------------------------------------------------
// The example chat cluster (env `test`: every clientPort is 0, the real ones come from `list`)
// ---------------------------------------------------------------------------------------------

// The routes of the example's handlers, derived from their classes (examples/chat/app/remotes.ts
// augments `Handlers`): a handler whose signature changes breaks this file's typecheck.
type ChatRoutes = HandlerRoutes<Handlers>;
type Enter = ChatRoutes['connector.entryHandler.enter']['response'];
type ChatPushes = {
  onChat: { msg: string; from: string; target: string };
  onAdd: { user: string };
  onLeave: { user: string };
};
type ChatClient = ShaddockClient<ChatRoutes, ChatPushes>;

const chatDir = join(repoRoot, 'examples/chat');

/** Every `route` push a client receives, in order, and a way to wait for the next matching one. */
function pushes<K extends keyof ChatPushes>(client: ChatClient, route: K): { all: ChatPushes[K][]; next(match?: (body: ChatPushes[K]) => boolean): Promise<ChatPushes[K]> } {
  const all: ChatPushes[K][] = [];
  const waiters: { match: (body: ChatPushes[K]) => boolean; resolve(body: ChatPushes[K]): void }[] = [];
  client.on(route, (body: ChatPushes[K]) => {
    all.push(body);
    for (const waiter of [...waiters]) {
      if (!waiter.match(body)) continue;
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(body);
    }
  });
  return {
    all,
    next: (match = () => true) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching "${route}" push within 10 s`)), 10_000);
        waiters.push({ match, resolve: (body) => (clearTimeout(timer), resolve(body)) });
      }),
  };
}

function untyped(client: ChatClient): ShaddockClient<UntypedRoutes> {
  return client as unknown as ShaddockClient<UntypedRoutes>;
}

describe('the example chat cluster through the client SDK', () => {
  let nats: RunningService | undefined;
  let cluster: TestCluster | undefined;
  let nc: NatsConnection | undefined;
  let gatePort = 0;
  let clusterName = 'default';
  const clients: ShaddockClient<UntypedRoutes>[] = [];

  before(async () => {
    process.env.SHADDOCK_WEB_PORT = '0'; // the master's page server: any free port
    nats = await startNats();
    cluster = await startCluster(chatDir, 'test', nats.url);
    const rows = await cluster.list();
    const gate = rows.find((row) => row.serverType === 'gate');
    assert.ok(gate?.clientPort, `the gate announces its client port: ${JSON.stringify(gate)}`);
    gatePort = gate.clientPort;
    for (const row of rows.filter((r) => r.frontend)) assert.notEqual(row.clientPort, 0, `${row.id} shows its bound port`);
    const masters = JSON.parse(readFileSync(join(chatDir, 'config/master.json'), 'utf8')) as Record<string, { cluster?: string }>;
    clusterName = masters.test?.cluster ?? 'default';
    nc = await connect({ servers: nats.url });
  });

  after(async () => {
    await Promise.all(clients.map((client) => client.disconnect()));
    await nc?.close();
    // A graceful stop first: SIGKILLing servers before the master lets it restart the
    // auto-restart chat servers behind our back. Then whatever is left.
    if (cluster) await runCli(['stop', ...cluster.args]);
    await cluster?.destroy();
    await nats?.stop();
  });

  function track(client: ChatClient): ChatClient {
    clients.push(untyped(client));
    return client;
  }

  async function queryEntry(transport: 'ws' | 'tcp', uid: string): Promise<{ host: string; port: number }> {
    const gate = track(createClient<ChatRoutes, ChatPushes>({ transport, host: '127.0.0.1', port: gatePort }));
    await gate.connect();
    const entry = await gate.request('gate.gateHandler.queryEntry', { uid });
    await gate.disconnect();
    assert.equal(entry.code, 200, `queryEntry ${uid}: ${JSON.stringify(entry)}`);
    if (entry.code !== 200) throw new Error('unreachable');
    return { host: entry.host, port: entry.port };
  }

  /** chatofpomelo's login: ask the gate, connect to the connector it names, enter the room. */
  async function login(
    transport: 'ws' | 'tcp',
    username: string,
    rid: string,
    options: Partial<NodeClientOptions> = {},
  ): Promise<{ client: ChatClient; reply: Enter; port: number }> {
    const { host, port } = await queryEntry(transport, username);
    const client = track(createClient<ChatRoutes, ChatPushes>({ transport, host, port, ...options }));
    const handshake = await client.connect();
    assert.equal(handshake.heartbeat > 0, true, 'the connector asks for heartbeats');
    const reply = await client.request('connector.entryHandler.enter', { username, rid });
    return { client, reply, port };
  }

  async function frontendOf(port: number): Promise<string> {
    const row = (await cluster!.list()).find((r) => r.frontend && r.clientPort === port);
    assert.ok(row, `a frontend on port ${port}`);
    return row.id;
  }

  for (const transport of ['ws', 'tcp'] as const) {
    describe(`over ${transport === 'ws' ? 'WebSocket' : 'TCP'}`, () => {
      const rid = `room-${transport}`;

      test('gate → connector → room: users, onAdd, onChat to the room and to one user, onLeave', async () => {
        const alice = await login(transport, 'alice', rid);
        assert.deepEqual(alice.reply, { users: ['alice'] });
        const aliceAdds = pushes(alice.client, 'onAdd');
        const aliceChats = pushes(alice.client, 'onChat');
        const aliceLeaves = pushes(alice.client, 'onLeave');

        const bobAdded = aliceAdds.next((body) => body.user === 'bob');
        const bob = await login(transport, 'bob', rid);
        assert.deepEqual(bob.reply, { users: ['alice', 'bob'] });
        assert.deepEqual(await bobAdded, { user: 'bob' });
        const bobChats = pushes(bob.client, 'onChat');

        const carolAdded = aliceAdds.next((body) => body.user === 'carol');
        const carol = await login(transport, 'carol', rid);
        assert.ok('users' in carol.reply && carol.reply.users.includes('carol'), JSON.stringify(carol.reply));
        await carolAdded;
        const carolChats = pushes(carol.client, 'onChat');

        // To the room: everyone, the sender included.
        const roomMessage = { msg: `hello ${rid}`, from: 'bob', target: '*' };
        const aliceSeesRoom = aliceChats.next((b) => b.msg === roomMessage.msg);
        const bobSeesRoom = bobChats.next((b) => b.msg === roomMessage.msg);
        const carolSeesRoom = carolChats.next((b) => b.msg === roomMessage.msg);
        await bob.client.request('chat.chatHandler.send', { rid, content: roomMessage.msg, from: 'bob', target: '*' });
        assert.deepEqual(await aliceSeesRoom, roomMessage);
        assert.deepEqual(await bobSeesRoom, roomMessage);
        assert.deepEqual(await carolSeesRoom, roomMessage);

        // To one user: only bob. Then one more room message: carol gets that one and nothing before it.
        const whisper = { msg: 'psst, bob', from: 'alice', target: 'bob' };
        const bobSeesWhisper = bobChats.next((b) => b.msg === whisper.msg);
        await alice.client.request('chat.chatHandler.send', { rid, content: whisper.msg, from: 'alice', target: 'bob' });
        assert.deepEqual(await bobSeesWhisper, whisper);
        const after = { msg: 'after the whisper', from: 'alice', target: '*' };
        const carolSeesAfter = carolChats.next((b) => b.msg === after.msg);
        await alice.client.request('chat.chatHandler.send', { rid, content: after.msg, from: 'alice', target: '*' });
        await carolSeesAfter;
        assert.deepEqual(carolChats.all.map((b) => b.msg), [roomMessage.msg, after.msg], 'carol never got the whisper');

        // carol leaves: the others are told.
        const carolLeft = aliceLeaves.next((b) => b.user === 'carol');
        await carol.client.disconnect();
        assert.deepEqual(await carolLeft, { user: 'carol' });
      });

      test('a name already in the room is refused with {code: 500, error: true}', async () => {
        const first = await login(transport, 'dave', `${rid}-names`);
        assert.deepEqual(first.reply, { users: ['dave'] });
        const second = await login(transport, 'dave', `${rid}-names`);
        assert.deepEqual(second.reply, { code: 500, error: true });
      });

      test('an unknown route answers {code: 500, ...} and the client stays usable', async () => {
        const { client } = await login(transport, 'erin', `${rid}-unknown`);
        for (const route of ['connector.entryHandler.nope', 'chat.noSuchHandler.send', 'nosuchtype.handler.method']) {
          const reply = await untyped(client).request(route, {});
          assert.ok(isRecord(reply) && reply.code === 500, `${route} → ${JSON.stringify(reply)}`);
        }
        assert.equal(client.state, 'connected');
        const chats = pushes(client, 'onChat');
        const seen = chats.next((b) => b.msg === 'still here');
        await client.request('chat.chatHandler.send', { rid: `${rid}-unknown`, content: 'still here', from: 'erin', target: '*' });
        assert.deepEqual(await seen, { msg: 'still here', from: 'erin', target: '*' });
      });

      test('the route dictionary: received in the handshake, requests sent with 2-byte codes the server understands', async () => {
        const { host, port } = await queryEntry(transport, 'frank');
        const sent: Message[] = [];
        const received: Message[] = [];
        const inner = transport === 'tcp' ? tcpTransport(host, port) : nodeWebSocketTransport(`ws://${host}:${port}`);
        const client = track(createClient<ChatRoutes, ChatPushes>({ transport: recording(inner, sent, received) }));
        const handshake = await client.connect();
        assert.ok(handshake.dictVersion !== undefined, 'the handshake carries a dictionary version');
        for (const route of ['connector.entryHandler.enter', 'chat.chatHandler.send']) {
          assert.equal(typeof client.dict[route], 'number', `${route} is in the dictionary: ${JSON.stringify(client.dict)}`);
        }
        const rid2 = `${rid}-dict`;
        assert.deepEqual(await client.request('connector.entryHandler.enter', { username: 'frank', rid: rid2 }), { users: ['frank'] });
        const chats = pushes(client, 'onChat');
        const seen = chats.next();
        await client.request('chat.chatHandler.send', { rid: rid2, content: 'coded', from: 'frank', target: '*' });
        assert.deepEqual(await seen, { msg: 'coded', from: 'frank', target: '*' });
        const requests = sent.filter((m) => m.type === MessageType.Request);
        assert.deepEqual(
          requests.map((m) => [m.compressRoute, m.route]),
          [
            [true, client.dict['connector.entryHandler.enter']],
            [true, client.dict['chat.chatHandler.send']],
          ],
        );
        // A push route in the dictionary (config/dictionary.json lists onChat) comes compressed too.
        const push = received.find((m) => m.type === MessageType.Push);
        assert.ok(push);
        assert.equal(typeof client.dict.onChat, 'number');
        assert.deepEqual([push.compressRoute, push.route], [true, client.dict.onChat]);
      });

      test('kick: the kick event carries the reason, and the client does not reconnect', async () => {
        const username = 'grace';
        const room = `${rid}-kick`;
        const { client, port } = await login(transport, username, room, { reconnect: { initialDelay: 50 } });
        const frontendId = await frontendOf(port);
        const kicked = next<{ reason: string }>(untyped(client), 'kick');
        const disconnected = next<DisconnectEvent>(untyped(client), 'disconnect');
        const reply = await nc!.request(
          subjects('shaddock', clusterName).session(frontendId),
          encode({ remote: 'session', method: 'kickByUid', args: [`${username}*${room}`, 'kicked by the test'] }),
          { timeout: 5_000 },
        );
        assert.deepEqual(decode(reply.data), { ok: true, result: 1 });
        assert.deepEqual(await kicked, { reason: 'kicked by the test' });
        assert.deepEqual(await disconnected, { reason: 'kick', reconnecting: false });
        assert.equal(client.state, 'closed');
      });
    });
  }

  test('reconnect: the connector restarts (on a new port), the client reconnects, re-handshakes and re-enters', async () => {
    const transport = 'tcp';
    const rid = 'room-reconnect';
    const { host, port } = await queryEntry(transport, 'heidi');
    const connectorId = await frontendOf(port);
    // With clientPort 0 a restarted connector binds a new port: each attempt looks it up, as a
    // game client would ask its directory again.
    const lookup: TransportFactory = (listener) => {
      let inner: ReturnType<TransportFactory> | undefined;
      let closed = false;
      cluster!
        .list()
        .then((rows) => {
          const row = rows.find((r) => r.id === connectorId && r.state === 'connected');
          if (!row?.clientPort) throw new Error(`${connectorId} is not up`);
          if (closed) throw new Error('closed before connecting');
          inner = tcpTransport(host, row.clientPort)(listener);
        })
        .catch((error: Error) => listener.close(error));
      return {
        framing: 'stream',
        send: (bytes) => inner?.send(bytes),
        close: () => {
          closed = true;
          inner?.close();
        },
      };
    };
    const client = track(createClient<ChatRoutes, ChatPushes>({ transport: lookup, reconnect: { maxAttempts: 40, initialDelay: 100, maxDelay: 500 } }));
    await client.connect();
    assert.deepEqual(await client.request('connector.entryHandler.enter', { username: 'heidi', rid }), { users: ['heidi'] });
    const disconnected = next<DisconnectEvent>(untyped(client), 'disconnect', 30_000);
    const reconnected = next<{ heartbeat: number; dictVersion: unknown }>(untyped(client), 'reconnect', 60_000);
    const restarted = await runCli(['restart', connectorId, ...cluster!.args], { timeout: 60_000 });
    assert.equal(restarted.code, 0, restarted.stderr);
    const lost = await disconnected;
    assert.equal(lost.reconnecting, true);
    assert.equal(lost.reason, 'server');
    const back = await reconnected;
    assert.ok(back.heartbeat > 0);
    assert.equal(client.state, 'connected');
    // A new session: the old one left the room when its connector stopped, so the name is free.
    assert.deepEqual(await client.request('connector.entryHandler.enter', { username: 'heidi', rid }), { users: ['heidi'] });
  });
});

/** Wraps a transport and records every message sent and received. */
function recording(inner: TransportFactory, sent: Message[], received: Message[]): TransportFactory {
  return (listener) => {
    const reader = new PackageReader();
    const transport = inner({
      open: () => listener.open(),
      close: (error) => listener.close(error),
      data: (bytes) => {
        const packages = transport.framing === 'stream' ? reader.push(bytes) : decodePackages(bytes);
        for (const pkg of packages) if (pkg.type === PackageType.Data) received.push(decodeMessage(pkg.body));
        listener.data(bytes);
      },
    });
    return {
      framing: transport.framing,
      send: (bytes) => {
        for (const pkg of decodePackages(bytes)) if (pkg.type === PackageType.Data) sent.push(decodeMessage(pkg.body));
        transport.send(bytes);
      },
      close: () => transport.close(),
    };
  };
}
