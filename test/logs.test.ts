// Daemon logs (`shaddock start -D`): every line of logs/shaddock-<env>.log is JSON, whatever the
// servers die of (kill -9, an uncaught throw, an unhandled rejection, a start that rejects), with
// the processes run under --unhandled-rejections=strict; and SIGHUP to the master, after the file
// was renamed (logrotate), makes the master and its servers write to a new file at the same path
// without stopping any of them.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ServerRow } from '../src/transport/wire.ts';
import { HangupRelay, type Signallable } from '../src/actors/master/hangup-relay.ts';
import { serverCommand } from '../src/actors/master/spawn.ts';
import { loadConfig } from '../src/config/index.ts';
import { decode, encode } from '../src/transport/codec.ts';
import { subjects } from '../src/transport/subjects.ts';
import { eventually, freePort, isAlive, nextHeartbeat, repoRoot, runCli, startCluster, useNats, type TestCluster } from './harness/index.ts';

const fixture = join(repoRoot, 'test/fixtures/log-app');
// Inside the repository, so that the copied app can import 'shaddock' like a user's app does.
const scratch = join(repoRoot, 'test/.tmp');
const copies: string[] = [];
const bus = useNats();
/** Info lines too (SIGHUP's "reopened"), and a runtime that dies of any rejection left unhandled. */
const clusterEnv = { SHADDOCK_LOG_LEVEL: 'info', NODE_OPTIONS: '--unhandled-rejections=strict' };

after(() => {
  for (const dir of copies) rmSync(dir, { recursive: true, force: true });
});

function copyApp(name: string): string {
  mkdirSync(scratch, { recursive: true });
  const dir = mkdtempSync(join(scratch, `${name}-`));
  cpSync(fixture, dir, { recursive: true });
  copies.push(dir);
  return dir;
}

interface LogLine {
  level: number;
  serverId: string;
  pid: number;
  msg: string;
  err?: { message: string; stack?: string };
  /** The master machine's failure, as text. */
  error?: string;
  warning?: { name: string; code?: string };
}

/** What a line says: its message and its error's. */
function said(line: LogLine): string {
  return [line.msg, line.error, line.err?.message].filter(Boolean).join(' | ');
}

/** Every line of a log file, each parsed as JSON: fails naming the first line that is not. */
function readLog(file: string): LogLine[] {
  const text = readFileSync(file, 'utf8');
  assert.ok(text === '' || text.endsWith('\n'), `${file} ends with a whole line`);
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line, index) => {
      try {
        return JSON.parse(line) as LogLine;
      } catch {
        return assert.fail(`line ${index + 1} of ${file} is not JSON: ${line}`);
      }
    });
}

async function call(serverId: string, method: string): Promise<unknown> {
  const msg = await bus.nc.request(subjects('shaddock', 'logtest').rpc(serverId), encode({ remote: 'crashRemote', method, args: [] }), { timeout: 3_000 });
  const reply = decode<{ ok: boolean; result: unknown }>(msg.data);
  assert.equal(reply.ok, true);
  return reply.result;
}

function row(rows: ServerRow[], id: string): ServerRow {
  const found = rows.find((r) => r.id === id);
  assert.ok(found, `${id} in list`);
  return found;
}

/** A copy of the fixture app running as a daemon cluster for the calling describe block. */
function useCluster(name: string): { readonly dir: string; readonly cluster: TestCluster } {
  let started: { dir: string; cluster: TestCluster } | undefined;
  before(async () => {
    const dir = copyApp(name);
    started = { dir, cluster: await startCluster(dir, 'test', bus.url, { env: clusterEnv }) };
  });
  after(async () => {
    await started?.cluster.destroy();
  });
  return {
    get dir() {
      return started!.dir;
    },
    get cluster() {
      return started!.cluster;
    },
  };
}

describe('a daemon log holds JSON lines only, whatever its servers die of', () => {
  const running = useCluster('crashes');

  test('kill -9, an uncaught throw, an unhandled rejection, a warning, a start that rejects', async () => {
    const { dir, cluster } = running;
    const dead: Record<string, number> = {};
    /** Fails crasher-1 with `how`, and waits for its next process to be running. */
    const crash = async (how: string, act: (pid: number) => Promise<unknown>): Promise<void> => {
      const pid = row(await cluster.list(), 'crasher-1').pid!;
      const back = nextHeartbeat(bus.nc, 'logtest', (info) => info.id === 'crasher-1' && info.state === 'running' && info.pid !== pid);
      await act(pid);
      await back;
      dead[how] = pid;
    };
    await crash('kill', async (pid) => process.kill(pid, 'SIGKILL'));
    await crash('throw', () => call('crasher-1', 'throwUncaught'));
    const afterThrow = await eventually(async () => {
      const r = row(await cluster.list(), 'crasher-1');
      return r.state === 'connected' && r.restarts === 2 ? r : undefined;
    }, 'crasher-1 connected after its uncaught throw');
    assert.equal(afterThrow.lastExit?.code, 1, 'an uncaught throw still ends a server with code 1');
    await crash('reject', () => call('crasher-1', 'rejectUnhandled'));
    assert.equal(await call('crasher-1', 'warn'), true);
    const added = await runCli(['add', ...cluster.args, 'id=doomed-1', 'serverType=doomed']);
    assert.equal(added.code, 0, added.stderr);
    const doomed = await eventually(async () => {
      const r = row(await cluster.list(), 'doomed-1');
      return r.state === 'crashed' ? r : undefined;
    }, 'doomed-1 crashed');
    assert.equal(doomed.lastExit?.code, 1);
    const stopped = await runCli(['stop', ...cluster.args]);
    assert.equal(stopped.code, 0, stopped.stderr);

    const lines = readLog(join(dir, 'logs/shaddock-test.log'));
    const fatal = lines.filter((line) => line.level === 60);
    assert.deepEqual(
      fatal.map((line) => [line.serverId, line.pid, line.msg]),
      [
        ['crasher-1', dead.throw, 'uncaught exception: thrown on purpose, uncaught'],
        ['crasher-1', dead.reject, 'unhandled rejection: rejected on purpose, unhandled'],
      ],
      'one fatal line per failure, and no other (strict mode would turn any rejection the runtime leaves unhandled into one)',
    );
    for (const line of fatal) assert.match(line.err?.stack ?? '', /crashRemote\.ts/, 'the stack is in the line, serialized');
    const doomedLines = lines.filter((line) => line.serverId === 'doomed-1' && line.level >= 50);
    assert.equal(doomedLines.length, 1, `logged once: ${JSON.stringify(doomedLines)}`);
    assert.match(doomedLines[0]!.msg, /^doomed-1 did not start: globalChannel is enabled but no Redis is given/);
    const warning = lines.find((line) => line.warning?.name === 'ShaddockTestWarning');
    assert.equal(warning?.level, 40);
    assert.equal(warning?.warning?.code, 'SHADDOCK_TEST');
    // Node itself printed nothing: no stack trace, no warning, no "Node.js v20" footer.
    assert.equal(readFileSync(join(dir, 'logs/shaddock-test.out'), 'utf8'), '');
  });
});

describe('SIGHUP reopens the daemon log, and stops nothing', () => {
  const running = useCluster('reopen');

  test('after a rename, SIGHUP to the master: the master and every server write to a new file at the path', async () => {
    const { dir, cluster } = running;
    const log = join(dir, 'logs/shaddock-test.log');
    const rows = await cluster.list();
    const pids = new Map(rows.map((r) => [r.id, r.pid!]));
    const masterPid = pids.get('master-1')!;

    for (const rotated of [`${log}.1`, `${log}.2`]) {
      renameSync(log, rotated);
      process.kill(masterPid, 'SIGHUP');
      const reopened = await eventually(async () => {
        if (!existsSync(log)) return undefined;
        const lines = readLog(log).filter((line) => line.msg === 'SIGHUP: log file reopened');
        return lines.length === pids.size ? lines : undefined;
      }, `every process reopened ${log}`);
      assert.deepEqual(new Map(reopened.map((line) => [line.serverId, line.pid])), pids);
      const rotatedSize = statSync(rotated).size;
      readLog(rotated);

      // Nothing stopped: same processes, none restarted.
      const now = await cluster.list();
      for (const r of now) {
        assert.equal(r.pid, pids.get(r.id), `${r.id} kept its process`);
        assert.ok(isAlive(r.pid!));
        if (r.id !== 'master-1') assert.equal(r.state, 'connected');
        assert.equal(r.restarts, 0);
      }

      // What comes next, from the master and from a new server process, is in the new file.
      const restarted = await runCli(['restart', ...cluster.args, 'steady-1']);
      assert.equal(restarted.code, 0, restarted.stderr);
      const steady = await eventually(async () => {
        const r = row(await cluster.list(), 'steady-1');
        return r.state === 'connected' && r.pid !== pids.get('steady-1') ? r : undefined;
      }, 'steady-1 connected again');
      pids.set('steady-1', steady.pid!);
      const lines = readLog(log);
      assert.ok(lines.some((line) => line.serverId === 'master-1' && line.msg === 'server steady-1 connected'), 'the master writes to the new file');
      assert.ok(lines.some((line) => line.serverId === 'steady-1' && line.pid === steady.pid && line.msg === 'lifecycle running'), 'a new server process too');
      assert.equal(statSync(rotated).size, rotatedSize, 'nothing more went to the renamed file');
    }
    assert.equal(readFileSync(join(dir, 'logs/shaddock-test.out'), 'utf8'), '');
  });
});

describe('a process that cannot start logs why once, as JSON, and exits 1', () => {
  test('a server whose NATS is unreachable (spawned as the master spawns it, strict rejections)', async () => {
    const dir = copyApp('nonats');
    const config = await loadConfig({ dir, env: 'test', natsUrl: `nats://127.0.0.1:${await freePort()}` });
    const entry = config.servers.find((server) => server.id === 'steady-1')!;
    const { command, args, env } = serverCommand(entry, { entry: join(dir, 'app.ts'), dir, env: 'test', config });
    const log = join(dir, 'logs/server.log');
    const child = spawn(command, args, { env: { ...env, ...clusterEnv, SHADDOCK_LOG_FILE: log }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    assert.equal(code, 1);
    assert.equal(output, '', 'nothing printed: no stack trace of an unhandled rejection');
    const errors = readLog(log).filter((line) => line.level >= 50);
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.match(said(errors[0]!), /cannot connect to NATS at nats:\/\/127\.0\.0\.1:\d+/);
  });

  for (const { name, setup, env, expected } of [
    { name: "app.enable('masterHA') with no ZooKeeper", setup: "app.enable('masterHA');", env: {}, expected: /masterHA is enabled but no ZooKeeper is given/ },
    { name: 'no nats-server on PATH', setup: '', env: { PATH: '/nonexistent' }, expected: /"nats-server" is not on PATH/ },
  ]) {
    test(`a daemon master that fails (${name}): one line on the CLI's stderr, one JSON error line in the log`, async () => {
      const dir = copyApp('masterfails');
      if (setup) {
        const file = join(dir, 'app.ts');
        writeFileSync(file, readFileSync(file, 'utf8').replace('await app.start();', `${setup}\nawait app.start();`));
      }
      // No --nats for the second case: the master tries to start its own broker.
      const args = ['start', '-D', '-d', dir, '-e', 'test', ...(setup ? ['--nats', bus.url] : [])];
      const result = await runCli(args, { env: { ...clusterEnv, ...env } });
      assert.equal(result.code, 1, result.stdout);
      assert.match(result.stderr, expected);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      const errors = readLog(join(dir, 'logs/shaddock-test.log')).filter((line) => line.level >= 50);
      assert.equal(errors.length, 1, JSON.stringify(errors));
      assert.match(said(errors[0]!), expected);
      assert.equal(readFileSync(join(dir, 'logs/shaddock-test.out'), 'utf8'), '');
    });
  }
});

describe('the master passes SIGHUP on only to processes that can take it', () => {
  test('a server not heard from yet gets it with its first heartbeat; a replaced process never does', () => {
    const sent: string[] = [];
    const server = (id: string, pid: number | undefined): Signallable & { pid: number | undefined } => {
      const fake = { id, pid, sendSignal: (signal: NodeJS.Signals) => void sent.push(`${id}/${fake.pid} ${signal}`) };
      return fake;
    };
    const servers = new Map([
      ['up-1', server('up-1', 10)],
      ['loading-1', server('loading-1', 20)],
      ['replaced-1', server('replaced-1', 30)],
      ['down-1', server('down-1', undefined)],
    ]);
    const relay = new HangupRelay(() => servers.values());
    relay.heartbeat(servers.get('up-1')!, 10);
    relay.hangUp();
    assert.deepEqual(sent, ['up-1/10 SIGHUP'], 'only the server heard from, at once');
    relay.heartbeat(servers.get('loading-1')!, 20);
    assert.deepEqual(sent, ['up-1/10 SIGHUP', 'loading-1/20 SIGHUP'], 'the loading one with its first heartbeat');
    servers.get('replaced-1')!.pid = 31;
    relay.heartbeat(servers.get('replaced-1')!, 31);
    relay.heartbeat(servers.get('loading-1')!, 20);
    assert.equal(sent.length, 2, 'a new process opened the file afresh; and a SIGHUP is owed once');
  });
});
