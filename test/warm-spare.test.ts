// Warm spares (servers.json `warm-spare: true`), with real processes on a real nats-server and the
// JavaScript fixture app on plain node: a kill -9 restarts the server in the spare the master
// announced before (same pid, bound to the same CPUs, answering RPC, the restart counted, the
// preloaded modules the very ones the app uses), a new spare follows; a stopped server's spare is
// killed with it, a whole-cluster stop leaves none; a spare whose master is SIGKILLed exits by
// itself. The spare pids come from the master's log lines ("warm spare for <id> spawned (pid N)").
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readRunFile } from '../src/actors/master/run-file.ts';
import { decode, encode } from '../src/transport/codec.ts';
import { subjects } from '../src/transport/subjects.ts';
import type { ServerRow } from '../src/transport/wire.ts';
import type { ServerInfo } from '../src/types.ts';
import { eventually, isAlive, nextHeartbeat, repoRoot, runCli, startCluster, useNats, waitForExit, type TestCluster } from './harness/index.ts';

const dir = join(repoRoot, 'test/fixtures/spare-app');
const logFile = join(dir, 'logs/shaddock-test.log');
const bus = useNats();

interface LogLine {
  msg: string;
  server?: string;
  sparePid?: number;
  serverPid?: number;
}

function logLines(): LogLine[] {
  if (!existsSync(logFile)) return [];
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

/** The pids of the spares the master says it spawned for `id`, in order. */
function sparesSpawned(id: string): number[] {
  return logLines().flatMap((line) => (line.server === id && line.sparePid !== undefined && /^warm spare for .* spawned/.test(line.msg) ? [line.sparePid] : []));
}

/** The next spare spawned for `id` that is not one of `known`, once it runs. */
function nextSpare(id: string, known: readonly number[]): Promise<number> {
  // A spare comes once the server is connected: after a cold start, which is slow on a loaded machine.
  return eventually(async () => sparesSpawned(id).find((pid) => !known.includes(pid) && isAlive(pid)), `a new warm spare for ${id}`, 30_000);
}

async function call(serverId: string, method: string): Promise<unknown> {
  const msg = await bus.nc.request(subjects('shaddock', 'sparetest').rpc(serverId), encode({ remote: 'whoRemote', method, args: [] }), { timeout: 3_000 });
  const reply = decode<{ ok: boolean; result: unknown }>(msg.data);
  assert.equal(reply.ok, true);
  return reply.result;
}

function nextRunning(serverId: string, notPid: number): Promise<ServerInfo> {
  return nextHeartbeat(bus.nc, 'sparetest', (info) => info.id === serverId && info.state === 'running' && info.pid !== notPid);
}

function row(rows: ServerRow[], id: string): ServerRow {
  const found = rows.find((r) => r.id === id);
  assert.ok(found, `${id} in list`);
  return found;
}

function cpusOf(pid: number): string {
  return /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '';
}

interface Origin {
  serverId: string;
  preloaded: string[] | null;
  resolved: string;
  argv: string[];
}

before(() => rmSync(join(dir, 'logs'), { recursive: true, force: true }));

describe('warm spare', () => {
  let cluster: TestCluster;
  /** Every spare pid seen, killed at the end if a failed test left one. */
  const seen = new Set<number>();
  before(async () => {
    cluster = await startCluster(dir, 'test', bus.url, { env: { SHADDOCK_LOG_LEVEL: 'info' } });
  });
  after(async () => {
    await cluster?.destroy();
    for (const pid of seen) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  });

  test('kill -9: the server restarts in the spare announced before, and a new spare follows', async () => {
    const spare = await nextSpare('echo-1', []);
    seen.add(spare);
    const rows = await cluster.list();
    assert.ok(!rows.some((r) => r.pid === spare), 'a spare is not listed');
    if (process.platform === 'linux') assert.equal(cpusOf(spare), '1', 'the spare is bound like the server');
    const before = row(rows, 'echo-1');
    assert.notEqual(before.pid, spare);

    const back = nextRunning('echo-1', before.pid!);
    process.kill(before.pid!, 'SIGKILL');
    const info = await back;
    assert.equal(info.pid, spare, 'the restarted server is the spare');
    assert.equal(info.restarts, 1, 'it announces the restart count the master gave it');
    assert.equal(await call('echo-1', 'pid'), spare);
    const origin = (await call('echo-1', 'origin')) as Origin;
    assert.equal(origin.serverId, 'echo-1');
    assert.ok(origin.preloaded, 'a spare');
    assert.equal(origin.preloaded.length, 2, 'the package entry and the server process module were loaded ahead');
    assert.equal(origin.preloaded[0], origin.resolved, "the app's `shaddock` is the preloaded module");
    assert.deepEqual(origin.argv, [join(dir, 'app.js')], 'argv as a server spawned directly has it');

    const now = await eventually(async () => {
      const r = row(await cluster.list(), 'echo-1');
      return r.state === 'connected' && r.pid === spare ? r : undefined;
    }, 'echo-1 connected again');
    assert.equal(now.restarts, 1);
    assert.equal(now.lastExit?.signal, 'SIGKILL');
    assert.ok(logLines().some((line) => line.msg === `server echo-1 starts in its warm spare (pid ${spare})`));

    const next = await nextSpare('echo-1', [spare]);
    seen.add(next);
    assert.ok(!(await cluster.list()).some((r) => r.pid === next), 'the new spare is not listed');
  });

  test('a server without warm-spare restarts in a process spawned for it, and has no spare', async () => {
    const before = row(await cluster.list(), 'echo-2');
    const back = nextRunning('echo-2', before.pid!);
    process.kill(before.pid!, 'SIGKILL');
    const info = await back;
    assert.ok(!sparesSpawned('echo-1').includes(info.pid));
    assert.deepEqual(sparesSpawned('echo-2'), []);
    const origin = (await call('echo-2', 'origin')) as Origin;
    assert.equal(origin.preloaded, null, 'not a spare');
    assert.equal(origin.serverId, 'echo-2');
  });

  test('shaddock stop <id>: the spare goes with its server, the master keeps running', async () => {
    const spare = await nextSpare('echo-1', []);
    seen.add(spare);
    const stopped = await runCli(['stop', ...cluster.args, 'echo-1']);
    assert.equal(stopped.code, 0, stopped.stderr);
    await waitForExit(spare, 5_000);
    const master = readRunFile(dir, 'test')?.masterPid;
    assert.ok(master !== undefined && isAlive(master), 'the master still runs');
    assert.equal(row(await cluster.list(), 'echo-1').state, 'stopped');

    // Started again by hand: once connected, it gets a spare again.
    const restarted = await runCli(['restart', ...cluster.args, 'echo-1']);
    assert.equal(restarted.code, 0, restarted.stderr);
    seen.add(await nextSpare('echo-1', [...seen]));
  });

  test('shaddock stop leaves no spare running', async () => {
    const spare = await nextSpare('echo-1', []);
    const result = await runCli(['stop', ...cluster.args]);
    assert.equal(result.code, 0, result.stderr);
    await waitForExit(spare, 5_000);
    assert.ok(!isAlive(spare));
  });
});

describe('warm spare of a master killed with SIGKILL', () => {
  let cluster: TestCluster;
  let spare: number | undefined;
  before(async () => {
    rmSync(join(dir, 'logs'), { recursive: true, force: true });
    cluster = await startCluster(dir, 'test', bus.url, { env: { SHADDOCK_LOG_LEVEL: 'info' } });
  });
  after(async () => {
    await cluster?.destroy();
    if (spare !== undefined && isAlive(spare)) process.kill(spare, 'SIGKILL');
  });

  test('the spare exits by itself (its stdin ends), the servers keep running', async () => {
    spare = await nextSpare('echo-1', []);
    const server = row(await cluster.list(), 'echo-1').pid!;
    const master = readRunFile(dir, 'test')?.masterPid;
    assert.ok(master !== undefined);
    process.kill(master, 'SIGKILL');
    await waitForExit(master);
    await waitForExit(spare, 5_000);
    assert.ok(isAlive(server), 'the server itself is left for the next master to adopt');
  });
});
