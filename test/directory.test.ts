// The server directory every process keeps from heartbeats, against a real nats-server.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ServerDirectory } from '../src/actors/server/directory.ts';
import { encode } from '../src/transport/codec.ts';
import { subjects } from '../src/transport/subjects.ts';
import type { ServerInfo } from '../src/types.ts';
import { useNats } from './harness/cluster.ts';
import { connect } from '@nats-io/transport-node';
import { startEmbeddedNats } from '../src/actors/master/embedded-broker.ts';

const nats = useNats();

function info(id: string, state = 'running'): ServerInfo {
  return { id, serverType: 'chat', host: '127.0.0.1', frontend: false, pid: process.pid, state, remotes: {}, startedAt: Date.now(), rss: 0 };
}

/** A started directory on its own cluster's subjects (300 ms heartbeat timeout), and the `down` events it emits. */
function directoryOf(cluster: string) {
  const names = subjects('shaddock', cluster);
  const directory = new ServerDirectory(nats.nc, names, 300);
  const downs: string[] = [];
  directory.on('down', (server, why) => downs.push(`${server.id} ${why}`));
  directory.start();
  const beat = (id: string, state?: string) => nats.nc.publish(names.heartbeat, encode(info(id, state)));
  return { directory, downs, beat };
}

describe('server directory', () => {
  test('a server that stops sending heartbeats goes down as silent; one that keeps sending stays up', async () => {
    const { directory, downs, beat } = directoryOf('directory-silent');
    const beating = setInterval(() => beat('chat-live'), 50);
    try {
      beat('chat-quiet');
      const quietDown = new Promise<void>((resolve) => directory.on('down', (server) => server.id === 'chat-quiet' && resolve()));
      await quietDown;
      // Wait as long again: the live one must still be there.
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.deepEqual(downs, ['chat-quiet silent']);
      assert.deepEqual(directory.ofType('chat').map((server) => server.id), ['chat-live']);
    } finally {
      clearInterval(beating);
      directory.stop();
    }
  });

  test('setting the system clock forward an hour does not make live servers look silent', async () => {
    const { directory, downs, beat } = directoryOf('directory-clock');
    const realNow = Date.now;
    const beating = setInterval(() => beat('chat-live'), 50);
    try {
      const up = new Promise<void>((resolve) => directory.once('up', () => resolve()));
      await up;
      Date.now = () => realNow() + 3_600_000;
      // Several sweeps (every 100 ms here) with the clock an hour ahead.
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.deepEqual(downs, []);
      assert.deepEqual(directory.ofType('chat').map((server) => server.id), ['chat-live']);
    } finally {
      Date.now = realNow;
      clearInterval(beating);
      directory.stop();
    }
  });

  test('a server that says it is draining, then stopping (hooks, components), then stopped goes down once and never comes back', async () => {
    const { directory, downs, beat } = directoryOf('directory-leaving');
    try {
      const up = new Promise<void>((resolve) => directory.once('up', () => resolve()));
      beat('chat-leaving');
      await up;
      const seen = new Set<string>();
      let allSeen: () => void = () => {};
      const done = new Promise<void>((resolve) => (allSeen = resolve));
      // The directory reports every heartbeat it keeps; the leaving states must not be kept.
      directory.on('heartbeat', (server) => seen.add(server.state));
      for (const state of ['draining', 'stopping.hooks', 'stopping.components', 'stopped']) beat('chat-leaving', state);
      // A marker after them, on the same connection, so all four have been handled when it arrives.
      directory.on('up', (server) => server.id === 'chat-marker' && allSeen());
      beat('chat-marker');
      await done;
      assert.deepEqual(downs, ['chat-leaving stopped']);
      assert.deepEqual([...seen], ['running']);
      assert.deepEqual(directory.ofType('chat').map((server) => server.id), ['chat-marker']);
    } finally {
      directory.stop();
    }
  });

  test('while its own NATS is down nobody goes silent; once back, everyone is asked to announce and has a fresh timeout', { timeout: 30_000 }, async () => {
    let broker = await startEmbeddedNats();
    const port = broker.port;
    const nc = await connect({ servers: broker.url, maxReconnectAttempts: -1, reconnectTimeWait: 50 });
    const names = subjects('shaddock', 'directory-outage');
    const directory = new ServerDirectory(nc, names, 300);
    const downs: string[] = [];
    directory.on('down', (server, why) => downs.push(`${server.id} ${why}`));
    // Taken now, so that no status is missed before the test asks for it.
    const statuses = nc.status()[Symbol.asyncIterator]();
    const next = async (type: string): Promise<void> => {
      for (let s = await statuses.next(); !s.done; s = await statuses.next()) if (s.value.type === type) return;
    };
    try {
      directory.start();
      const up = new Promise<void>((resolve) => directory.once('up', () => resolve()));
      nc.publish(names.heartbeat, encode(info('chat-a')));
      await up;
      let discovered: () => void = () => {};
      const discover = new Promise<void>((resolve) => (discovered = resolve));
      nc.subscribe(names.discover, { callback: () => discovered() });
      await nc.flush();
      await broker.stop();
      await next('disconnect');
      // The outage, three heartbeat timeouts long, is the scenario, not a wait for an event.
      await new Promise((resolve) => setTimeout(resolve, 900));
      broker = await startEmbeddedNats({ port });
      await next('reconnect');
      assert.deepEqual(downs, [], 'nobody went silent while the directory heard nothing');
      assert.equal(directory.get('chat-a')?.id, 'chat-a');
      await discover;
      // And silence after the reconnect still counts.
      const down = new Promise<void>((resolve) => directory.on('down', () => resolve()));
      await down;
      assert.deepEqual(downs, ['chat-a silent']);
    } finally {
      directory.stop();
      await nc.close();
      await broker.stop();
    }
  });
});
