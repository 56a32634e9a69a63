// Supervision with real processes on a real nats-server: auto-restart after kill -9 (on its CPU),
// no restart without auto-restart, a crash loop that ends failed, a hung server killed and
// restarted, before-stop hooks in order with a timeout, and a stop that cancels a pending restart.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ServerRow } from '../src/transport/wire.ts';
import { decode, encode } from '../src/transport/codec.ts';
import { subjects } from '../src/transport/subjects.ts';
import type { ServerInfo } from '../src/types.ts';
import { eventually, isAlive, nextHeartbeat, repoRoot, runCli, startCluster, useNats, waitForExit, type TestCluster } from './harness/index.ts';

const dir = join(repoRoot, 'test/fixtures/supervise-app');
/** This file's nats-server and a connection to it. */
const bus = useNats();

before(() => rmSync(join(dir, 'logs'), { recursive: true, force: true }));

async function call(cluster: string, serverId: string, remote: string, method: string): Promise<unknown> {
  const msg = await bus.nc.request(subjects('shaddock', cluster).rpc(serverId), encode({ remote, method, args: [] }), { timeout: 3_000 });
  const reply = decode<{ ok: boolean; result: unknown }>(msg.data);
  assert.equal(reply.ok, true);
  return reply.result;
}

/** The first `running` heartbeat of `serverId` from a process other than `notPid`. */
function nextRunning(cluster: string, serverId: string, notPid: number): Promise<ServerInfo> {
  return nextHeartbeat(bus.nc, cluster, (info) => info.id === serverId && info.state === 'running' && info.pid !== notPid);
}

function row(rows: ServerRow[], id: string): ServerRow {
  const found = rows.find((r) => r.id === id);
  assert.ok(found, `${id} in list`);
  return found;
}

function cpusOf(pid: number): string {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return /Cpus_allowed_list:\s*(\S+)/.exec(status)?.[1] ?? '';
}

describe('supervision', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster(dir, 'test', bus.url);
  });
  after(async () => {
    await cluster?.destroy();
  });

  test('kill -9 of an auto-restart server: a new pid, connected, on the same CPUs, answering RPC', { skip: process.platform !== 'linux' }, async () => {
    const before = row(await cluster.list(), 'keeper-1');
    assert.equal(before.cpu, '1');
    assert.equal(cpusOf(before.pid!), '1');
    const back = nextRunning('supervise', 'keeper-1', before.pid!);
    process.kill(before.pid!, 'SIGKILL');
    const info = await back;
    assert.equal(cpusOf(info.pid), '1', 'bound again after the restart');
    assert.equal(await call('supervise', 'keeper-1', 'whoRemote', 'pid'), info.pid);
    const now = await eventually(async () => {
      const r = row(await cluster.list(), 'keeper-1');
      return r.state === 'connected' && r.pid === info.pid ? r : undefined;
    }, 'keeper-1 connected again');
    assert.equal(now.restarts, 1);
    assert.equal(now.lastExit?.signal, 'SIGKILL');
  });

  test('kill -9 of a server without auto-restart: it stays down, reported with its signal', async () => {
    const before = row(await cluster.list(), 'mortal-1');
    process.kill(before.pid!, 'SIGKILL');
    const down = await eventually(async () => {
      const r = row(await cluster.list(), 'mortal-1');
      return r.state === 'crashed' ? r : undefined;
    }, 'mortal-1 crashed');
    assert.equal(down.lastExit?.signal, 'SIGKILL');
    assert.equal(down.pid, null);
    assert.equal(down.reason, 'not auto-restarted; down: signal SIGKILL');
    const table = await runCli(['list', ...cluster.args]);
    assert.match(table.stdout, /mortal-1: not auto-restarted; down: signal SIGKILL/);
    // Longer than any backoff of this cluster's policy: nothing came back.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const later = row(await cluster.list(), 'mortal-1');
    assert.equal(later.state, 'crashed');
    assert.equal(later.restarts, 0);
  });

  test('a crash-looping server is restarted with the configured backoff, then failed past the limit', async () => {
    await call('supervise', 'looper-1', 'looperRemote', 'crashLoop');
    const failed = await eventually(async () => {
      const r = row(await cluster.list(), 'looper-1');
      return r.state === 'failed' ? r : undefined;
    }, 'looper-1 failed', 30_000);
    assert.equal(failed.restarts, 3);
    assert.match(failed.reason ?? '', /restarted 3 times within 60 s; last down: exit code 3/);
    // The timeline, from the master's log: each restart waited its backoff.
    const log = readFileSync(join(dir, 'logs/shaddock-test.log'), 'utf8').split('\n').filter((line) => line.includes('"server":"looper-1"'));
    const delays = log.map((line) => JSON.parse(line) as { delay?: number; msg: string }).filter((entry) => entry.delay !== undefined).map((entry) => entry.delay);
    assert.deepEqual(delays, [50, 100, 200]);
    assert.ok(log.some((line) => line.includes('looper-1 failed: restarted 3 times')));
  });

  test('a hung server (no heartbeats, no exit) is killed and restarted', async () => {
    const pid = (await call('supervise', 'sleeper-1', 'sleeperRemote', 'pid')) as number;
    const back = nextRunning('supervise', 'sleeper-1', pid);
    await call('supervise', 'sleeper-1', 'sleeperRemote', 'hang');
    const info = await back;
    assert.equal(isAlive(pid), false, 'the hung process was killed');
    const now = await eventually(async () => {
      const r = row(await cluster.list(), 'sleeper-1');
      return r.state === 'connected' && r.pid === info.pid ? r : undefined;
    }, 'sleeper-1 connected again');
    assert.equal(now.lastExit?.signal, 'SIGKILL', 'SIGTERM cannot reach a blocked event loop; SIGKILL followed');
    assert.equal(now.restarts, 1);
  });

  test('stop <id>: before-stop hooks run in order, a hook that hangs is cut off, and the server is not restarted', async () => {
    const pid = row(await cluster.list(), 'keeper-1').pid!;
    const started = Date.now();
    const stopped = await runCli(['stop', ...cluster.args, 'keeper-1']);
    assert.equal(stopped.code, 0, stopped.stderr);
    await waitForExit(pid);
    assert.ok(Date.now() - started >= 300, 'the hanging hook held the stop for its timeout');
    const lines = readFileSync(join(dir, 'logs/hooks-keeper-1.log'), 'utf8').trim().split('\n').filter((line) => line.startsWith(`${pid} `));
    assert.deepEqual(lines.map((line) => line.slice(String(pid).length + 1)), ['first', 'second, never finishing', 'third']);
    const log = readFileSync(join(dir, 'logs/shaddock-test.log'), 'utf8');
    assert.match(log, /beforeStop hook #2 failed; stopping anyway/);
    const r = row(await cluster.list(), 'keeper-1');
    assert.equal(r.state, 'stopped');
    assert.equal(r.lastExit?.code, 0, 'a graceful stop exits 0');
  });

  test('restart <id> starts a stopped or failed server again, with its limits reset', async () => {
    const result = await runCli(['restart', ...cluster.args, 'keeper-1', 'looper-1']);
    assert.equal(result.code, 0, result.stderr);
    rmSync(join(dir, 'logs/crash-loop-looper-1'), { force: true });
    await eventually(async () => {
      const rows = await cluster.list();
      return row(rows, 'keeper-1').state === 'connected' && row(rows, 'looper-1').state === 'connected' ? rows : undefined;
    }, 'keeper-1 and looper-1 connected');
    assert.equal(row(await cluster.list(), 'looper-1').reason, null);
  });

  test('stop stops the whole cluster and leaves no process', async () => {
    const pids = await cluster.pids();
    const result = await runCli(['stop', ...cluster.args]);
    assert.equal(result.code, 0, result.stderr);
    for (const pid of pids) await waitForExit(pid, 10_000);
  });
});

describe('a stop while a restart is pending cancels it', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster(dir, 'slow', bus.url);
  });
  after(async () => {
    await cluster?.destroy();
  });

  test('kill -9, stop during the 3 s backoff: stopped, and no new process', async () => {
    const pid = row(await cluster.list(), 'keeper-1').pid!;
    process.kill(pid, 'SIGKILL');
    await eventually(async () => (row(await cluster.list(), 'keeper-1').state === 'restarting' ? true : undefined), 'keeper-1 restarting');
    const stopped = await runCli(['stop', ...cluster.args, 'keeper-1']);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal(row(await cluster.list(), 'keeper-1').state, 'stopped');
    // Past the end of the backoff, still nobody: the restart was cancelled.
    let restarted = false;
    const subscription = bus.nc.subscribe(subjects('shaddock', 'supervise-slow').heartbeat, {
      callback: (_e, msg) => {
        if (decode<ServerInfo>(msg.data).id === 'keeper-1') restarted = true;
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    subscription.unsubscribe();
    assert.equal(restarted, false);
    const r = row(await cluster.list(), 'keeper-1');
    assert.equal(r.state, 'stopped');
    assert.equal(r.restarts, 0);
    const result = await runCli(['stop', ...cluster.args]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(existsSync(join(dir, '.shaddock/slow.json')), false);
  });
});
