// The client SDK's waits on a SimulatedClock (src/clock.ts) given as its `clock` option: the
// handshake timeout, heartbeat answers, the silence check, reconnect backoff and request timeouts
// fire when the test moves the clock, never on their own. Network I/O stays real: a scripted TCP
// server for a server that truly goes silent or refuses attempts, and the fixture cluster's real
// frontend (test/fixtures/client-app, heartbeat 1 s) for request timeouts and a reconnect.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createClient, RequestTimeoutError, tcpTransport, type ClientClock, type DisconnectEvent, type ShaddockClient, type TransportFactory, type UntypedRoutes } from '../src/client/node.ts';
import { SimulatedClock } from '../src/clock.ts';
import { PackageReader, PackageType, decodePackages } from '../src/transport/connector/protocol.ts';
import { repoRoot, startCluster, useNats, type TestCluster } from './harness/index.ts';
import { next, ok, scriptedServer, type ScriptedServer } from './harness/scripted-server.ts';

// The runtime's SimulatedClock fits the client's clock type as it is (checked by `tsc`).
const fits: ClientClock = new SimulatedClock();
void fits;

/** Lets pending I/O callbacks and promise reactions run (no time passes on a SimulatedClock). */
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Whether a promise has settled yet, read without awaiting it. */
function settlement(promise: Promise<unknown>): { readonly settled: boolean } {
  const state = { settled: false };
  promise.then(
    () => (state.settled = true),
    () => (state.settled = true),
  );
  return state;
}

/** A transport wrapped to count what the client does with it: opens, closes, heartbeats sent. */
interface Watched {
  readonly factory: TransportFactory;
  /** Connections the client opened (its first connect and every reconnect attempt). */
  opens: number;
  /** `close()` calls by the client (it closes when it gives up on a connection). */
  closes: number;
  /** Heartbeat packages the client sent. */
  heartbeatsSent: number;
  /** Resolves once a package of `type` from the server has been handed to the client. */
  delivered(type: PackageType): Promise<void>;
  /** Resolves once the transport has told the client that a connection ended. */
  ended(): Promise<void>;
}

function watched(inner: TransportFactory): Watched {
  const deliveries: { type: PackageType; resolve(): void }[] = [];
  const ends: (() => void)[] = [];
  const watch: Watched = {
    opens: 0,
    closes: 0,
    heartbeatsSent: 0,
    delivered: (type) => new Promise((resolve) => deliveries.push({ type, resolve })),
    ended: () => new Promise((resolve) => ends.push(resolve)),
    factory: (listener) => {
      watch.opens++;
      const reader = new PackageReader();
      const transport = inner({
        open: () => listener.open(),
        data: (bytes) => {
          const types = reader.push(bytes).map((pkg) => pkg.type);
          listener.data(bytes);
          for (const waiter of [...deliveries]) {
            if (!types.includes(waiter.type)) continue;
            deliveries.splice(deliveries.indexOf(waiter), 1);
            waiter.resolve();
          }
        },
        close: (error) => {
          listener.close(error);
          for (const end of ends.splice(0)) end();
        },
      });
      return {
        framing: transport.framing,
        send: (bytes) => {
          for (const pkg of decodePackages(bytes)) if (pkg.type === PackageType.Heartbeat) watch.heartbeatsSent++;
          transport.send(bytes);
        },
        close: () => {
          watch.closes++;
          transport.close();
        },
      };
    },
  };
  return watch;
}

describe('the client on a simulated clock, against a scripted server (TCP)', () => {
  let server: ScriptedServer;
  const clients: ShaddockClient<UntypedRoutes>[] = [];

  before(async () => {
    server = await scriptedServer();
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.disconnect()));
    await server?.close();
  });

  test('connectTimeout: a server that never answers the handshake fails connect() when the clock passes it, not before', async () => {
    const clock = new SimulatedClock();
    const c = createClient<UntypedRoutes>({ transport: 'tcp', host: '127.0.0.1', port: server.port, clock, connectTimeout: 1_000 });
    clients.push(c);
    const connecting = c.connect();
    const state = settlement(connecting);
    const conn = await server.accept();
    assert.equal((await conn.next()).type, PackageType.Handshake);
    clock.advance(999);
    await tick();
    assert.equal(state.settled, false, 'still waiting 1 ms before the timeout');
    clock.advance(1);
    await tick();
    assert.equal(state.settled, true, 'failed as the clock reached the timeout, with no real wait');
    await assert.rejects(connecting, /no handshake within 1000 ms/);
    await conn.closed;
  });

  test('heartbeat answered one interval later on the clock; two intervals of silence drop the connection; reconnect backs off on the clock', async () => {
    const clock = new SimulatedClock();
    const watch = watched(tcpTransport('127.0.0.1', server.port, clock));
    const c = createClient<UntypedRoutes>({ transport: watch.factory, clock, reconnect: { maxAttempts: 5, initialDelay: 100, maxDelay: 250 } });
    clients.push(c);
    const connected = c.connect();
    const conn = await server.accept();
    await conn.handshake(ok({ heartbeat: 1 }));
    await connected;

    // The server's heartbeat at t = 0: the client answers it at t = 1000, not earlier.
    const heartbeat = watch.delivered(PackageType.Heartbeat);
    conn.send(PackageType.Heartbeat);
    await heartbeat;
    clock.advance(999);
    assert.equal(watch.heartbeatsSent, 0, 'no answer before one interval');
    clock.advance(1);
    assert.equal(watch.heartbeatsSent, 1, 'the answer at one interval');
    assert.equal((await conn.next({ heartbeats: true })).type, PackageType.Heartbeat);

    // The server says nothing more: the last package came at t = 0, so the client gives up at t = 2000.
    const disconnected = next<DisconnectEvent>(c, 'disconnect');
    clock.advance(999);
    assert.equal(watch.closes, 0, 'still connected at t = 1999');
    clock.advance(1);
    assert.equal(watch.closes, 1, 'closed at t = 2000');
    const event = await disconnected;
    assert.equal(event.reason, 'heartbeat');
    assert.equal(event.reconnecting, true);
    assert.match(event.error?.message ?? '', /nothing from .* for 2 s/);
    await conn.closed;

    // Backoff 100, then 200, then 250 (maxDelay): each attempt opens exactly when its delay has passed.
    for (const delay of [100, 200, 250]) {
      const opens = watch.opens;
      clock.advance(delay - 1);
      assert.equal(watch.opens, opens, `no attempt 1 ms before ${delay} ms`);
      clock.advance(1);
      assert.equal(watch.opens, opens + 1, `an attempt at ${delay} ms`);
      const attempt = await server.accept();
      if (delay === 250) {
        const reconnected = next(c, 'reconnect');
        await attempt.handshake(ok({ heartbeat: 1 }));
        assert.deepEqual(await reconnected, { heartbeat: 1, user: undefined, dictVersion: undefined });
        break;
      }
      // Refuse this attempt; once the client has seen it fail, the next delay starts.
      const ended = watch.ended();
      attempt.socket.destroy();
      await ended;
      await tick();
      assert.equal(c.state, 'reconnecting');
    }
    assert.equal(c.state, 'connected');
  });
});

describe('the client on a simulated clock, against a real frontend (fixture cluster, heartbeat 1 s)', () => {
  const bus = useNats();
  let cluster: TestCluster | undefined;
  let port = 0;
  const clients: ShaddockClient<UntypedRoutes>[] = [];

  before(async () => {
    cluster = await startCluster(join(repoRoot, 'test/fixtures/client-app'), 'test', bus.url);
    const row = (await cluster.list()).find((r) => r.id === 'connector-1');
    assert.ok(row?.clientPort, 'connector-1 has a client port');
    port = row.clientPort;
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.disconnect()));
    await cluster?.destroy();
  });

  // The frontend drops a client after 2 s of real silence; the client answers its heartbeats only
  // when the test moves the clock, so each test here is done in well under that.

  test('a request timeout fires when the clock passes it, not before; the client stays connected', async () => {
    const clock = new SimulatedClock();
    // 1500 ms: under the client's own silence check (2 intervals = 2000 ms on the same clock).
    const c = createClient<UntypedRoutes>({ transport: 'tcp', host: '127.0.0.1', port, clock, requestTimeout: 1_500 });
    clients.push(c);
    assert.equal((await c.connect()).heartbeat, 1);
    const slow = c.request('connector.entryHandler.slow', { ms: 60_000 });
    const state = settlement(slow);
    clock.advance(1_499);
    // A round trip to the same frontend: the client has handled its input, and `slow` still waits.
    assert.equal(typeof ((await c.request('connector.entryHandler.count', {})) as { sessions: unknown }).sessions, 'number');
    assert.equal(state.settled, false, 'not timed out 1 ms before its timeout');
    clock.advance(1);
    await tick();
    assert.equal(state.settled, true, 'timed out as the clock reached the timeout, with no real wait');
    await assert.rejects(slow, (error: unknown) => error instanceof RequestTimeoutError && error.route === 'connector.entryHandler.slow' && error.timeout === 1_500);
    assert.equal(c.state, 'connected');
  });

  test('two heartbeat intervals of the clock with nothing received drop the connection; the reconnect waits its backoff on the clock', async () => {
    const clock = new SimulatedClock();
    const watch = watched(tcpTransport('127.0.0.1', port, clock));
    const c = createClient<UntypedRoutes>({ transport: watch.factory, clock, reconnect: { maxAttempts: 3, initialDelay: 500, maxDelay: 4_000 } });
    clients.push(c);
    await c.connect();
    // Everything so far arrived at t = 0. Nothing arrives while advance() runs, so at t = 2000 the
    // client finds two intervals of silence (its heartbeat answer at t = 1000 goes out meanwhile).
    const disconnected = next<DisconnectEvent>(c, 'disconnect');
    clock.advance(1_999);
    assert.equal(watch.closes, 0, 'still connected at t = 1999');
    clock.advance(1);
    assert.equal(watch.closes, 1, 'given up at t = 2000');
    const event = await disconnected;
    assert.deepEqual([event.reason, event.reconnecting], ['heartbeat', true]);
    assert.equal(c.state, 'reconnecting');

    const reconnected = next<{ heartbeat: number }>(c, 'reconnect');
    clock.advance(499);
    assert.equal(watch.opens, 1, 'no attempt before initialDelay');
    clock.advance(1);
    assert.equal(watch.opens, 2, 'the attempt at initialDelay');
    assert.equal((await reconnected).heartbeat, 1);
    assert.equal(c.state, 'connected');
    assert.equal(typeof ((await c.request('connector.entryHandler.count', {})) as { sessions: unknown }).sessions, 'number');
  });
});
