import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { SimulatedClock } from '../src/clock.ts';
import { defaultConnectTimeout, ZooKeeperLeadership } from '../src/actors/master/zookeeper-leadership.ts';
import type { LeaderRecord, LeadershipListener } from '../src/actors/master/leadership.ts';
import { ZooKeeperConnection } from '../src/transport/zookeeper.ts';
import { freePort, startZookeeperEnsemble, type ZookeeperEnsemble } from './harness/index.ts';

/**
 * Closing ZooKeeper clients and leaving elections at awkward moments: mid-connect, in the tick of
 * the connect, before the lock node exists; the first-connect timeout; effects that throw.
 */

const SESSION_TIMEOUT = 3_000;

/** Errors that escaped (uncaught exceptions, unhandled rejections) while `run` ran and 200 ms after. */
async function escaped(run: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const onError = (error: unknown): void => void seen.push(error instanceof Error ? error.message : String(error));
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onError);
  try {
    await run();
    await new Promise((resolve) => setTimeout(resolve, 200));
  } finally {
    process.off('uncaughtException', onError);
    process.off('unhandledRejection', onError);
  }
  return seen;
}

/** Resolves with `promise`, or rejects naming `what` after `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not settled within ${ms} ms`)), ms);
    }),
  ]);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const silentListener: LeadershipListener = {
  elected: () => undefined,
  standby: (_leader: LeaderRecord | undefined) => undefined,
  suspended: () => undefined,
  resumed: () => undefined,
  lost: () => undefined,
};

let zk: ZookeeperEnsemble;
before(async () => {
  zk = await startZookeeperEnsemble(1);
});
after(async () => {
  await zk.stop();
});

describe('ZooKeeperConnection.close() at any moment', () => {

  test('in the tick of connect, mid-connect and connected: it settles, nothing throws', async () => {
    const settled: number[] = [];
    const errors = await escaped(async () => {
      for (const wait of [-1, 0, 1, 2, 3, 5, 8, 13, 21, 50, 200]) {
        const connection = ZooKeeperConnection.open({ servers: zk.connectString, sessionTimeout: SESSION_TIMEOUT });
        if (wait >= 0) await delay(wait);
        await within(connection.close(), 3_000, `close after ${wait} ms`);
        settled.push(wait);
        // Idempotent: the same settled close.
        await within(connection.close(), 100, 'a second close');
      }
    });
    assert.deepEqual(errors, [], 'node-zookeeper-client threw while a connection closed');
    assert.equal(settled.length, 11);
  });

  test('with nothing listening (the client retries for ever): close settles at once', async () => {
    const port = await freePort();
    const errors = await escaped(async () => {
      for (const wait of [0, 5, 400]) {
        const connection = ZooKeeperConnection.open({ servers: `127.0.0.1:${port}`, sessionTimeout: SESSION_TIMEOUT });
        await delay(wait);
        await within(connection.close(), 1_000, `close after ${wait} ms with no server`);
      }
    });
    assert.deepEqual(errors, []);
  });

  test('a pending call rejects with CONNECTION_CLOSED when closed mid-connect', async () => {
    const port = await freePort();
    const connection = ZooKeeperConnection.open({ servers: `127.0.0.1:${port}`, sessionTimeout: SESSION_TIMEOUT });
    const rejected = assert.rejects(connection.exists('/anything'), (error: Error & { code?: string }) => error.code === 'CONNECTION_CLOSED');
    await connection.close();
    await rejected;
  });
});

describe('ZooKeeperLeadership: leaving early, first connects, failing effects', () => {

  test('resign right after campaign (before the lock node exists) leaves no node behind', async () => {
    const path = `/shaddock/close-${process.pid}/master`;
    const leader = new ZooKeeperLeadership({ servers: zk.connectString, path, sessionTimeout: SESSION_TIMEOUT });
    const elected = new Promise<number>((resolve) => leader.campaign({ id: 'leader', host: '127.0.0.1', port: 1, pid: process.pid }, { ...silentListener, elected: resolve }));
    await within(elected, 10_000, 'the first candidate elected');
    const observer = ZooKeeperConnection.open({ servers: zk.connectString, sessionTimeout: SESSION_TIMEOUT });
    await new Promise<void>((resolve) => observer.onState((s) => s === 'connected' && resolve()));
    const lockNodes = await observer.getChildren(`${path}/lock`);
    assert.equal(lockNodes.length, 1);
    const errors = await escaped(async () => {
      for (const wait of [-1, 0, 1, 2, 4, 8, 16, 32]) {
        const early = new ZooKeeperLeadership({ servers: zk.connectString, path, sessionTimeout: SESSION_TIMEOUT });
        early.campaign({ id: `early-${wait}`, host: '127.0.0.1', port: 2, pid: process.pid }, silentListener);
        if (wait >= 0) await delay(wait);
        await within(early.resign(), 3_000, `resign ${wait} ms after campaign`);
        // Resign resolves once the session is closed: its node (if it made one) is gone now.
        assert.deepEqual(await observer.getChildren(`${path}/lock`), lockNodes, `a lock node left behind by a resign ${wait} ms after campaign`);
      }
    });
    assert.deepEqual(errors, []);
    await leader.resign();
    await observer.close();
  });

  test('the first-connect timeout defaults to a third of the session timeout: a server that never answers is given up then', async () => {
    assert.equal(defaultConnectTimeout(SESSION_TIMEOUT), 1_000);
    // Accepts connections and never answers, like a ZooKeeper that is hung.
    const sockets: Socket[] = [];
    const waiters: (() => void)[] = [];
    const server: Server = createServer((socket) => {
      sockets.push(socket);
      for (const wake of waiters.splice(0)) wake();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    assert.ok(address && typeof address === 'object');
    const connections = async (n: number): Promise<void> => {
      while (sockets.length < n) await within(new Promise<void>((resolve) => waiters.push(resolve)), 5_000, `connection ${n} to the silent server`);
    };
    const clock = new SimulatedClock();
    const leadership = new ZooKeeperLeadership({ servers: `127.0.0.1:${address.port}`, path: '/shaddock/silent/master', sessionTimeout: SESSION_TIMEOUT, clock });
    try {
      leadership.campaign({ id: 'm', host: '127.0.0.1', port: 1, pid: process.pid }, silentListener);
      await connections(1);
      const firstClosed = new Promise((resolve) => sockets[0]!.once('close', resolve));
      clock.advance(defaultConnectTimeout(SESSION_TIMEOUT));
      // A fresh client: a second connection, long before node-zookeeper-client's own timeout (T per server)…
      await connections(2);
      // …and the given-up client let go of its socket.
      await within(firstClosed, 2_000, 'the given-up client closing its socket');
      assert.equal(sockets.length, 2);
    } finally {
      await within(leadership.resign(), 3_000, 'resign');
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('an effect of the election that throws is logged, and the election goes on', async () => {
    const lines: { level: number; msg: string }[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as { level: number; msg: string });
        done();
      },
    });
    let thrown = 0;
    const logger = pino(
      {
        level: 'info',
        hooks: {
          logMethod(args, method) {
            // The log line of a session being established: the effect that writes it throws once.
            if (thrown === 0 && args.some((a) => typeof a === 'string' && a.includes('ZooKeeper session established'))) {
              thrown++;
              throw new Error('the log is broken');
            }
            method.apply(this, args);
          },
        },
      },
      sink,
    );
    const leadership = new ZooKeeperLeadership({ servers: zk.connectString, path: `/shaddock/effects-${process.pid}/master`, sessionTimeout: SESSION_TIMEOUT, logger });
    const errors = await escaped(async () => {
      leadership.campaign({ id: 'm', host: '127.0.0.1', port: 1, pid: process.pid }, silentListener);
      // The session machine survives: its next probe (T/3) still runs, and resign still closes it.
      await within(
        (async () => {
          while (!lines.some((l) => l.msg.startsWith('master HA: joining the election failed: the log is broken'))) await delay(20);
        })(),
        10_000,
        'the failed effect logged',
      );
      await within(leadership.resign(), 3_000, 'resign after a failed effect');
    });
    assert.equal(thrown, 1);
    assert.deepEqual(errors, []);
    const record = lines.find((l) => l.msg.startsWith('master HA: joining the election failed'));
    assert.equal(record?.level, 50, 'logged as an error');
  });
});
