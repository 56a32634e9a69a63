// Liveness that means working, and a NATS outage ridden out: the master counts a server as alive
// when it answers a ping round trip (not when a timer of it publishes a heartbeat), restarts one
// whose message processing stops, and kills nothing for silence while the bus itself is down.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEmbeddedNats, type EmbeddedNats } from '../src/actors/master/embedded-broker.ts';
import { decode, encode } from '../src/transport/codec.ts';
import { subjects } from '../src/transport/subjects.ts';
import type { ServerRow } from '../src/transport/wire.ts';
import { PinusClient } from './harness/pinus-client.ts';
import { eventually, isAlive, nextHeartbeat, repoRoot, startCluster, useNats, type TestCluster } from './harness/index.ts';

const row = (rows: ServerRow[], id: string): ServerRow => rows.find((r) => r.id === id)!;

describe('liveness: a ping answered, not a heartbeat sent', () => {
  const bus = useNats();
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster(join(repoRoot, 'test/fixtures/supervise-app'), 'test', bus.url);
  });
  after(async () => {
    await cluster?.destroy();
  });

  const call = async (method: string, args: unknown[] = []): Promise<unknown> => {
    const msg = await bus.nc.request(subjects('shaddock', 'supervise').rpc('sleeper-1'), encode({ remote: 'sleeperRemote', method, args }), { timeout: 3_000 });
    return decode<{ result: unknown }>(msg.data).result;
  };

  test('a server slow within the heartbeat timeout (blocked 500 ms of 800) is not restarted', async () => {
    const pid = (await call('pid')) as number;
    const restarts = row(await cluster.list(), 'sleeper-1').restarts;
    await call('block', [500]);
    // Four running heartbeats after the block: well past the time a kill would have come.
    for (let i = 0; i < 4; i++) await nextHeartbeat(bus.nc, 'supervise', (info) => info.id === 'sleeper-1' && info.state === 'running');
    const now = row(await cluster.list(), 'sleeper-1');
    assert.equal(now.pid, pid);
    assert.equal(now.restarts, restarts);
    assert.equal(now.state, 'connected');
  });

  test('a server whose processing is stopped (SIGSTOP) is found out and restarted', async () => {
    const pid = (await call('pid')) as number;
    const back = nextHeartbeat(bus.nc, 'supervise', (info) => info.id === 'sleeper-1' && info.state === 'running' && info.pid !== pid);
    process.kill(pid, 'SIGSTOP');
    try {
      const info = await back;
      assert.notEqual(info.pid, pid);
      await eventually(async () => (isAlive(pid) ? undefined : true), 'the stopped process is killed');
      const now = await eventually(async () => {
        const r = row(await cluster.list(), 'sleeper-1');
        return r.state === 'connected' && r.pid === info.pid ? r : undefined;
      }, 'sleeper-1 connected again');
      assert.ok(now.restarts >= 1);
    } finally {
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});

/** Stops the cluster's nats-server for `ms` (running `during` meanwhile), then starts it again on the same port. */
async function outage(nats: EmbeddedNats, ms: number, during: () => Promise<void> = async () => {}): Promise<EmbeddedNats> {
  const port = nats.port;
  await nats.stop();
  // The outage itself is what is tested: its length is the scenario, not a wait for an event.
  await Promise.all([new Promise((resolve) => setTimeout(resolve, ms)), during()]);
  return startEmbeddedNats({ port });
}

/**
 * A client request that needs a backend, sent while the frontend's NATS is down, is answered at
 * once with the reason: the first one the frontend takes after noticing the outage, in well under
 * its RPC timeout (a request sent in the moment before it noticed may still wait for it).
 */
async function failsFast(client: PinusClient): Promise<void> {
  const answer = await eventually(async () => {
    const sent = performance.now();
    const response = (await client.request('chat.chatHandler.send', { content: 'in the outage', target: '*' })) as { code?: number; message?: string };
    const took = performance.now() - sent;
    return response.code === 500 && /was not sent: no NATS connection/.test(response.message ?? '') ? { response, took } : undefined;
  }, 'a request refused at once for want of NATS', 2_500);
  assert.ok(answer.took < 500, `answered in ${Math.round(answer.took)} ms`);
  assert.match(answer.response.message!, /^chatHandler\.send on server "chat-server-\d" was not sent: no NATS connection \(reconnecting\)$/);
}

describe('a NATS outage restarts nothing', () => {
  let nats: EmbeddedNats;
  let cluster: TestCluster;
  before(async () => {
    nats = await startEmbeddedNats();
    cluster = await startCluster(join(repoRoot, 'examples/chat'), 'test', nats.url);
  });
  after(async () => {
    await cluster?.destroy();
    await nats?.stop();
  });

  for (const seconds of [3, 30]) {
    test(`NATS down ${seconds} s mid-chat: no server restarted, all connected again, the chat goes on`, { timeout: 120_000 }, async () => {
      const before = await cluster.list();
      const port = row(before, 'connector-server-1').clientPort!;
      const alice = await PinusClient.connect('tcp', port);
      const bob = await PinusClient.connect('tcp', port);
      try {
        const rid = `outage-${seconds}`;
        await alice.request('connector.entryHandler.enter', { username: 'alice', rid });
        await bob.request('connector.entryHandler.enter', { username: 'bob', rid });
        nats = await outage(nats, seconds * 1000, () => failsFast(alice));
        const rows = await eventually(
          async () => {
            const r = await cluster.list().catch(() => undefined);
            return r && r.every((x) => x.serverType === 'master' || x.state === 'connected') ? r : undefined;
          },
          'every server connected again',
          20_000,
        );
        for (const r of rows) {
          const earlier = row(before, r.id);
          assert.equal(r.pid, earlier.pid, `${r.id} kept its process`);
          assert.equal(r.restarts, earlier.restarts, `${r.id} was not restarted`);
        }
        const heard = bob.push('onChat', (body) => (body as { msg?: string }).msg === `after ${seconds} s`);
        assert.deepEqual(await alice.request('chat.chatHandler.send', { content: `after ${seconds} s`, target: '*' }), { code: 200 });
        assert.equal(((await heard) as { from: string }).from, 'alice');
      } finally {
        alice.close();
        bob.close();
      }
    });
  }
});

describe('a server given up during a NATS outage comes back with NATS', () => {
  let nats: EmbeddedNats;
  let cluster: TestCluster;
  const dir = join(repoRoot, 'test/fixtures/supervise-app');
  before(async () => {
    nats = await startEmbeddedNats();
    cluster = await startCluster(dir, 'outage', nats.url);
  });
  after(async () => {
    await cluster?.destroy();
    await nats?.stop();
  });

  test('killed while NATS is down, its restarts cannot connect and run out (failed); once NATS is back it is started again and connects', { timeout: 90_000 }, async () => {
    const log = join(dir, 'logs/shaddock-outage.log');
    // Only what this run logs counts (the file outlives a run).
    const from = existsSync(log) ? readFileSync(log).length : 0;
    const first = row(await cluster.list(), 'keeper-1');
    const port = nats.port;
    await nats.stop();
    process.kill(first.pid!, 'SIGKILL');
    // Its one restart waits for NATS for startTimeout (4 s, room for a start on a loaded machine), exits, and the supervisor gives up.
    await eventually(
      async () => (existsSync(log) && /server keeper-1 failed: .*NATS is unreachable, so it is tried again once NATS is back/.test(readFileSync(log).subarray(from).toString()) ? true : undefined),
      'keeper-1 failed during the outage',
      30_000,
    );
    nats = await startEmbeddedNats({ port });
    const back = await eventually(
      async () => {
        const r = (await cluster.list().catch(() => undefined))?.find((x) => x.id === 'keeper-1');
        return r?.state === 'connected' ? r : undefined;
      },
      'keeper-1 connected again with no manual step',
      20_000,
    );
    assert.notEqual(back.pid, first.pid);
    assert.ok(isAlive(back.pid!));
  });
});
