// A cluster on a 3-node NATS cluster (issue #14): its NATS setting lists all three nodes; the node
// that most of its servers use is SIGKILLed while client requests and RPC calls run. The servers
// reconnect to the other nodes without a restart; calls in flight at the kill either succeed or
// fail with an error naming what failed, none outlasts the RPC timeout; new calls succeed.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { readRunFile } from '../src/actors/master/run-file.ts';
import { DEFAULT_RPC_TIMEOUT } from '../src/config/defaults.ts';
import { decode, encode } from '../src/transport/codec.ts';
import { subjects } from '../src/transport/subjects.ts';
import type { RpcReply, ServerRow } from '../src/transport/wire.ts';
import { PinusClient } from './harness/pinus-client.ts';
import { eventually, isAlive, repoRoot, startCluster, startNatsCluster, type NatsCluster, type TestCluster } from './harness/index.ts';

/** examples/chat's `test` environment sets no rpcTimeout: the default applies to its calls. */
const RPC_TIMEOUT = DEFAULT_RPC_TIMEOUT;
/** How far past the RPC timeout a call may end before it counts as hung. */
const MARGIN = 5_000;
/**
 * What a failed call may say: Shaddock's own errors name the remote or handler and the server
 * (timed out, not sent, lost while waiting, not connected); nats.js's (for the test's own
 * requests) name the subject (no responders) or say it timed out.
 */
const CLEAR_ERROR = /timed out after \d+ ms|was not sent: no NATS connection|got no answer: the NATS connection was lost|server "[\w-]+" is not connected|no responders: 'shaddock\.chat\.rpc\.[\w-]+'|^timeout$/;

interface Call {
  loop: string;
  started: number;
  ended: number;
  ok: boolean;
  /** A failure's message (or the body of an unexpected answer). */
  message?: string;
}

/** `promise`, or `'hung'` once the RPC timeout and the margin have passed. */
async function bounded<T>(promise: Promise<T>): Promise<T | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), RPC_TIMEOUT + MARGIN)));
  try {
    return await Promise.race([promise, hung]);
  } finally {
    clearTimeout(timer);
  }
}

const row = (rows: ServerRow[], id: string): ServerRow => rows.find((r) => r.id === id)!;

describe('startNatsCluster: three routed nodes on loopback', () => {
  let nats: NatsCluster | undefined;
  after(async () => {
    await nats?.stop();
  });

  test('a request on node 0 is answered from node 2; a killed node is gone by pid and the other two still route', async () => {
    nats = await startNatsCluster(3);
    const cluster = nats;
    assert.equal(new Set(cluster.urls).size, 3);
    const [a, b, c] = await Promise.all(cluster.urls.map((url) => connect({ servers: url, name: url, ignoreClusterUpdates: true })));
    try {
      const answer = (on: NatsConnection, subject: string): void => void on.subscribe(subject, { callback: (_e, msg) => void msg.respond(msg.data) });
      answer(c!, 'across');
      await c!.flush();
      // The subscription reaches node 0 over the routes: wait for its interest, then ask.
      const reply = await eventually(() => a!.request('across', encode('hi'), { timeout: 1_000 }).catch(() => undefined), 'node 0 routes to node 2');
      assert.equal(decode(reply.data), 'hi');
      assert.deepEqual((await cluster.connections(2)).map((x) => x.name), [cluster.urls[2]]);

      await cluster.kill(1);
      assert.ok(!isAlive(cluster.pids[1]!), 'node 1 is gone');
      answer(c!, 'after');
      await c!.flush();
      const after = await eventually(() => a!.request('after', encode('still'), { timeout: 1_000 }).catch(() => undefined), 'node 0 still routes to node 2');
      assert.equal(decode(after.data), 'still');
    } finally {
      await Promise.all([a, b, c].map((nc) => nc?.close()));
    }
    await cluster.stop();
    for (const pid of cluster.pids) assert.ok(!isAlive(pid), `pid ${pid} stopped`);
  });
});

describe('a 3-node NATS cluster: the node the servers use is killed mid-traffic', () => {
  let nats: NatsCluster;
  let cluster: TestCluster;
  let nc: NatsConnection | undefined;
  const clients: PinusClient[] = [];

  before(async () => {
    nats = await startNatsCluster(3);
    cluster = await startCluster(join(repoRoot, 'examples/chat'), 'test', nats.urls.join(','));
  });
  after(async () => {
    for (const client of clients) client.close();
    await nc?.close();
    await cluster?.destroy();
    await nats?.stop();
  });

  test('RPC and client requests go on after the servers reconnect to the other nodes; calls in flight end with a clear error or succeed; nothing restarted', { timeout: 120_000 }, async (t) => {
    const before = await cluster.list();
    const masterPid = readRunFile(cluster.dir, cluster.env)?.masterPid;
    assert.ok(masterPid, 'the run file names the master');
    const connectors = before.filter((r) => r.serverType === 'connector');
    const chats = before.filter((r) => r.serverType === 'chat');
    const traffic = [...connectors, ...chats].map((r) => r.id);

    // Which node each server's connection is on (nats.js picks one of the listed URLs at random).
    const nodeOf = new Map<string, number>();
    for (let i = 0; i < nats.urls.length; i++) for (const c of await nats.connections(i)) if (c.name !== undefined) nodeOf.set(c.name, i);
    for (const r of before) assert.ok(nodeOf.has(r.id), `${r.id} is connected to a node: ${JSON.stringify([...nodeOf])}`);
    // The node carrying the most of the traffic's servers (four over three nodes: at least two).
    const onNode = (i: number): string[] => traffic.filter((id) => nodeOf.get(id) === i);
    const victim = [0, 1, 2].reduce((best, i) => (onNode(i).length > onNode(best).length ? i : best), 0);
    const moving = before.map((r) => r.id).filter((id) => nodeOf.get(id) === victim);
    assert.ok(onNode(victim).length >= 2, `the killed node carries traffic: ${moving.join(', ')}`);
    const survivors = [0, 1, 2].filter((i) => i !== victim);

    // The test's own requests go through a node that stays up, so what they meet is the servers' reconnect.
    nc = await connect({ servers: survivors.map((i) => nats.urls[i]!) });
    const own = nc;
    const rid = 'cluster-room';
    const alice = await PinusClient.connect('tcp', connectors[0]!.clientPort!);
    const bob = await PinusClient.connect('tcp', connectors[1]!.clientPort!);
    clients.push(alice, bob);
    assert.deepEqual(await alice.request('connector.entryHandler.enter', { username: 'alice', rid }), { users: ['alice'] });
    assert.deepEqual(await bob.request('connector.entryHandler.enter', { username: 'bob', rid }), { users: ['alice', 'bob'] });

    const calls: Call[] = [];
    let stopping = false;
    const record = async (loop: string, call: () => Promise<{ ok: boolean; message?: string }>): Promise<void> => {
      const started = performance.now();
      const outcome = await bounded(call().catch((error: unknown) => ({ ok: false, message: error instanceof Error ? error.message : String(error) })));
      calls.push({ loop, started, ended: performance.now(), ...(outcome === 'hung' ? { ok: false, message: 'hung' } : outcome) });
    };
    const run = async (loop: string, call: (n: number) => Promise<{ ok: boolean; message?: string }>): Promise<void> => {
      for (let n = 0; !stopping; n++) await record(loop, () => call(n));
    };
    /** A client request forwarded to the room's chat server, which pushes to both clients through their connectors. */
    const sending = (client: PinusClient, name: string) => async (n: number) => {
      const answer = (await client.request('chat.chatHandler.send', { content: `${name} ${n}`, target: '*' })) as { code?: number; message?: string };
      return answer.code === 200 ? { ok: true } : { ok: false, message: answer.message ?? JSON.stringify(answer) };
    };
    /** A new client entering a new room: the connector's RPC (chatRemote.add) to the room's chat server. */
    const entering = (port: number, name: string) => async (n: number) => {
      const client = await PinusClient.connect('tcp', port);
      try {
        const answer = (await client.request('connector.entryHandler.enter', { username: name, rid: `${name}-${n}` })) as { users?: string[]; message?: string };
        return Array.isArray(answer.users) ? { ok: true } : { ok: false, message: answer.message ?? JSON.stringify(answer) };
      } finally {
        client.close();
      }
    };
    /** The test's own RPC request to a chat server's remote, over NATS (docs/protocol.md). */
    const calling = (serverId: string) => async () => {
      const msg = await own.request(subjects('shaddock', 'chat').rpc(serverId), encode({ remote: 'chatRemote', method: 'get', args: [rid] }), { timeout: RPC_TIMEOUT });
      const reply = decode<RpcReply>(msg.data);
      return reply.ok ? { ok: true } : { ok: false, message: reply.error.message };
    };
    const loops = new Map<string, (n: number) => Promise<{ ok: boolean; message?: string }>>([
      ['alice sends', sending(alice, 'alice')],
      ['bob sends', sending(bob, 'bob')],
      ...connectors.map((c) => [`enter via ${c.id}`, entering(c.clientPort!, `${c.id}-guest`)] as const),
      ...chats.map((c) => [`rpc to ${c.id}`, calling(c.id)] as const),
    ]);
    const running = [...loops].map(([loop, call]) => run(loop, call));
    const succeededSince = (since: number): true | undefined =>
      [...loops.keys()].every((loop) => calls.some((c) => c.loop === loop && c.ok && c.started > since)) ? true : undefined;

    try {
      await eventually(async () => succeededSince(0), 'every loop succeeded once before the kill', 20_000);
      const killedAt = performance.now();
      await nats.kill(victim);
      assert.ok(!isAlive(nats.pids[victim]!), 'the node is gone');

      // The servers that were on it reconnect to the others (reconnect forever is Shaddock's default).
      await eventually(
        async () => {
          const names = new Set<string>();
          for (const i of survivors) for (const c of await nats.connections(i)) if (c.name !== undefined) names.add(c.name);
          return moving.every((id) => names.has(id)) ? true : undefined;
        },
        `${moving.join(', ')} reconnected to the other nodes`,
        20_000,
      );
      const reconnectedAt = performance.now();
      await eventually(async () => succeededSince(reconnectedAt), 'every loop succeeded again after the reconnect', RPC_TIMEOUT + MARGIN + 10_000);
      stopping = true;
      await Promise.all(running);

      const inFlight = calls.filter((c) => c.started < killedAt && c.ended > killedAt);
      assert.ok(inFlight.length > 0, 'calls were in flight when the node died');
      const failed = calls.filter((c) => !c.ok);
      for (const c of calls) {
        assert.ok(c.ended - c.started < RPC_TIMEOUT + MARGIN, `${c.loop} took ${Math.round(c.ended - c.started)} ms: ${c.message ?? 'ok'}`);
      }
      for (const c of failed) assert.match(c.message ?? '', CLEAR_ERROR, `${c.loop} failed with a clear error`);
      // What the kill did, for whoever reads the run.
      t.diagnostic(
        `killed node ${victim} (${moving.join(', ')}); ${calls.length} calls, ${inFlight.length} in flight at the kill (${inFlight.filter((c) => !c.ok).length} failed), ${failed.length} failed: ${[...new Set(failed.map((c) => c.message))].join(' | ')}`,
      );
    } finally {
      stopping = true;
      await Promise.all(running);
    }

    // After the reconnect: a message reaches the other client through both connectors and the chat server.
    const heard = bob.push('onChat', (body) => (body as { msg?: string }).msg === 'after the kill');
    assert.deepEqual(await alice.request('chat.chatHandler.send', { content: 'after the kill', target: '*' }), { code: 200 });
    assert.equal(((await heard) as { from: string }).from, 'alice');

    // Nothing was restarted, and the cluster is up on the two nodes left.
    const now = await cluster.list();
    for (const r of before) {
      const n = row(now, r.id);
      assert.equal(n.pid, r.pid, `${r.id} kept its process`);
      assert.equal(n.restarts, r.restarts, `${r.id} was not restarted`);
      if (r.serverType !== 'master') assert.equal(n.state, 'connected', `${r.id} is connected`);
    }
    assert.equal(readRunFile(cluster.dir, cluster.env)?.masterPid, masterPid, 'the same master');
    for (const i of survivors) assert.ok(isAlive(nats.pids[i]!), `NATS node ${i} is up`);
  });
});
