// Integration: frontends speaking Pomelo's client protocol, checked with a client built only from
// the independent pinus-protocol package (test/harness/pinus-client.ts), over WebSocket and TCP,
// against real server processes on a real nats-server. The example chat cluster shows the whole
// chatofpomelo flow; a small fixture cluster covers handshakes, limits, sessions, pushes, bad
// input and draining.
import assert from 'node:assert/strict';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pinus from 'pinus-protocol/dist/index.js';
import WebSocket from 'ws';
import type { ServerRow } from '../src/transport/wire.ts';
import { PinusClient } from './harness/pinus-client.ts';
import { eventually, nextHeartbeat, repoRoot, runCli, startCluster, useNats, type TestCluster } from './harness/index.ts';

const { Package, Message } = pinus;
const kinds = ['ws', 'tcp'] as const;

/** This file's nats-server and a connection to it. */
const bus = useNats();

const portOf = (rows: ServerRow[], id: string): number => {
  const port = rows.find((row) => row.id === id)?.clientPort;
  assert.ok(port, `${id} has a client port`);
  return port;
};

describe('the chat example, with a client built only from pinus-protocol', () => {
  let cluster: TestCluster;
  let gatePort: number;
  const clients: PinusClient[] = [];

  /** gate → connector: asks the gate for a connector, then connects there (chatofpomelo's login). */
  async function login(kind: 'ws' | 'tcp', username: string, options: { heartbeat?: boolean } = {}): Promise<PinusClient> {
    const gate = await PinusClient.connect(kind, gatePort);
    const entry = (await gate.request('gate.gateHandler.queryEntry', { uid: username })) as { code: number; host: string; port: number };
    gate.close();
    assert.equal(entry.code, 200);
    assert.equal(entry.host, '127.0.0.1');
    const client = await PinusClient.connect(kind, entry.port, options);
    clients.push(client);
    return client;
  }

  before(async () => {
    cluster = await startCluster(join(repoRoot, 'examples/chat'), 'test', bus.url);
    gatePort = portOf(await cluster.list(), 'gate-server-1');
  });
  after(async () => {
    for (const client of clients) client.close();
    await cluster?.destroy();
  });

  for (const kind of kinds) {
    test(`${kind}: gate → connector → chat, with onAdd, onChat (room and one user) and onLeave`, async () => {
      const rid = `lobby-${kind}`;
      const ann = await login(kind, 'ann');
      assert.deepEqual(await ann.request('connector.entryHandler.enter', { username: 'ann', rid }), { users: ['ann'] });
      const ben = await login(kind, 'ben');
      assert.deepEqual(await ben.request('connector.entryHandler.enter', { username: 'ben', rid }), { users: ['ann', 'ben'] });
      assert.deepEqual(await ann.push('onAdd'), { user: 'ben' });

      assert.deepEqual(await ben.request('chat.chatHandler.send', { rid, content: 'hello room', from: 'ben', target: '*' }), { code: 200 });
      const expected = { msg: 'hello room', from: 'ben', target: '*' };
      assert.deepEqual(await ann.push('onChat'), expected);
      assert.deepEqual(await ben.push('onChat'), expected);

      await ann.request('chat.chatHandler.send', { rid, content: 'psst', from: 'ann', target: 'ben' });
      assert.deepEqual(await ben.push('onChat', (m) => (m as { target: string }).target === 'ben'), { msg: 'psst', from: 'ann', target: 'ben' });
      // Only the target hears a whisper, and the sender is who the session says, whatever `from` claims.
      await ben.request('chat.chatHandler.send', { rid, content: 'later', from: 'mallory', target: '*' });
      assert.deepEqual(await ann.push('onChat', (m) => (m as { msg: string }).msg === 'later'), { msg: 'later', from: 'ben', target: '*' });
      assert.ok(!ann.pushes.some((p) => (p.body as { msg?: string }).msg === 'psst'), 'the whisper went to its target only');

      const impostor = await login(kind, 'ann');
      assert.deepEqual(await impostor.request('connector.entryHandler.enter', { username: 'ann', rid }), { code: 500, error: true });

      ben.close();
      assert.deepEqual(await ann.push('onLeave'), { user: 'ben' });
      // Pushes used the dictionary: their routes came as 2-byte codes.
      assert.ok(ann.compressedPushes >= 3, `compressed pushes: ${ann.compressedPushes}`);
    });
  }

  test('a client that goes silent is dropped after about twice the heartbeat interval, and its room hears it leave', async () => {
    const rid = 'quiet-room';
    const watcher = await login('ws', 'wes');
    await watcher.request('connector.entryHandler.enter', { username: 'wes', rid });
    const silent = await login('tcp', 'sid', { heartbeat: false });
    const heartbeat = silent.handshake?.sys?.heartbeat;
    assert.equal(heartbeat, 1);
    await silent.request('connector.entryHandler.enter', { username: 'sid', rid });
    const quietFrom = Date.now();
    await silent.closed;
    const quiet = Date.now() - quietFrom;
    assert.ok(quiet >= 1_500 && quiet < 5_000, `dropped after ${quiet} ms of silence`);
    assert.deepEqual(await watcher.push('onLeave'), { user: 'sid' });
  });

  test('a client that answers heartbeats stays connected past the timeout', async () => {
    const chatty = await login('tcp', 'cat');
    await eventually(async () => (chatty.heartbeats >= 3 ? true : undefined), 'three heartbeats answered', 10_000);
    // Three round trips at one second each outlast the two-second timeout.
    assert.deepEqual(await chatty.request('connector.entryHandler.enter', { username: 'cat', rid: 'alive' }), { users: ['cat'] });
  });

  test('the dictionary is sent once per version; a client holding it gets none, and plain routes still work', async () => {
    const first = await login('ws', 'dee');
    const { dict, dictVersion, useDict } = first.handshake!.sys!;
    assert.equal(useDict, true);
    assert.ok(dictVersion);
    assert.equal(dict?.['chat.chatHandler.send'] !== undefined, true);
    assert.equal(dict?.['onChat'], 1, 'config/dictionary.json routes come first');
    const gate = await PinusClient.connect('tcp', gatePort, { dictVersion });
    assert.equal(gate.handshake?.sys?.dict, undefined);
    assert.equal(gate.handshake?.sys?.useDict, true);
    const plain = await PinusClient.connect('tcp', gatePort, { useDict: false });
    assert.equal((await plain.request('gate.gateHandler.queryEntry', { uid: 'dee' }) as { code: number }).code, 200);
    gate.close();
    plain.close();
  });

  test('kill -9 of a chat server: clients in rooms on the other chat server never notice', { skip: process.platform !== 'linux' }, async () => {
    // Two rooms, one per chat server (the example hashes rid over the chat servers sorted by id).
    const { stableHash } = await import('../src/actors/rpc/route.ts');
    const rooms = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5'];
    const onServer = (index: number): string => rooms.find((rid) => stableHash(rid) % 2 === index)!;
    const doomedRoom = onServer(0);
    const safeRoom = onServer(1);
    const a = await login('ws', 'amy');
    const b = await login('tcp', 'bob');
    await a.request('connector.entryHandler.enter', { username: 'amy', rid: safeRoom });
    await b.request('connector.entryHandler.enter', { username: 'bob', rid: safeRoom });
    const victim = await login('ws', 'vic');
    await victim.request('connector.entryHandler.enter', { username: 'vic', rid: doomedRoom });

    const before = (await cluster.list()).find((row) => row.id === 'chat-server-1')!;
    const back = nextHeartbeat(bus.nc, 'chat', (info) => info.id === 'chat-server-1' && info.state === 'running' && info.pid !== before.pid);
    process.kill(before.pid!, 'SIGKILL');
    // While chat-server-1 is down and coming back, the other room chats on.
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(await a.request('chat.chatHandler.send', { rid: safeRoom, content: `m${i}`, from: 'amy', target: '*' }), { code: 200 });
      assert.deepEqual(await b.push('onChat', (m) => (m as { msg: string }).msg === `m${i}`), { msg: `m${i}`, from: 'amy', target: '*' });
    }
    await back;
    // Nobody in the safe room was dropped or told anything but the chat.
    assert.deepEqual(b.pushes.filter((p) => p.route !== 'onChat'), []);
    assert.deepEqual(a.pushes.filter((p) => p.route !== 'onChat'), [{ route: 'onAdd', body: { user: 'bob' } }]);
    assert.deepEqual(await a.request('chat.chatHandler.send', { rid: safeRoom, content: 'still here', from: 'amy', target: '*' }), { code: 200 });
  });

  test('a chat server stopping on purpose says goodbye to its rooms by push, before it goes', async () => {
    const { stableHash } = await import('../src/actors/rpc/route.ts');
    const rid = ['g0', 'g1', 'g2', 'g3', 'g4', 'g5'].find((room) => stableHash(room) % 2 === 1)!; // on chat-server-2
    const otherRid = ['h0', 'h1', 'h2', 'h3', 'h4', 'h5'].find((room) => stableHash(room) % 2 === 0)!; // on chat-server-1
    const guest = await login('tcp', 'gil');
    await guest.request('connector.entryHandler.enter', { username: 'gil', rid });
    const elsewhere = await login('ws', 'hal');
    await elsewhere.request('connector.entryHandler.enter', { username: 'hal', rid: otherRid });
    const restarted = await runCli(['restart', ...cluster.args, 'chat-server-2']);
    assert.equal(restarted.code, 0, restarted.stderr);
    const goodbye = (await guest.push('onChat', (m) => (m as { from: string }).from === 'system')) as { msg: string; target: string };
    assert.match(goodbye.msg, /chat-server-2 is stopping/);
    assert.equal(goodbye.target, '*');
    // The room on the other chat server heard nothing.
    await elsewhere.request('chat.chatHandler.send', { rid: otherRid, content: 'ping', from: 'hal', target: '*' });
    await elsewhere.push('onChat', (m) => (m as { msg: string }).msg === 'ping');
    assert.ok(!elsewhere.pushes.some((p) => (p.body as { from?: string }).from === 'system'));
  });
});

describe('connector limits, sessions and pushes (fixture cluster)', () => {
  let cluster: TestCluster;
  let port1: number;
  let port2: number;
  const clients: PinusClient[] = [];
  const track = (client: PinusClient): PinusClient => (clients.push(client), client);

  before(async () => {
    cluster = await startCluster(join(repoRoot, 'test/fixtures/client-app'), 'test', bus.url);
    const rows = await cluster.list();
    port1 = portOf(rows, 'connector-1');
    port2 = portOf(rows, 'connector-2');
  });
  after(async () => {
    for (const client of clients) client.close();
    await cluster?.destroy();
  });

  test('handshake: the app sees it and answers `user`; 501 for a refused client version; 500 for a bad one', async () => {
    const ok = track(await PinusClient.connect('ws', port1));
    assert.deepEqual(ok.handshake?.user, { welcome: true });
    assert.equal(ok.handshake?.sys?.heartbeat, 1);

    const old = track(await PinusClient.open('tcp', port1));
    assert.equal((await old.shake({ type: 'js', version: '0.0.1' })).code, 501);
    await old.closed;

    const noSys = track(await PinusClient.open('ws', port1));
    noSys.sendRaw(Package.encode(1, Buffer.from(JSON.stringify({ user: {} }))));
    await noSys.closed;
    assert.equal(noSys.handshake?.code, 500);

    const garbage = track(await PinusClient.open('tcp', port1));
    garbage.sendRaw(Package.encode(1, Buffer.from('{not json')));
    await garbage.closed;
    assert.equal(garbage.handshake?.code, 500);
  });

  for (const kind of kinds) {
    test(`${kind}: data before the handshake, an unknown package type or an oversized package close that client only`, async () => {
      const bystander = track(await PinusClient.connect(kind, port1));
      const early = track(await PinusClient.open(kind, port1));
      early.sendRaw(Package.encode(4, Message.encode(1, 0, false, 'echo.echoHandler.echo', Buffer.from('{}'))));
      await early.closed;

      const unknownType = track(await PinusClient.connect(kind, port1));
      unknownType.sendRaw(Buffer.from([9, 0, 0, 0]));
      await unknownType.closed;

      const big = track(await PinusClient.connect(kind, port1));
      const body = Buffer.alloc(64 * 1024 + 1, 0x20);
      big.sendRaw(Package.encode(4, body));
      await big.closed;

      assert.deepEqual(((await bystander.request('echo.echoHandler.echo', { n: 1 })) as { msg: unknown }).msg, { n: 1 });
    });
  }

  test('tcp: several packages in one chunk, and one package split across many chunks', async () => {
    // A raw socket: the handshake, then (after its answer) ack, request, heartbeat and request in one write.
    const raw = tcpConnect(port1, '127.0.0.1');
    let received = Buffer.alloc(0);
    const arrived = (count: number): Promise<void> =>
      new Promise((resolve) => {
        const check = (): void => {
          let at = 0;
          let packages = 0;
          while (received.length - at >= 4) {
            const length = received.readUIntBE(at + 1, 3);
            if (received.length - at - 4 < length) break;
            at += 4 + length;
            packages++;
          }
          if (packages >= count) {
            raw.off('data', onData);
            resolve();
          }
        };
        const onData = (chunk: Buffer): void => {
          received = Buffer.concat([received, chunk]);
          check();
        };
        raw.on('data', onData);
        check();
      });
    await new Promise((resolve) => raw.once('connect', resolve));
    raw.write(Package.encode(1, Buffer.from(JSON.stringify({ sys: { type: 'raw', version: '1' } }))));
    await arrived(1);
    const request = (id: number, body: object): Buffer => Package.encode(4, Message.encode(id, 0, false, 'echo.echoHandler.echo', Buffer.from(JSON.stringify(body))));
    raw.write(Buffer.concat([Package.encode(2), request(1, { first: true }), Package.encode(3), request(2, { second: true })]));
    await arrived(5); // handshake answer, the first heartbeat (sent at the ack), two responses, the heartbeat answer
    const decoded = Package.decode(received);
    const packages = Array.isArray(decoded) ? decoded : [decoded];
    assert.deepEqual(packages.map((p) => p.type).sort(), [1, 3, 3, 4, 4]);
    const bodies = packages.filter((p) => p.type === 4).map((p) => (JSON.parse(Message.decode(p.body).body.toString()) as { msg: unknown }).msg);
    assert.deepEqual(bodies, [{ first: true }, { second: true }]);
    raw.destroy();

    const client = track(await PinusClient.connect('tcp', port1));
    // One request, one byte per write.
    const split = Package.encode(4, Message.encode(1, 0, false, 'echo.echoHandler.echo', Buffer.from('{"split":true}')));
    const second = new Promise<unknown>((resolve) => {
      (client as unknown as { pending: Map<number, (body: unknown) => void> }).pending.set(1, resolve);
    });
    const socket = (client as unknown as { socket: import('node:net').Socket }).socket;
    for (const byte of split) {
      socket.write(Buffer.from([byte]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.deepEqual(((await second) as { msg: unknown }).msg, { split: true });
  });

  test('bad requests get an error response and the client stays usable', async () => {
    const client = track(await PinusClient.connect('tcp', port1));
    const malformed = Message.encode(7, 0, false, 'echo.echoHandler.echo', Buffer.from('{"broken'));
    const reply = new Promise<unknown>((resolve) => {
      (client as unknown as { pending: Map<number, (body: unknown) => void> }).pending.set(7, resolve);
    });
    client.sendRaw(Package.encode(4, malformed));
    assert.match(((await reply) as { message: string }).message, /malformed JSON body/);
    assert.deepEqual(await client.request('echo.echoHandler.nope', {}), { code: 500, message: 'unknown route "echo.echoHandler.nope"' });
    assert.deepEqual(await client.request('nowhere.handler.method', {}), { code: 500, message: 'unknown server type "nowhere" (known: connector, echo)' });
    assert.deepEqual(await client.request('bad-route', {}), { code: 500, message: 'bad route "bad-route": expected serverType.handler.method' });
    assert.deepEqual(await client.request('echo.echoHandler.fail', { message: 'nope, not today' }), { code: 500, message: 'nope, not today' });
    const echoed = (await client.request('echo.echoHandler.echo', { hi: 'there' })) as { msg: unknown; frontendId: string; server: string };
    assert.deepEqual(echoed.msg, { hi: 'there' });
    assert.equal(echoed.frontendId, 'connector-1');
    assert.equal(echoed.server, 'echo-1');
  });

  test('a backend binds the session and pushes a setting through the frontend; later requests carry both', async () => {
    const client = track(await PinusClient.connect('ws', port1));
    assert.deepEqual(await client.request('echo.echoHandler.login', { uid: 'zoe', color: 'teal' }), { code: 200 });
    assert.deepEqual(await client.request('echo.echoHandler.whoami', {}), { uid: 'zoe', color: 'teal' });
    // A frontend handler sees the same session.
    const other = track(await PinusClient.connect('ws', port1));
    await other.request('connector.entryHandler.bind', { uid: 'yan' });
    assert.equal(((await other.request('echo.echoHandler.whoami', {})) as { uid: string }).uid, 'yan');
  });

  test('pushes to users on two frontends, broadcast to bound sessions only, and kick by uid with a reason', async () => {
    const u1 = track(await PinusClient.connect('ws', port1));
    const u2 = track(await PinusClient.connect('tcp', port2));
    const anonymous = track(await PinusClient.connect('tcp', port1));
    await u1.request('connector.entryHandler.bind', { uid: 'p1' });
    await u2.request('connector.entryHandler.bind', { uid: 'p2' });
    await u1.request('echo.echoHandler.shout', { text: 'to both', uids: [{ uid: 'p1', sid: 'connector-1' }, { uid: 'p2', sid: 'connector-2' }] });
    assert.deepEqual(await u1.push('onEcho'), { text: 'to both' });
    assert.deepEqual(await u2.push('onEcho'), { text: 'to both' });

    await u2.request('echo.echoHandler.broadcast', { text: 'all bound' });
    assert.deepEqual(await u1.push('onEcho', (m) => (m as { text: string }).text === 'all bound'), { text: 'all bound' });
    assert.deepEqual(await u2.push('onEcho', (m) => (m as { text: string }).text === 'all bound'), { text: 'all bound' });
    // The unbound client got nothing (it is still connected: a request proves the order).
    await anonymous.request('echo.echoHandler.echo', {});
    assert.deepEqual(anonymous.pushes, []);

    // From a session on connector-2, through the backend, to the user's two sessions on connector-1.
    const twin = track(await PinusClient.connect('tcp', port1));
    await twin.request('connector.entryHandler.bind', { uid: 'p1' });
    assert.deepEqual(await u2.request('echo.echoHandler.kick', { uid: 'p1', sid: 'connector-1', reason: 'duplicate login' }), { kicked: 2 });
    assert.deepEqual(await u1.closed, { kick: 'duplicate login' });
    assert.deepEqual(await twin.closed, { kick: 'duplicate login' });
  });

  test('max-connections: a frontend at its limit refuses the next connection, and takes one again after a client leaves', async () => {
    const first = track(await PinusClient.connect('tcp', port2));
    const { sessions } = (await first.request('connector.entryHandler.count', {})) as { sessions: number };
    const held = [first];
    for (let i = sessions; i < 3; i++) held.push(track(await PinusClient.connect('tcp', port2)));
    const refused = track(await PinusClient.open('tcp', port2));
    await refused.closed;
    assert.equal(refused.handshake, undefined);
    held[0]!.close();
    await held[0]!.closed;
    const admitted = await eventually(async () => {
      const client = await PinusClient.open('tcp', port2);
      const answer = await Promise.race([client.shake(), client.closed.then(() => undefined)]);
      if (answer?.code === 200) return track(client);
      client.close();
      return undefined;
    }, 'a connection admitted after one left');
    assert.equal(admitted.handshake?.code, 200);
  });

  test('fuzz: thousands of garbage connections and packets leave every server connected and a normal client served', async () => {
    const before = await cluster.list();
    let seed = 0x5eed;
    const random = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 0x100000000;
    };
    const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
    const handshake = Package.encode(1, Buffer.from(JSON.stringify({ sys: { type: 'fuzz', version: '1' } })));
    const ack = Package.encode(2);
    /** One garbage payload: random bytes, truncated or lying headers, bad messages after a good handshake. */
    const garbage = (): Buffer[] => {
      const pick = Math.floor(random() * 9);
      const body = bytes(Math.floor(random() * 64));
      const pkg = Buffer.from(Package.encode(1 + Math.floor(random() * 5), body));
      switch (pick) {
        case 0:
          return [Buffer.concat([Buffer.from([1 + Math.floor(random() * 5)]), bytes(Math.floor(random() * 200))])];
        case 1:
          return [pkg.subarray(0, Math.max(1, Math.floor(random() * pkg.length)))];
        case 2:
          return [Buffer.from([4, 0xff, 0xff, 0xff]), bytes(32)];
        case 3:
          return [handshake, ack, Package.encode(4, body)];
        case 4:
          return [handshake, ack, Package.encode(4, random() < 0.5 ? Message.encode(1, 0, true, 0xffff, body) : Message.encode(1, 0, false, 'x.y', body))];
        case 5:
          return [handshake, Package.encode(4, Buffer.from([0x06]))];
        case 6:
          return [handshake, ack, Package.encode(3), pkg, pkg];
        case 7:
          // A request whose 5-byte id is over 32 bits (this once crashed the frontend).
          return [handshake, ack, Package.encode(4, Buffer.from([0x00, 0x80 | Math.floor(random() * 128), 0xff, 0xff, 0xff, 0x7f, 3, 0x61, 0x2e, 0x62]))];
        default:
          return [Package.encode(1, body), ack, bytes(16)];
      }
    };
    const attack = (kind: 'ws' | 'tcp'): Promise<void> =>
      new Promise((resolve) => {
        const payload = garbage();
        if (kind === 'tcp') {
          const socket = tcpConnect(port1, '127.0.0.1', () => {
            for (const part of payload) socket.write(part);
            socket.end();
          });
          socket.on('error', () => resolve());
          socket.on('close', () => resolve());
          socket.resume();
        } else {
          const ws = new WebSocket(`ws://127.0.0.1:${port1}`);
          ws.on('open', () => {
            for (const part of payload) ws.send(random() < 0.1 ? part.toString('latin1') : part);
            ws.close();
          });
          ws.on('error', () => resolve());
          ws.on('close', () => resolve());
        }
      });
    const total = 2_000;
    let started = 0;
    const worker = async (): Promise<void> => {
      while (started < total) {
        started++;
        await attack(random() < 0.5 ? 'ws' : 'tcp');
      }
    };
    await Promise.all(Array.from({ length: 40 }, worker));

    const rows = await cluster.list();
    for (const row of rows.filter((r) => r.serverType !== 'master')) {
      assert.equal(row.state, 'connected', `${row.id} is ${row.state}`);
      assert.equal(row.pid, before.find((r) => r.id === row.id)?.pid, `${row.id} kept its process`);
    }
    const normal = track(await PinusClient.connect('ws', port1));
    assert.deepEqual(((await normal.request('echo.echoHandler.echo', { after: 'fuzz' })) as { msg: unknown }).msg, { after: 'fuzz' });
    const sessions = (await normal.request('connector.entryHandler.count', {})) as { sessions: number };
    assert.ok(sessions.sessions < 50, `garbage sessions were released (${sessions.sessions} left)`);
  });

  test('draining: a stopping frontend refuses new clients but answers the request in flight', async () => {
    const client = track(await PinusClient.connect('tcp', port1));
    const slow = client.request('connector.entryHandler.slow', { ms: 1_500 });
    const draining = nextHeartbeat(bus.nc, 'clienttest', (info) => info.id === 'connector-1' && info.state === 'draining');
    const stop = runCli(['stop', ...cluster.args, 'connector-1']);
    await draining;
    await assert.rejects(PinusClient.open('tcp', port1), /ECONNREFUSED/);
    assert.deepEqual(await slow, { code: 200, waited: 1_500 });
    assert.equal((await stop).code, 0);
    await client.closed;
  });
});
