// A hostile bus: every NATS message goes through one guard (src/transport/inbound.ts) that drops,
// counts and reports what is malformed, so that no message can silence or kill a process.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Msg } from '@nats-io/transport-node';
import { decode, encode } from '../src/transport/codec.ts';
import { InboundGuard } from '../src/transport/inbound.ts';
import { subjects } from '../src/transport/subjects.ts';
import { checkAdminRequest, checkHandledBatch, checkHandlerBatch, checkPushMessage, checkServerInfo, checkSysCommand } from '../src/transport/wire-check.ts';
import { PinusClient } from './harness/pinus-client.ts';
import { repoRoot, startCluster, useNats, type TestCluster } from './harness/index.ts';

/** A message as nats.js hands it to a callback, recording what is answered. */
function message(data: Uint8Array, reply?: string): Msg & { answers: unknown[] } {
  const answers: unknown[] = [];
  return { subject: 'shaddock.t.sys.x', data, reply, answers, respond: (bytes: Uint8Array) => void answers.push(decode(bytes)) } as unknown as Msg & { answers: unknown[] };
}

describe('the inbound guard', () => {
  test('bad bytes, nil and wrong shapes are dropped and counted; a good message reaches the handler', () => {
    const handled: unknown[] = [];
    const guard = new InboundGuard();
    const sys = { kind: 'sys', check: checkSysCommand, handle: (command: unknown) => void handled.push(command) };
    for (const data of [new Uint8Array([0xc1]), encode(null), encode({ command: 5 }), encode([1, 2]), new TextEncoder().encode('{"command":"stop"}'), new Uint8Array([0x82, 0xa1])]) {
      guard.take(message(data), sys);
    }
    assert.deepEqual(handled, []);
    guard.take(message(encode({ command: 'ping' })), sys);
    assert.deepEqual(handled, [{ command: 'ping' }]);
    assert.deepEqual(guard.dropped(), { sys: 6 });
  });

  test('a request that is malformed is answered with an error naming the problem', () => {
    const guard = new InboundGuard();
    const msg = message(encode({ command: 'stop', ids: 'all' }), '_INBOX.1');
    guard.take(msg, { kind: 'admin', check: checkAdminRequest, handle: () => assert.fail('must not run'), malformed: (problem) => ({ ok: false, error: problem }) });
    assert.equal(msg.answers.length, 1);
    assert.match((msg.answers[0] as { error: string }).error, /^malformed: field "token": expected a string, got undefined/);
  });

  test('a handler that throws loses its message, not the subscription', () => {
    const guard = new InboundGuard();
    let calls = 0;
    const handler = { kind: 'events', check: (v: unknown) => v, handle: () => { calls++; throw new Error('boom'); } };
    guard.take(message(encode({ type: 'allStarted' })), handler);
    guard.take(message(encode({ type: 'allStarted' })), handler);
    assert.equal(calls, 2);
    assert.deepEqual(guard.dropped(), { events: 2 });
  });

  test('reports at most once per subject kind per 10 s, with the count since the last report', () => {
    let now = 0;
    const reports: { kind: string; dropped: number; reason: string }[] = [];
    const guard = new InboundGuard((report) => reports.push(report), () => now);
    const hb = { kind: 'hb', check: checkServerInfo, handle: () => {} };
    for (let i = 0; i < 1000; i++) guard.take(message(randomBytes(40)), hb);
    assert.equal(reports.length, 1);
    now = 9_999;
    guard.take(message(encode({})), hb);
    assert.equal(reports.length, 1);
    now = 10_000;
    guard.take(message(encode({ id: 1 })), hb);
    assert.equal(reports.length, 2);
    assert.equal(reports[1]!.dropped, 1001);
    assert.match(reports[1]!.reason, /field "id": expected a string, got number 1/);
  });

  test('oversized payloads are dropped before decoding', () => {
    const guard = new InboundGuard(undefined, undefined, 1024);
    let decoded = false;
    guard.take(message(encode({ command: 'ping', pad: 'x'.repeat(2000) })), { kind: 'sys', check: (v: unknown) => ((decoded = true), v), handle: () => {} });
    assert.equal(decoded, false);
    assert.deepEqual(guard.dropped(), { sys: 1 });
  });

  test('shape checks name the field: push, forwarded calls and replies', () => {
    assert.throws(() => checkPushMessage({ route: 'onChat', body: 'x', uids: [] }), /field "body": expected bytes/);
    assert.throws(() => checkPushMessage({ route: 'onChat', body: new Uint8Array() }), /expected "uids" or "all": true/);
    assert.throws(() => checkHandlerBatch({ from: 'x', calls: [1] }), /field "calls\[0\]": expected \[id, handler, method, msg, session\]/);
    assert.throws(() => checkHandledBatch({ replies: 5 }), /field "replies": expected an array, got number 5/);
    assert.throws(() => checkHandledBatch({ replies: [[1, 0, { name: 'E' }]] }), /field "message": expected a string/);
  });
});

/** Payloads of every kind of wrong: random bytes, truncated msgpack, nil, JSON, wrong shapes, near max_payload. */
function storm(count: number): Uint8Array[] {
  const valid = encode({ id: 'x', serverType: 'chat', host: 'h', frontend: false, pid: 1, state: 'running', remotes: {}, startedAt: 0, rss: 0 });
  const out: Uint8Array[] = [encode(null), new Uint8Array(0), new TextEncoder().encode('{"command":"ping"}'), randomBytes(900 * 1024)];
  const shapes = [5, 'stop', [1, 2, 3], { command: 7 }, { from: 'x', calls: [1] }, { replies: 5 }, { route: 1 }, { remote: 5 }, { token: null }, { type: 9 }];
  for (let i = 0; out.length < count; i++) {
    out.push(randomBytes(1 + (i % 200)));
    out.push(valid.subarray(0, 1 + (i % (valid.length - 1))));
    out.push(encode(shapes[i % shapes.length]));
  }
  return out;
}

describe('a storm of malformed messages on every subject the chat cluster subscribes to', () => {
  const bus = useNats();
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster(join(repoRoot, 'examples/chat'), 'test', bus.url);
  });
  after(async () => {
    await cluster?.destroy();
  });

  test('afterwards every server answers, the master answers list, and nothing restarted', async () => {
    const before = await cluster.list();
    const names = subjects('shaddock', 'chat');
    const ids = before.filter((row) => row.serverType !== 'master').map((row) => row.id);
    const targets = [names.heartbeat, names.discover, names.events, names.admin, ...ids.flatMap((id) => [names.sys(id), names.rpc(id), names.push(id)])];
    const payloads = storm(300);
    for (const subject of targets) for (const payload of payloads) bus.nc.publish(subject, payload);
    await bus.nc.flush();
    // A request with a reply subject is answered with an error rather than left to time out.
    const refused = decode<{ ok: boolean; error: string }>((await bus.nc.request(names.admin, encode(null), { timeout: 5_000 })).data);
    assert.equal(refused.ok, false);
    assert.match(refused.error, /^malformed admin request: malformed: expected an admin request \(a map\), got nil/);

    const after = await cluster.list();
    for (const row of after) {
      const earlier = before.find((b) => b.id === row.id)!;
      assert.equal(row.pid, earlier.pid, `${row.id} kept its process`);
      assert.equal(row.restarts, 0, `${row.id} was not restarted`);
      if (row.serverType !== 'master') assert.equal(row.state, 'connected', `${row.id} is ${row.state}`);
    }
    for (const id of ['chat-server-1', 'chat-server-2']) {
      const reply = decode<{ ok: boolean }>((await bus.nc.request(names.rpc(id), encode({ remote: 'chatRemote', method: 'whereIs', args: ['room-1'] }), { timeout: 5_000 })).data);
      assert.equal(reply.ok, true, `${id} answers RPC`);
    }
    for (const row of after.filter((r) => r.serverType === 'connector')) {
      const client = await PinusClient.connect('tcp', row.clientPort!);
      try {
        assert.deepEqual(await client.request('connector.entryHandler.enter', { username: `u-${row.id}`, rid: `storm-${row.id}` }), { users: [`u-${row.id}`] });
      } finally {
        client.close();
      }
    }
    const gate = await PinusClient.connect('ws', after.find((r) => r.id === 'gate-server-1')!.clientPort!);
    try {
      assert.equal(((await gate.request('gate.gateHandler.queryEntry', { uid: 'dave' })) as { code: number }).code, 200);
    } finally {
      gate.close();
    }
  });
});
