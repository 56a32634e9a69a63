// Runtime parts that wait or measure, run on a simulated clock: supervision of a real process
// and heartbeat silence over a real nats-server, with time moved by the test instead of slept.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { describe, test } from 'node:test';
import { SupervisedServer } from '../src/actors/master/supervised-server.ts';
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

/** A supervised server whose processes are real (an idle node) and whose time is simulated. */
function supervised() {
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
        const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
        children.push(child);
        // The pid reaches the server machine without a state change: wake the waiters for it too
        // (on a later tick, after the supervised server's own listeners have run).
        child.once('spawn', () => setImmediate(wake));
        return child;
      },
      requestStop: () => {},
      logger: createLogger('clock-test'),
      changed: () => wake(),
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
});
