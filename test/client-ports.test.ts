// Client ports under connection floods: slowloris on the HTTP request head and the WebSocket
// upgrade, oversized heads, and max-connections. A Connector in this process (small limits, so
// deadlines are measured in hundreds of ms), then the fixture cluster's real frontends.
import assert from 'node:assert/strict';
import { connect as tcpConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { Connector } from '../src/actors/connector/connector.ts';
import { buildDictionary } from '../src/actors/connector/dictionary.ts';
import { CONNECTOR_DEFAULTS, connectorSettings } from '../src/config/connector.ts';
import { DEFAULT_MAX_CONNECTIONS } from '../src/config/defaults.ts';
import { PinusClient } from './harness/pinus-client.ts';
import { repoRoot, startCluster, useNats, type TestCluster } from './harness/index.ts';

const fixture = join(repoRoot, 'test/fixtures/client-app');
const DEADLINE = 500;
/** A socket must be gone this soon after the deadline (and not before it). */
const BOUND = 2_000;
/**
 * `openedAt` is taken before the connect, so the server's accept, where its deadline starts, is
 * later: a socket's measured life is never short of the deadline but for Node's whole-ms timers.
 */
const EARLY = 2;

const upgradeHead = (extra = ''): string =>
  'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;

interface RawSocket {
  socket: Socket;
  /** performance.now() just before the connection was asked for. */
  openedAt: number;
  /** Resolves with performance.now() when the server closed it. */
  closed: Promise<number>;
  /** Everything the server sent. */
  received(): string;
}

function rawSocket(port: number): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const openedAt = performance.now();
    const socket = tcpConnect(port, '127.0.0.1');
    let text = '';
    const closed = new Promise<number>((done) => socket.once('close', () => done(performance.now())));
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, openedAt, closed, received: () => text }));
    socket.once('error', reject);
  });
}

/** Writes `text` one byte every `interval` ms until the socket closes; resolves with how many bytes went out. */
function trickle(raw: RawSocket, text: string, interval: number): Promise<number> {
  let sent = 0;
  const timer = setInterval(() => {
    if (sent < text.length && !raw.socket.destroyed) raw.socket.write(text[sent++]!);
  }, interval);
  return raw.closed.then(() => (clearInterval(timer), sent));
}

/** Asserts the socket lived until the deadline and was closed within BOUND of it; returns its life in ms. */
async function closedAtDeadline(raw: RawSocket, deadline: number, what: string): Promise<number> {
  const life = (await raw.closed) - raw.openedAt;
  assert.ok(life >= deadline - EARLY, `${what}: closed after ${life.toFixed(0)} ms, before the ${deadline} ms deadline`);
  assert.ok(life <= deadline + BOUND, `${what}: closed after ${life.toFixed(0)} ms, over ${BOUND} ms late`);
  return life;
}

describe('client ports: slow, silent and oversized HTTP heads (a Connector in this process)', () => {
  let connector: Connector;
  let port: number;
  const refusals: string[] = [];
  const clients: PinusClient[] = [];

  before(async () => {
    const logger = pino({ level: 'debug' }, { write: (line: string) => void refusals.push(String(JSON.parse(line).reason ?? '')) });
    connector = new Connector({
      frontendId: 'ports-1',
      host: '127.0.0.1',
      port: 0,
      maxConnections: 1_000,
      config: {},
      settings: connectorSettings({ handshakeTimeout: DEADLINE }, { env: 'test', serverId: 'ports-1' }),
      dictionary: await buildDictionary(fixture),
      route: async (route, msg) => ({ route: route.route, msg }),
      logger,
    });
    port = await connector.listen();
  });
  after(async () => {
    for (const client of clients) client.close();
    await connector?.close();
  });

  test('an upgrade head trickled 1 byte per 100 ms is closed at the deadline; a client that upgraded in time is not', async (t) => {
    const good = await PinusClient.connect('ws', port);
    clients.push(good);
    const slow = await rawSocket(port);
    const sent = await trickle(slow, upgradeHead(), 100);
    const life = await closedAtDeadline(slow, DEADLINE, 'trickled upgrade');
    assert.ok(sent >= 3 && sent < upgradeHead().length, `it was mid-head (${sent} bytes sent)`);
    assert.equal(slow.received(), '', 'no answer to a head that never ended');
    assert.ok(refusals.includes(`HTTP request head and upgrade not done within ${DEADLINE} ms`), refusals.join('; '));
    // Connected since before the trickle began, past the deadline: still served.
    assert.deepEqual(await good.request('connector.entryHandler.count', { n: 1 }), { route: 'connector.entryHandler.count', msg: { n: 1 } });
    t.diagnostic(`trickled upgrade closed after ${life.toFixed(0)} ms (deadline ${DEADLINE} ms)`);
  });

  test('a plain HTTP head trickled the same way is closed at the deadline too', async () => {
    const slow = await rawSocket(port);
    await trickle(slow, 'GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowloris\r\n\r\n', 100);
    await closedAtDeadline(slow, DEADLINE, 'trickled GET');
  });

  test('200 sockets that send half a head and go silent are all closed at the deadline', async (t) => {
    const sockets = await Promise.all(Array.from({ length: 200 }, () => rawSocket(port)));
    const half = upgradeHead().slice(0, 60);
    for (const raw of sockets) raw.socket.write(half);
    const lives = await Promise.all(sockets.map((raw, i) => closedAtDeadline(raw, DEADLINE, `half head #${i}`)));
    t.diagnostic(`200 half heads closed after ${Math.min(...lives).toFixed(0)}-${Math.max(...lives).toFixed(0)} ms (deadline ${DEADLINE} ms)`);
  });

  test('a head over the header limit is refused with 431 at once; one under it is upgraded', async (t) => {
    const limit = CONNECTOR_DEFAULTS.maxHeaderSize;
    assert.equal(limit, 8 * 1024);
    const big = await rawSocket(port);
    big.socket.write(upgradeHead(`X-Padding: ${'a'.repeat(limit)}\r\n`));
    const life = (await big.closed) - big.openedAt;
    assert.match(big.received(), /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    assert.ok(life < DEADLINE, `refused after ${life.toFixed(0)} ms, not at the deadline`);
    assert.ok(refusals.includes(`HTTP request head over ${limit} bytes`), refusals.join('; '));
    t.diagnostic(`head over ${limit} bytes answered 431 and closed after ${life.toFixed(0)} ms`);

    const fits = await rawSocket(port);
    const upgraded = new Promise<string>((resolve) => fits.socket.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1'))));
    fits.socket.write(upgradeHead(`X-Padding: ${'a'.repeat(limit - 1024)}\r\n`));
    assert.match(await upgraded, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    fits.socket.destroy();
  });

  test('a socket that sends nothing is closed at the deadline; a TCP client mid-handshake is left to the handshake timeout', async () => {
    const silent = await rawSocket(port);
    await closedAtDeadline(silent, DEADLINE, 'silent socket');
    assert.ok(refusals.includes('sent nothing'));
    // A Pomelo TCP client is past the setup stage at its first byte; the session's handshake timer
    // (also DEADLINE, from that byte) closes it when the handshake never comes.
    const tcp = await rawSocket(port);
    tcp.socket.write(Buffer.from([1, 0, 0]));
    const life = (await tcp.closed) - tcp.openedAt;
    assert.ok(life >= DEADLINE - EARLY && life <= DEADLINE + BOUND, `half a handshake package closed after ${life.toFixed(0)} ms`);
  });
});

describe('client ports of real frontends (fixture cluster)', () => {
  const bus = useNats();
  let cluster: TestCluster;
  let port1: number;
  let port2: number;
  const clients: PinusClient[] = [];

  before(async () => {
    cluster = await startCluster(fixture, 'test', bus.url);
    const rows = await cluster.list();
    port1 = rows.find((row) => row.id === 'connector-1')!.clientPort!;
    port2 = rows.find((row) => row.id === 'connector-2')!.clientPort!;
  });
  after(async () => {
    for (const client of clients) client.close();
    await cluster?.destroy();
  });

  test('list shows each frontend its limit: its own max-connections, else the default', async () => {
    const limits = Object.fromEntries((await cluster.list()).map((row) => [row.id, row.maxConnections]));
    assert.equal(DEFAULT_MAX_CONNECTIONS, 10_000);
    assert.deepEqual(limits, { 'master-1': null, 'connector-1': 10_000, 'connector-2': 3, 'echo-1': null });
  });

  test('max-connections reached: new sockets are refused at accept, the connected clients still get answers', async (t) => {
    const held = [await PinusClient.connect('tcp', port2), await PinusClient.connect('ws', port2), await PinusClient.connect('tcp', port2)];
    clients.push(...held);
    assert.deepEqual(await held[0]!.request('connector.entryHandler.count', {}), { sessions: 3 });
    let slowest = 0;
    for (let i = 0; i < 5; i++) {
      const refused = await rawSocket(port2);
      refused.socket.write(upgradeHead());
      slowest = Math.max(slowest, (await refused.closed) - refused.openedAt);
      assert.equal(refused.received(), '', 'refused before it was read');
    }
    t.diagnostic(`sockets over max-connections closed within ${slowest.toFixed(0)} ms`);
    await assert.rejects(PinusClient.open('ws', port2), 'a WebSocket client is refused too');
    // Each held client, local and forwarded routes, after the refusals.
    for (const [i, client] of held.entries()) {
      assert.deepEqual(await client.request('connector.entryHandler.count', {}), { sessions: 3 });
      const echoed = (await client.request('echo.echoHandler.echo', { i })) as { msg: unknown; frontendId: string };
      assert.deepEqual([echoed.msg, echoed.frontendId], [{ i }, 'connector-2']);
    }
  });

  test("a real frontend closes a half-sent head at its handshakeTimeout (the fixture's 2 s)", async (t) => {
    const raw = await rawSocket(port1);
    raw.socket.write(upgradeHead().slice(0, 60));
    const life = await closedAtDeadline(raw, 2_000, 'half head on connector-1');
    t.diagnostic(`real frontend: half head closed after ${life.toFixed(0)} ms (handshakeTimeout 2000 ms)`);
  });
});
