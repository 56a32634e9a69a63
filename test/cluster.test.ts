// Integration: the example chat cluster and an RPC fixture cluster, started and stopped through
// the real CLI, on a real nats-server this file starts and stops. Remote calls are made both from
// inside the cluster (app.rpc between server processes) and from this test over raw NATS with the
// protocol in docs/protocol.md, as a client in another language would.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readRunFile, runFilePath } from '../src/actors/master/run-file.ts';
import { stableHash } from '../src/actors/rpc/route.ts';
import { decode, encode } from '../src/transport/codec.ts';
import { subjects } from '../src/transport/subjects.ts';
import type { ServerInfo } from '../src/types.ts';
import { PinusClient } from './harness/pinus-client.ts';
import { eventually, isAlive, nextHeartbeat, repoRoot, runCli, startCluster, useNats, waitForExit, type TestCluster } from './harness/index.ts';

const chatDir = join(repoRoot, 'examples/chat');
const rpcDir = join(repoRoot, 'test/fixtures/rpc-app');

/** This file's nats-server and a connection to it. */
const bus = useNats();

/** Calls a remote the way any NATS client can: msgpack `{remote, method, args}` on `rpc.<serverId>`. */
async function rawCall(cluster: string, serverId: string, remote: string, method: string, args: unknown[]): Promise<{ ok: boolean; result?: unknown; error?: { name: string; message: string; code: string } }> {
  const msg = await bus.nc.request(subjects('shaddock', cluster).rpc(serverId), encode({ remote, method, args }), { timeout: 5_000 });
  return decode(msg.data);
}

/** The first heartbeat of `serverId` in state `running`. */
function heartbeatOf(cluster: string, serverId: string): Promise<ServerInfo> {
  return nextHeartbeat(bus.nc, cluster, (info) => info.id === serverId && info.state === 'running');
}

describe('the example chat cluster through the CLI', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster(chatDir, 'test', bus.url);
  });
  after(async () => {
    await cluster?.destroy();
  });

  test('list --json shows the master and every configured server connected, with live pids', async () => {
    const rows = await cluster.list();
    const servers = rows.filter((row) => row.serverType !== 'master');
    assert.deepEqual(servers.map((row) => row.id).sort(), ['chat-server-1', 'chat-server-2', 'connector-server-1', 'connector-server-2', 'gate-server-1']);
    for (const row of servers) {
      assert.equal(row.state, 'connected', `${row.id} is ${row.state}`);
      assert.ok(row.pid && isAlive(row.pid), `${row.id} has a live pid`);
      assert.equal(row.restarts, 0);
    }
    // The test environment's frontends ask for port 0: list shows the ports they actually bound.
    const ports = servers.filter((row) => row.frontend).map((row) => row.clientPort);
    assert.equal(ports.length, 3);
    assert.equal(new Set(ports).size, 3);
    for (const port of ports) assert.ok(port && port > 0, `bound client port ${port}`);
    assert.equal(rows[0]?.serverType, 'master');
    assert.equal(rows[0]?.state, 'leading.running');
  });

  test('list without --json prints a table with one row per server', async () => {
    const result = await runCli(['list', ...cluster.args]);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split('\n');
    assert.match(lines[0]!, /^id\s+serverType\s+pid\s+state\s+host\s+clientPort\s+restarts\s+lastExit\s+uptime\s+rss\s+cpu\s+dropped$/);
    assert.equal(lines.length, 1 + 6);
    assert.match(result.stdout, /chat-server-2\s+chat\s+\d+\s+connected/);
  });

  test('a connector calls the chat server that owns the room (server → server RPC, routed by rid)', async () => {
    const port = (await cluster.list()).find((row) => row.id === 'connector-server-1')!.clientPort!;
    const alice = await PinusClient.connect('tcp', port);
    const bob = await PinusClient.connect('tcp', port);
    try {
      assert.deepEqual(await alice.request('connector.entryHandler.enter', { username: 'alice', rid: 'room-7' }), { users: ['alice'] });
      assert.deepEqual(await bob.request('connector.entryHandler.enter', { username: 'bob', rid: 'room-7' }), { users: ['alice', 'bob'] });
      // The example routes rooms by a stable hash of rid over the chat servers sorted by id.
      const owner = ['chat-server-1', 'chat-server-2'][stableHash('room-7') % 2]!;
      const other = owner === 'chat-server-1' ? 'chat-server-2' : 'chat-server-1';
      assert.deepEqual(await rawCall('chat', owner, 'chatRemote', 'whereIs', ['room-7']), { ok: true, result: { serverId: owner, users: 2 } });
      assert.deepEqual(await rawCall('chat', other, 'chatRemote', 'whereIs', ['room-7']), { ok: true, result: { serverId: other, users: 0 } });
    } finally {
      alice.close();
      bob.close();
    }
  });

  test('the gate hands out a connector by hashing the uid', async () => {
    const rows = await cluster.list();
    const gate = await PinusClient.connect('ws', rows.find((row) => row.id === 'gate-server-1')!.clientPort!);
    try {
      const connectors = rows.filter((row) => row.serverType === 'connector').sort((a, b) => a.id.localeCompare(b.id));
      const port = connectors[stableHash('carol') % 2]!.clientPort;
      assert.deepEqual(await gate.request('gate.gateHandler.queryEntry', { uid: 'carol' }), { code: 200, host: '127.0.0.1', port });
      assert.deepEqual(await gate.request('gate.gateHandler.queryEntry', { uid: '' }), { code: 500 });
    } finally {
      gate.close();
    }
  });

  test('an exception in a remote reaches a raw caller with its message and code', async () => {
    const reply = await rawCall('chat', 'chat-server-1', 'chatRemote', 'fail', ['room is full']);
    assert.deepEqual(reply, { ok: false, error: { name: 'Error', message: 'room is full', code: 'CHAT_FAILED' } });
  });

  test('kill -9 of a chat server: it is back on its CPU, answering RPC, while the other serves on', { skip: process.platform !== 'linux' }, async () => {
    const before = (await cluster.list()).find((r) => r.id === 'chat-server-1')!;
    assert.equal(before.cpu, '1');
    const other = (await cluster.list()).find((r) => r.id === 'chat-server-2')!;
    const back = nextHeartbeat(bus.nc, 'chat', (info) => info.id === 'chat-server-1' && info.state === 'running' && info.pid !== before.pid);
    process.kill(before.pid!, 'SIGKILL');
    // Rooms on the other chat server never notice.
    assert.deepEqual(await rawCall('chat', 'chat-server-2', 'chatRemote', 'whereIs', ['x']), { ok: true, result: { serverId: 'chat-server-2', users: 0 } });
    const info = await back;
    const status = readFileSync(`/proc/${info.pid}/status`, 'utf8');
    assert.equal(/Cpus_allowed_list:\s*(\S+)/.exec(status)?.[1], '1');
    assert.deepEqual(await rawCall('chat', 'chat-server-1', 'chatRemote', 'whereIs', ['x']), { ok: true, result: { serverId: 'chat-server-1', users: 0 } });
    const row = await eventually(async () => (await cluster.list()).find((r) => r.id === 'chat-server-1' && r.state === 'connected' && r.pid === info.pid), 'chat-server-1 back');
    assert.equal(row.restarts, 1);
    assert.equal((await cluster.list()).find((r) => r.id === 'chat-server-2')?.pid, other.pid);
  });

  test('a wrong admin token is refused with a clear message', async () => {
    const result = await runCli(['list', ...cluster.args, '--token', 'not-the-token']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /admin token refused/);
  });

  test('add starts one more server at runtime; stop <id> stops only it', async () => {
    const up = heartbeatOf('chat', 'chat-server-3');
    const added = await runCli(['add', ...cluster.args, 'id=chat-server-3', 'serverType=chat', 'port=6052']);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /added chat-server-3/);
    const info = await up;
    assert.deepEqual(info.remotes.chatRemote, ['add', 'fail', 'get', 'kick', 'whereIs']);
    const row = await eventually(async () => (await cluster.list()).find((r) => r.id === 'chat-server-3' && r.state === 'connected'), 'chat-server-3 connected');
    assert.equal(row.pid, info.pid);

    const duplicate = await runCli(['add', ...cluster.args, 'id=chat-server-3', 'serverType=chat']);
    assert.equal(duplicate.code, 1);
    assert.match(duplicate.stderr, /chat-server-3/);

    const stopped = await runCli(['stop', ...cluster.args, 'chat-server-3']);
    assert.equal(stopped.code, 0, stopped.stderr);
    await waitForExit(info.pid);
    const rows = await cluster.list();
    assert.equal(rows.find((r) => r.id === 'chat-server-3')?.state, 'stopped');
    assert.ok(rows.filter((r) => r.id !== 'chat-server-3' && r.serverType !== 'master').every((r) => r.state === 'connected'));
  });

  test('stop stops every server and the master, leaving no process and no run file', async () => {
    const pids = await cluster.pids();
    assert.ok(pids.length >= 6);
    const result = await runCli(['stop', ...cluster.args]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /and the master/);
    for (const pid of pids) await waitForExit(pid, 5_000);
    assert.equal(existsSync(runFilePath(chatDir, 'test')), false);
    const after = await runCli(['list', ...cluster.args]);
    assert.equal(after.code, 1);
    assert.match(after.stderr, /no master is running/);
  });
});

describe('RPC between server processes (fixture cluster)', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster(rpcDir, 'test', bus.url);
  });
  after(async () => {
    await cluster?.destroy();
  });

  const probe = (method: string, args: unknown[]) => rawCall('rpctest', 'probe-1', 'probeRemote', method, args);

  test('typed calls return results, routed by a stable hash of the route parameter', async () => {
    assert.deepEqual(await probe('add', ['u1', 2, 3]), { ok: true, result: { ok: true, result: 5 } });
    for (const key of ['a', 'b', 'c', 'd']) {
      const expected = ['worker-1', 'worker-2'][stableHash(key) % 2];
      assert.deepEqual(await probe('whoami', [key]), { ok: true, result: { ok: true, result: expected } });
    }
    assert.deepEqual(await probe('whoamiOn', ['worker-2']), { ok: true, result: { ok: true, result: 'worker-2' } });
  });

  test('a remote exception rejects the calling server with its message and code', async () => {
    const reply = await probe('fail', ['out of gold', 'NO_GOLD']);
    assert.deepEqual(reply.result, { ok: false, name: 'RemoteError', code: 'NO_GOLD', message: 'out of gold' });
  });

  test('a slow remote rejects with RpcTimeoutError naming server and method', async () => {
    const started = Date.now();
    const reply = await probe('sleep', [1_000, 150]);
    const result = reply.result as { ok: false; name: string; code: string; message: string };
    assert.equal(result.name, 'RpcTimeoutError');
    assert.equal(result.code, 'RPC_TIMEOUT');
    assert.match(result.message, /rpc workerRemote\.sleep on server "worker-[12]" timed out after 150 ms/);
    assert.ok(Date.now() - started < 1_000, 'rejected before the remote finished');
  });

  test('an unknown server type or method rejects at once with a clear error', async () => {
    const type = (await probe('unknownType', [])).result as { name: string; message: string };
    assert.equal(type.name, 'UnknownServerTypeError');
    assert.match(type.message, /unknown server type "nosuch" \(known: probe, worker\)/);
    const method = (await probe('unknownMethod', ['explode'])).result as { name: string; message: string };
    assert.equal(method.name, 'UnknownRemoteError');
    assert.match(method.message, /no remote method workerRemote\.explode \(it has: workerRemote\.add, workerRemote\.echo/);
    const hidden = (await probe('unknownMethod', ['_hidden'])).result as { name: string };
    assert.equal(hidden.name, 'UnknownRemoteError');
    const toUnknownServer = (await probe('whoamiOn', ['worker-9'])).result as { name: string; message: string };
    assert.equal(toUnknownServer.name, 'ServerUnavailableError');
  });

  test('a raw request for a method the server does not have gets an error reply, not silence', async () => {
    const reply = await rawCall('rpctest', 'worker-1', 'workerRemote', 'constructor', []);
    assert.equal(reply.ok, false);
    assert.equal(reply.error?.code, 'UNKNOWN_REMOTE');
    const garbage = await bus.nc.request(subjects('shaddock', 'rpctest').rpc('worker-1'), new Uint8Array([0xc1]), { timeout: 2_000 });
    assert.equal(decode<{ error: { code: string } }>(garbage.data).error.code, 'BAD_REQUEST');
  });

  test('afterStartAll hooks ran once every server had started', async () => {
    const reply = await probe('report', []);
    assert.equal((reply.result as { allStarted: boolean }).allStarted, true);
  });

  test('every server sees the others through heartbeats', async () => {
    const reply = await probe('servers', []);
    const servers = (reply.result as { id: string }[]).map((s) => s.id).sort();
    assert.deepEqual(servers, ['probe-1', 'worker-1', 'worker-2']);
  });

  test('start -i runs one server by hand; the master adopts it and can stop it', async () => {
    const stopped = await runCli(['stop', ...cluster.args, 'worker-2']);
    assert.equal(stopped.code, 0, stopped.stderr);
    const up = heartbeatOf('rpctest', 'worker-2');
    const child = spawn(process.execPath, [join(repoRoot, 'bin/shaddock.js'), 'start', '-i', 'worker-2', ...cluster.args], {
      env: { ...process.env, SHADDOCK_LOG_LEVEL: 'warn' },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const info = await up;
      assert.equal(info.pid, child.pid, 'the CLI process itself is the server');
      const row = await eventually(async () => (await cluster.list()).find((r) => r.id === 'worker-2' && r.state === 'connected'), 'worker-2 adopted');
      assert.equal(row.pid, child.pid);
      assert.deepEqual(await probe('whoamiOn', ['worker-2']), { ok: true, result: { ok: true, result: 'worker-2' } });
      const again = await runCli(['stop', ...cluster.args, 'worker-2']);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(await exited, 0, 'a graceful stop exits 0');
      // Its before-stop hook ran, and could still call another server; so did the first stop's.
      const report = (await probe('report', [])).result as { notes: string[] };
      assert.deepEqual(report.notes, ['worker-2 stopping', 'worker-2 stopping']);
      assert.equal((await cluster.list()).find((r) => r.id === 'worker-2')?.state, 'stopped');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  test('a new master adopts the servers a dead master left running, instead of starting them twice', async () => {
    const before = (await cluster.list()).filter((row) => row.serverType !== 'master' && row.state === 'connected');
    assert.ok(before.length >= 2);
    const oldMaster = readRunFile(rpcDir, 'test')!.masterPid;
    process.kill(oldMaster, 'SIGKILL');
    await waitForExit(oldMaster);
    for (const row of before) assert.ok(isAlive(row.pid!), `${row.id} survives its master`);

    const started = await runCli(['start', '-D', ...cluster.args]);
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, /3\/3 servers connected/);
    const after = await cluster.list();
    assert.notEqual(after[0]?.pid, oldMaster);
    for (const row of before) {
      const now = after.find((r) => r.id === row.id);
      assert.equal(now?.state, 'connected');
      assert.equal(now?.pid, row.pid, `${row.id} was adopted, not restarted`);
    }
    assert.deepEqual(await probe('add', ['u1', 20, 22]), { ok: true, result: { ok: true, result: 42 } });
  });

  test('kill ends every server process and the master at once', async () => {
    const pids = await cluster.pids();
    const result = await runCli(['kill', ...cluster.args]);
    assert.equal(result.code, 0, result.stderr);
    for (const pid of pids) await waitForExit(pid, 5_000);
    assert.equal(existsSync(runFilePath(rpcDir, 'test')), false);
  });
});
