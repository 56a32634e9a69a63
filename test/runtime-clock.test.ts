// Runtime parts that wait or measure, run on a simulated clock: supervision of a real process
// and heartbeat silence over a real nats-server, with time moved by the test instead of slept.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { describe, test } from 'node:test';
import { SupervisedServer } from '../src/actors/master/supervised-server.ts';
import { BusHealth } from '../src/actors/master/bus-health.ts';
import { startEmbeddedNats } from '../src/actors/master/embedded-broker.ts';
import { connectNats } from '../src/transport/nats.ts';
import { ServerDirectory } from '../src/actors/server/directory.ts';
import { SimulatedClock } from '../src/clock.ts';
import type { ChildSpec } from '../src/config/child-spec.ts';
import type { ServerEntry } from '../src/config/types.ts';
import { createLogger } from '../src/logger.ts';
import { encode } from '../src/transport/codec.ts';
import { subjects } from '../src/transport/subjects.ts';
import type { ServerInfo } from '../src/types.ts';
import { useNats } from './harness/cluster.ts';

process.env.SHADDOCK_LOG_LEVEL ??= 'silent';
const nats = useNats();

const entry: ServerEntry = { id: 'clock-server-1', serverType: 'chat', host: '127.0.0.1', frontend: false, args: [], autoRestart: true, extra: {} };
const policy = { restart: 'permanent' as const, initialDelay: 400, factor: 2, maxDelay: 10_000, resetAfter: 30_000, maxRestarts: 5, period: 60_000 };
const timing = { startTimeout: 5_000, heartbeatTimeout: 3_000 };
const spec: ChildSpec = { id: entry.id, restart: 'permanent', policy, ...timing, shutdownTimeout: 2_000, stopGroup: 'backend' };

/**
 * A supervised server whose processes are real (an idle node, or the script `program` gives for
 * the n-th spawn) and whose time is simulated; `busHealthy` is the master's view of NATS.
 */
function supervised(options: { program?: (n: number) => string; busHealthy?: () => boolean } = {}) {
  const program = options.program ?? (() => 'setInterval(() => {}, 1000)');
  const clock = new SimulatedClock();
  const children: ChildProcess[] = [];
  const waiters: (() => void)[] = [];
  const wake = (): void => {
    for (const waiter of waiters.splice(0)) waiter();
  };
  const server = new SupervisedServer(
    entry,
    spec,
    {
      spawn: () => {
        const child = spawn(process.execPath, ['-e', program(children.length)], { stdio: 'ignore' });
        children.push(child);
        // The pid reaches the server machine without a state change: wake the waiters for it too
        // (on a later tick, after the supervised server's own listeners have run).
        child.once('spawn', () => setImmediate(wake));
        return child;
      },
      requestStop: () => {},
      logger: createLogger('clock-test'),
      changed: () => wake(),
      ...(options.busHealthy ? { busHealthy: options.busHealthy } : {}),
    },
    clock,
  );
  /** Resolves once `predicate` holds, re-checked on every state change (no polling, no sleep). */
  const until = async (predicate: () => boolean): Promise<void> => {
    while (!predicate()) await new Promise<void>((resolve) => waiters.push(resolve));
  };
  return { clock, server, children, until };
}

describe('runtime on a simulated clock', () => {
  test('a server silent past heartbeatTimeout is killed as hung and restarted after the backoff, not before', async () => {
    const { clock, server, children, until } = supervised();
    try {
      server.start();
      await until(() => server.pid !== undefined);
      const first = server.pid!;
      server.heartbeat(first);
      assert.equal(server.state, 'connected');

      clock.advance(timing.heartbeatTimeout - 1);
      assert.equal(server.state, 'connected', 'one ms short of the timeout it is still connected');
      clock.advance(1);
      // unreachable → the supervisor kills it (SIGTERM); the real exit comes as an event.
      await until(() => server.state === 'restarting');
      assert.equal(children[0]!.signalCode, 'SIGTERM');

      clock.advance(policy.initialDelay - 1);
      assert.equal(server.state, 'restarting', 'the backoff has not run out');
      assert.equal(children.length, 1);
      clock.advance(1);
      await until(() => server.pid !== undefined && server.pid !== first);
      assert.equal(children.length, 2);
      server.heartbeat(server.pid!);
      assert.equal(server.state, 'connected');
      assert.equal(server.row(clock.wall(), undefined).restarts, 1);
    } finally {
      for (const child of children) child.kill('SIGKILL');
    }
  });

  test('a server that never sends its first heartbeat goes unreachable at startTimeout and is restarted', async () => {
    const { clock, server, children, until } = supervised();
    try {
      server.start();
      await until(() => server.pid !== undefined);
      clock.advance(timing.startTimeout);
      await until(() => server.state === 'restarting');
      clock.advance(policy.initialDelay);
      await until(() => children.length === 2 && server.pid === children[1]!.pid);
    } finally {
      for (const child of children) child.kill('SIGKILL');
    }
  });

  test('the directory drops a server after heartbeatTimeout of silence on its clock, and keeps one that beats', async () => {
    const clock = new SimulatedClock();
    const names = subjects('shaddock', 'clock-directory');
    const directory = new ServerDirectory(nats.nc, names, 3_000, undefined, clock);
    const downs: string[] = [];
    directory.on('down', (server, why) => downs.push(`${server.id} ${why}`));
    const heard = (id: string) => new Promise<void>((resolve) => directory.on('heartbeat', (info) => info.id === id && resolve()));
    const beat = async (id: string) => {
      const got = heard(id);
      nats.nc.publish(names.heartbeat, encode(info(id)));
      await got;
    };
    directory.start();
    try {
      await beat('chat-quiet');
      await beat('chat-live');
      clock.advance(2_000);
      await beat('chat-live');
      // Sweeps run every heartbeatTimeout / 3 (1 s); at 3 s the quiet one is at, not past, the limit.
      clock.advance(1_999);
      assert.deepEqual(downs, [], 'nobody is past 3 s of silence yet');
      clock.advance(1);
      assert.deepEqual(downs, ['chat-quiet silent'], 'quiet: 4 s of silence; live: 2 s');
      assert.deepEqual(directory.ofType('chat').map((server) => server.id), ['chat-live']);
      clock.advance(2_000);
      assert.deepEqual(downs, ['chat-quiet silent', 'chat-live silent']);
    } finally {
      directory.stop();
    }
  });
});

function info(id: string): ServerInfo {
  return { id, serverType: 'chat', host: '127.0.0.1', frontend: false, pid: process.pid, state: 'running', remotes: {}, startedAt: 0, rss: 0 };
}

describe('SimulatedClock', () => {
  test('runs timers in time order, intervals again each period, and nothing early', () => {
    const clock = new SimulatedClock(1_000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
    const every = clock.setInterval(() => fired.push(`i@${clock.now()}`), 15);
    clock.advance(9);
    assert.deepEqual(fired, []);
    clock.advance(26);
    assert.deepEqual(fired, ['a@10', 'i@15', 'b@20', 'i@30']);
    clock.clearInterval(every);
    clock.advance(100);
    assert.equal(fired.length, 4);
    assert.equal(clock.wall(), 1_135);
    assert.equal(clock.pending, 0);
  });

  test('a server given up while NATS was unreachable starts again when asked after the outage; one given up otherwise does not', async () => {
    for (const outage of [true, false]) {
      let healthy = !outage;
      // Every start fails (as a server that cannot reach NATS does), until the bus is back.
      const { clock, server, children, until } = supervised({
        program: (n) => (n <= policy.maxRestarts ? 'process.exit(1)' : 'setInterval(() => {}, 1000)'),
        busHealthy: () => healthy,
      });
      try {
        server.start();
        for (let restart = 1; restart <= policy.maxRestarts; restart++) {
          await until(() => server.state === 'restarting');
          clock.advance(policy.maxDelay);
        }
        await until(() => server.state === 'failed');
        assert.equal(children.length, policy.maxRestarts + 1);
        healthy = true;
        const retried = server.retryAfterOutage();
        assert.equal(retried, outage, outage ? 'failed during the outage: retried' : 'failed with NATS up: left failed');
        if (!outage) {
          assert.equal(server.state, 'failed');
          continue;
        }
        await until(() => children.length === policy.maxRestarts + 2 && server.pid === children.at(-1)!.pid);
        server.heartbeat(server.pid!);
        assert.equal(server.state, 'connected');
        assert.equal(server.retryAfterOutage(), false, 'retried once, not again');
      } finally {
        for (const child of children) child.kill('SIGKILL');
      }
    }
  });

  test('the bus counts as recovered a heartbeat timeout after NATS is back, not before', { timeout: 30_000 }, async () => {
    let broker = await startEmbeddedNats();
    const nc = await connectNats({ servers: [broker.url] }, 'bus-health');
    const clock = new SimulatedClock();
    let recovered = 0;
    const bus = new BusHealth(clock, timing.heartbeatTimeout, createLogger('clock-test'), () => 1, () => Number.NEGATIVE_INFINITY, () => recovered++);
    void bus.watch(nc);
    const next = (type: string) =>
      (async () => {
        for await (const status of nc.status()) if (status.type === type) return;
      })();
    try {
      const port = broker.port;
      const down = next('disconnect');
      await broker.stop();
      await down;
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(bus.healthy(), false, 'down while NATS is away');
      clock.advance(timing.heartbeatTimeout * 2);
      assert.equal(recovered, 0, 'no recovery while NATS is away');
      const up = next('reconnect');
      broker = await startEmbeddedNats({ port });
      await up;
      await new Promise((resolve) => setImmediate(resolve));
      clock.advance(timing.heartbeatTimeout - 1);
      assert.equal(recovered, 0);
      assert.equal(bus.healthy(), false, 'still suspect just after the reconnect');
      clock.advance(1);
      assert.equal(recovered, 1);
      assert.equal(bus.healthy(), true);
    } finally {
      await nc.close();
      await broker.stop();
    }
  });
});
