// A hostile bus: every NATS message goes through one guard (src/transport/inbound.ts) that drops,
// counts and reports what is malformed, so that no message can silence or kill a process.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Msg } from '@nats-io/transport-node';
import { decode, encode } from '../src/transport/codec.ts';
import { ControlVerifier, signControl, newControlKey } from '../src/transport/control.ts';
import { InboundGuard } from '../src/transport/inbound.ts';
import { subjects } from '../src/transport/subjects.ts';
import { checkAdminRequest, checkHandledBatch, checkHandlerBatch, checkPushMessage, checkServerInfo, checkSysCommand } from '../src/transport/wire-check.ts';
import { PinusClient } from './harness/pinus-client.ts';
import { eventually, repoRoot, runCli, startCluster, useNats, type TestCluster } from './harness/index.ts';

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
    assert.throws(() => checkHandlerBatch({ from: 'x', calls: [1] }), /field "calls\[0\]": expected \[id, handler, method, msg, session, trace\?\]/);
    assert.throws(() => checkHandledBatch({ replies: 5 }), /field "replies": expected an array, got number 5/);
    assert.throws(() => checkHandledBatch({ replies: [[1, 0, { name: 'E' }]] }), /field "message": expected a string/);
  });
});


describe('control commands carry proof that they come from the master', () => {
  test('a genuine stop is taken once; a replay, another process, another server, a wrong key or a stale time is refused', () => {
    const key = newControlKey();
    let now = 1_000_000;
    const verifier = new ControlVerifier(key, 'chat-server-1', 4242, () => now);
    const genuine = signControl(key, 'chat-server-1', 4242, 'stop', now, 1);
    assert.equal(verifier.refuse('stop', genuine), undefined);
    assert.equal(verifier.refuse('stop', genuine), 'replayed control command');
    assert.match(verifier.refuse('stop', signControl(key, 'chat-server-1', 4243, 'stop', now, 1)) ?? '', /wrong signature/);
    assert.match(verifier.refuse('stop', signControl(key, 'chat-server-2', 4242, 'stop', now, 1)) ?? '', /wrong signature/);
    assert.match(verifier.refuse('stop', signControl(newControlKey(), 'chat-server-1', 4242, 'stop', now, 1)) ?? '', /wrong signature/);
    assert.match(verifier.refuse('stop', signControl(key, 'chat-server-1', 4242, 'stop', now - 30_001, 1)) ?? '', /signed -?30 s from this server's clock/);
    assert.equal(verifier.refuse('stop', signControl(key, 'chat-server-1', 4242, 'stop', now + 29_000, 1)), undefined, 'within the window');
    assert.equal(verifier.refuse('stop', {}), 'unsigned control command');
    now += 120_000;
    assert.match(verifier.refuse('stop', genuine) ?? '', /from this server's clock/, 'an old one is out of the window when its memory is gone');
    assert.match(new ControlVerifier(undefined, 'x', 1, () => now).refuse('stop', genuine) ?? '', /given no control key/);
  });

  test('fencing: once a newer master has spoken, an older one is refused; the epoch is signed', () => {
    const key = newControlKey();
    const now = 1_000_000;
    // Started by the master of epoch 5.
    const verifier = new ControlVerifier(key, 'chat-server-1', 4242, () => now, 5);
    assert.equal(verifier.epoch, 5);
    assert.match(verifier.refuse('stop', signControl(key, 'chat-server-1', 4242, 'stop', now, 4)) ?? '', /^stop from a deposed master \(epoch 4; this server follows epoch 5\)$/);
    assert.equal(verifier.refuse('adopt', signControl(key, 'chat-server-1', 4242, 'adopt', now, 9)), undefined, 'a new leader adopts it');
    assert.equal(verifier.epoch, 9);
    assert.match(verifier.refuse('stop', signControl(key, 'chat-server-1', 4242, 'stop', now, 5)) ?? '', /deposed master \(epoch 5; this server follows epoch 9\)/, 'the master that started it is deposed now');
    assert.equal(verifier.refuse('stop', signControl(key, 'chat-server-1', 4242, 'stop', now, 9)), undefined, 'the leader itself is obeyed');
    // The epoch is under the MAC: raising it on a captured command breaks the signature.
    const captured = signControl(key, 'chat-server-1', 4242, 'stop', now, 9);
    assert.match(verifier.refuse('stop', { ...captured, epoch: 10 }) ?? '', /wrong signature/);
    assert.equal(verifier.refuse('stop', { at: captured.at, nonce: captured.nonce, mac: captured.mac }), 'unsigned control command');
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
    const targets = [names.heartbeat, names.discover, names.events, names.admin, ...ids.flatMap((id) => [names.sys(id), names.rpc(id), names.push(id), names.handler(id), names.handled(id), names.session(id)])];
    const payloads = storm(300);
    for (const subject of targets) for (const payload of payloads) bus.nc.publish(subject, payload);
    await bus.nc.flush();
    // A request with a reply subject is answered with an error rather than left to time out.
    const refused = decode<{ ok: boolean; error: string }>((await bus.nc.request(names.admin, encode(null), { timeout: 5_000 })).data);
    assert.equal(refused.ok, false);
    assert.match(refused.error, /^malformed admin request: malformed: expected an admin request \(a map\), got nil/);

    // Counted, and shown by list once each server's next heartbeat carries its counters.
    const after = await eventually(async () => {
      const rows = await cluster.list();
      return rows.every((row) => row.serverType === 'master' || (row.dropped.sys ?? 0) > 0) ? rows : undefined;
    }, 'every server reporting its drops');
    for (const row of after) {
      const kinds = row.serverType === 'master' ? ['admin', 'hb'] : ['sys', 'rpc', 'events'];
      for (const kind of kinds) assert.ok((row.dropped[kind] ?? 0) > 0, `${row.id} counted drops on ${kind}: ${JSON.stringify(row.dropped)}`);
    }
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
  test('a foreign stop on a server\'s control subject is refused, and the server keeps serving', async () => {
    const names = subjects('shaddock', 'chat');
    const before = (await cluster.list()).find((row) => row.id === 'chat-server-1')!;
    const ask = async (command: unknown) => decode<{ ok: boolean; error?: string }>((await bus.nc.request(names.sys('chat-server-1'), encode(command), { timeout: 5_000 })).data);
    assert.deepEqual(await ask({ command: 'stop' }), { ok: false, error: 'refused: unsigned control command' });
    const forged = await ask({ command: 'stop', at: Date.now(), nonce: '00', epoch: Date.now(), mac: 'ab'.repeat(32) });
    assert.equal(forged.ok, false);
    assert.match(forged.error ?? '', /^refused: control command with a wrong signature/);
    assert.equal((await ask({ command: 'ping' })).ok, true);
    const after = (await cluster.list()).find((row) => row.id === 'chat-server-1')!;
    assert.equal(after.pid, before.pid);
    assert.equal(after.state, 'connected');
    const reply = decode<{ ok: boolean }>((await bus.nc.request(names.rpc('chat-server-1'), encode({ remote: 'chatRemote', method: 'whereIs', args: ['r'] }), { timeout: 5_000 })).data);
    assert.equal(reply.ok, true);
  });

  test('the master\'s genuine stop, replayed at the restarted server, is refused', async () => {
    const names = subjects('shaddock', 'chat');
    const captured: Uint8Array[] = [];
    const spy = bus.nc.subscribe(names.sys('chat-server-2'), { callback: (_error, msg) => void captured.push(msg.data) });
    await bus.nc.flush();
    const restarted = await runCli(['restart', 'chat-server-2', ...cluster.args]);
    assert.equal(restarted.code, 0, restarted.stderr);
    spy.unsubscribe();
    const stop = captured.map((data) => decode<{ command: string }>(data)).find((command) => command.command === 'stop');
    assert.ok(stop, 'the master stopped chat-server-2 over NATS');
    let row = (await cluster.list()).find((r) => r.id === 'chat-server-2')!;
    for (let i = 0; row.state !== 'connected' && i < 100; i++) {
      await new Promise((resolve) => bus.nc.subscribe(names.heartbeat, { max: 1, callback: () => resolve(undefined) }));
      row = (await cluster.list()).find((r) => r.id === 'chat-server-2')!;
    }
    const replay = decode<{ ok: boolean; error?: string }>((await bus.nc.request(names.sys('chat-server-2'), encode(stop), { timeout: 5_000 })).data);
    assert.equal(replay.ok, false);
    assert.match(replay.error ?? '', /wrong signature \(not from this server's master, or for another process\)/);
    const after = (await cluster.list()).find((r) => r.id === 'chat-server-2')!;
    assert.equal(after.pid, row.pid);
    assert.equal(after.state, 'connected');
  });
});
