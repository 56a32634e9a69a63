// Start-up through the real CLI: a bad servers.json stops start-up with one precise message and
// leaves no process; with no NATS configured the master runs an embedded nats-server and stops it.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startEmbeddedNats, type EmbeddedNats } from '../src/actors/master/embedded-broker.ts';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readRunFile, runFilePath, writeRunFile } from '../src/actors/master/run-file.ts';
import { freePort, isAlive, nextHeartbeat, repoRoot, runCli, startNats, waitForExit, type RunningService } from './harness/index.ts';

const fixture = join(repoRoot, 'test/fixtures/rpc-app');
// Inside the repository, so that the copied app can import 'shaddock' like a user's app does.
const scratch = join(repoRoot, 'test/.tmp');

/** A copy of the RPC fixture app whose config files the test may rewrite. */
function copyApp(name: string): string {
  mkdirSync(scratch, { recursive: true });
  const dir = mkdtempSync(join(scratch, `${name}-`));
  cpSync(fixture, dir, { recursive: true });
  return dir;
}

/** Pids of every process whose command line or environment mentions `dir`: nothing may be left. */
function processesOf(dir: string): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  const pids = out.split('\n').filter((line) => line.includes(dir)).map((line) => Number.parseInt(line.trim(), 10));
  return pids.filter((pid) => pid !== process.pid);
}

let nats: RunningService;
before(async () => {
  nats = await startNats();
});
after(async () => {
  await nats?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('a bad servers.json stops start-up with a message naming file, env, server and field', () => {
  const cases: { name: string; servers: unknown; expected: RegExp }[] = [
    {
      name: 'duplicate id',
      servers: { test: { probe: [{ id: 'probe-1' }], worker: [{ id: 'worker-1' }, { id: 'probe-1' }] } },
      expected: /config\/servers\.json \[test\] server "probe-1": field "id": duplicate server id/,
    },
    {
      name: 'clientPort "abc"',
      servers: { test: { probe: [{ id: 'probe-1', frontend: true, clientPort: 'abc' }] } },
      expected: /config\/servers\.json \[test\] server "probe-1": field "clientPort": .*"abc"/,
    },
    {
      name: 'frontend without clientPort',
      servers: { test: { probe: [{ id: 'probe-1', frontend: true }] } },
      expected: /config\/servers\.json \[test\] server "probe-1": field "clientPort": required for a frontend server/,
    },
  ];

  for (const { name, servers, expected } of cases) {
    for (const daemon of [false, true]) {
      test(`${name}${daemon ? ' (daemon)' : ''}`, async () => {
        const dir = copyApp('bad');
        writeFileSync(join(dir, 'config/servers.json'), JSON.stringify(servers));
        const result = await runCli(['start', '-d', dir, '-e', 'test', '--nats', nats.url, ...(daemon ? ['-D'] : [])]);
        assert.equal(result.code, 1, `exit code; stdout: ${result.stdout}`);
        assert.match(result.stderr, expected);
        // One line that says it all, not a stack trace.
        assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
        assert.deepEqual(processesOf(dir), []);
        assert.equal(existsSync(runFilePath(dir, 'test')), false);
      });
    }
  }
});

/** Adds `line` to the copied app's entry, just before `await app.start()`. */
function beforeStart(dir: string, line: string): void {
  const entry = join(dir, 'app.ts');
  const text = readFileSync(entry, 'utf8');
  assert.ok(text.includes('await app.start();'));
  writeFileSync(entry, text.replace('await app.start();', `${line}\nawait app.start();`));
}

describe('a setting that is not supported yet, or incomplete, stops start-up with one line saying so', () => {
  for (const daemon of [false, true]) {
    test(`app.enable('masterHA') with no ZooKeeper given${daemon ? ' (daemon)' : ''}`, async () => {
      const dir = copyApp('masterha');
      beforeStart(dir, "app.enable('masterHA');");
      const result = await runCli(['start', '-d', dir, '-e', 'test', '--nats', nats.url, ...(daemon ? ['-D'] : [])]);
      assert.equal(result.code, 1, `exit code; stdout: ${result.stdout}`);
      assert.match(result.stderr, /app\.set\('masterHAConfig'\).*server.*masterHA is enabled but no ZooKeeper is given/);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.deepEqual(processesOf(dir), []);
      assert.equal(existsSync(runFilePath(dir, 'test')), false);
    });
  }

  test("app.enable('masterHA') with the embedded broker, which dies with its master", async () => {
    const dir = copyApp('masterha-embedded');
    beforeStart(dir, "app.enable('masterHA'); app.set('masterHAConfig', { server: '127.0.0.1:2181' });");
    const result = await runCli(['start', '-d', dir, '-e', 'test']);
    assert.equal(result.code, 1, `exit code; stdout: ${result.stdout}`);
    assert.match(result.stderr, /master\.json.*nats.*masterHA needs a NATS server that outlives a master/);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.deepEqual(processesOf(dir), []);
  });

  test("a bad masterHAConfig field is named", async () => {
    const dir = copyApp('masterha-bad');
    beforeStart(dir, "app.enable('masterHA'); app.set('masterHAConfig', { server: '127.0.0.1:2181', timeout: 'soon' });");
    const result = await runCli(['start', '-d', dir, '-e', 'test', '--nats', nats.url]);
    assert.equal(result.code, 1, `exit code; stdout: ${result.stdout}`);
    assert.match(result.stderr, /masterHAConfig.*timeout.*expected the session timeout in ms, an integer from 1000 to 600000, got "soon"/);
    assert.deepEqual(processesOf(dir), []);
  });

  test("app.enable('globalChannel') on a server started alone, with no Redis given", async () => {
    const dir = copyApp('globalchannel');
    beforeStart(dir, "app.configure('test', 'worker', (app) => app.enable('globalChannel'));");
    const result = await runCli(['start', '-d', dir, '-e', 'test', '--nats', nats.url, '-i', 'worker-1']);
    assert.equal(result.code, 1, `exit code; stdout: ${result.stdout}`);
    assert.match(result.stderr, /globalChannel is enabled but no Redis is given: set app\.set\('globalChannelConfig'/);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.deepEqual(processesOf(dir), []);
  });

  test("app.enable('globalChannel') with masterHA and no Redis: no embedded one, which would die with its master", async () => {
    const dir = copyApp('globalchannel-ha');
    beforeStart(dir, "app.enable('masterHA'); app.set('masterHAConfig', { server: '127.0.0.1:2181' }); app.enable('globalChannel');");
    const result = await runCli(['start', '-d', dir, '-e', 'test', '--nats', nats.url]);
    assert.equal(result.code, 1, `exit code; stdout: ${result.stdout}`);
    assert.match(result.stderr, /globalChannel with masterHA needs a Redis that outlives a master/);
    assert.deepEqual(processesOf(dir), []);
  });

  test('a bad globalChannelConfig field is named', async () => {
    const dir = copyApp('globalchannel-bad');
    beforeStart(dir, "app.configure('test', 'worker', (app) => { app.enable('globalChannel'); app.set('globalChannelConfig', { host: '127.0.0.1', port: 'six' }); });");
    const result = await runCli(['start', '-d', dir, '-e', 'test', '--nats', nats.url, '-i', 'worker-1']);
    assert.equal(result.code, 1, `exit code; stdout: ${result.stdout}`);
    assert.match(result.stderr, /globalChannelConfig.*port.*expected number/i);
    assert.deepEqual(processesOf(dir), []);
  });
});

describe('start -i joins the running cluster on its NATS', () => {
  test("master.json's nats, credentials and all, wins over the run file's URLs", { timeout: 60_000 }, async () => {
    const secured = await startNats({ token: 'join-secret' });
    const dir = copyApp('join-with-token');
    try {
      const masterJson = JSON.parse(readFileSync(join(dir, 'config/master.json'), 'utf8')) as { test: Record<string, unknown> };
      masterJson.test.nats = { servers: [secured.url], token: 'join-secret' };
      writeFileSync(join(dir, 'config/master.json'), JSON.stringify(masterJson));
      // A running master's run file, as it writes it: URLs only (the token is a field of master.json).
      writeRunFile(dir, { masterId: 'master-1', masterPid: process.pid, env: 'test', nats: [secured.url], adminToken: 'let-me-in', prefix: 'shaddock', cluster: 'rpctest', startedAt: Date.now() });
      const watcher = await connect({ servers: secured.url, token: 'join-secret' });
      try {
        const up = nextHeartbeat(watcher, 'rpctest', (info) => info.id === 'worker-1' && info.state === 'running');
        await watcher.flush();
        const child = spawn(process.execPath, [join(repoRoot, 'bin/shaddock.js'), 'start', '-d', dir, '-e', 'test', '-i', 'worker-1'], {
          env: { ...process.env, SHADDOCK_LOG_LEVEL: 'warn', SHADDOCK_NATS_URL: '' },
          stdio: 'ignore',
        });
        const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`the server exited (code ${code}) instead of joining`))));
        try {
          const info = await Promise.race([up, exited]);
          assert.equal(info.pid, child.pid, 'the server connected with the token and announced itself');
        } finally {
          exited.catch(() => {});
          child.kill('SIGKILL');
          await waitForExit(child.pid!);
        }
      } finally {
        await watcher.close();
      }
    } finally {
      await secured.stop();
    }
  });
});

describe('a frontend whose connectorConfig is wrong does not start, and says which field', () => {
  test('an unknown field (Pomelo\'s useProtobuf) names the field and what is known', async () => {
    const dir = copyApp('connectorconfig');
    writeFileSync(join(dir, 'config/servers.json'), JSON.stringify({ test: { connector: [{ id: 'connector-1', clientPort: 0, frontend: true }] } }));
    beforeStart(dir, "app.configure('test', 'connector', (app) => app.set('connectorConfig', { heartbeat: 3, useProtobuf: true }));");
    const result = await runCli(['start', '-d', dir, '-e', 'test', '--nats', nats.url, '-i', 'connector-1']);
    assert.equal(result.code, 1, `exit code; stdout: ${result.stdout}`);
    assert.match(
      result.stderr,
      /app\.set\('connectorConfig'\) \[test\] server "connector-1": field "useProtobuf": unknown field \(known: heartbeat, heartbeatTimeout, maxPackageSize, handshakeTimeout, maxHeaderSize, maxBufferedBytes, useDict, checkClient, handshake\)/,
    );
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.deepEqual(processesOf(dir), []);
  });
});

describe('embedded NATS', () => {
  test('with no NATS configured the master runs its own nats-server, and stop ends it', async () => {
    const dir = copyApp('embedded');
    const started = await runCli(['start', '-d', dir, '-e', 'test', '-D']);
    try {
      assert.equal(started.code, 0, started.stderr);
      assert.match(started.stdout, /3\/3 servers connected/);
      const run = readRunFile(dir, 'test');
      assert.ok(run?.embeddedNatsPid && isAlive(run.embeddedNatsPid), 'embedded nats-server is running');
      assert.match(run.nats[0] ?? '', /^nats:\/\/127\.0\.0\.1:\d+$/);
      // The CLI finds the embedded broker and the made-up admin token through the run file.
      const list = await runCli(['list', '-d', dir, '-e', 'test', '--json']);
      assert.equal(list.code, 0, list.stderr);
      const rows = JSON.parse(list.stdout) as { id: string; state: string; pid: number }[];
      assert.deepEqual(rows.filter((r) => r.id !== 'master-1').map((r) => r.state), ['connected', 'connected', 'connected']);
      const stopped = await runCli(['stop', '-d', dir, '-e', 'test']);
      assert.equal(stopped.code, 0, stopped.stderr);
      await waitForExit(run.embeddedNatsPid!, 5_000);
      for (const row of rows) await waitForExit(row.pid, 5_000);
      assert.deepEqual(processesOf(dir), []);
    } finally {
      for (const pid of processesOf(dir)) process.kill(pid, 'SIGKILL');
      const run = readRunFile(dir, 'test');
      if (run?.embeddedNatsPid && isAlive(run.embeddedNatsPid)) process.kill(run.embeddedNatsPid, 'SIGKILL');
    }
  });

  test('without nats-server on PATH, start-up fails with one line saying how to install it', async () => {
    const dir = copyApp('nonats');
    const result = await runCli(['start', '-d', dir, '-e', 'test'], { env: { PATH: '/nonexistent' } });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /"nats-server" is not on PATH\. Install it \(Debian\/Ubuntu: apt-get install nats-server\)/);
    assert.deepEqual(processesOf(dir), []);
  });
});

describe('a server started while NATS is away keeps trying instead of exiting', () => {
  const cli = join(repoRoot, 'bin/shaddock.js');

  test('NATS comes up after the server started: it connects and runs', async () => {
    const dir = copyApp('nats-late');
    const port = await freePort();
    const child = spawn(process.execPath, [cli, 'start', '-d', dir, '-e', 'test', '--nats', `nats://127.0.0.1:${port}`, '-i', 'worker-1'], {
      env: { ...process.env, SHADDOCK_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let late: EmbeddedNats | undefined;
    let nc: NatsConnection | undefined;
    try {
      // Its first attempt has failed once it says it is booting and NATS is not there.
      await new Promise<void>((resolve) => child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('lifecycle booting') && resolve()));
      late = await startEmbeddedNats({ port });
      nc = await connect({ servers: late.url });
      const running = await nextHeartbeat(nc, 'rpctest', (info) => info.id === 'worker-1' && info.state === 'running');
      assert.equal(running.pid, child.pid);
      assert.equal(child.exitCode, null);
    } finally {
      child.kill('SIGKILL');
      await nc?.close();
      await late?.stop();
    }
  });

  test('NATS never comes: the server gives up after startTimeout with one clear error, exit 1', async () => {
    const dir = copyApp('nats-never');
    const master = JSON.parse(readFileSync(join(dir, 'config/master.json'), 'utf8')) as { test: Record<string, unknown> };
    master.test.startTimeout = 1500;
    writeFileSync(join(dir, 'config/master.json'), JSON.stringify(master));
    const port = await freePort();
    const started = Date.now();
    const result = await runCli(['start', '-d', dir, '-e', 'test', '--nats', `nats://127.0.0.1:${port}`, '-i', 'worker-1'], { env: { SHADDOCK_LOG_LEVEL: 'info' } });
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.ok(Date.now() - started >= 1500, 'it kept trying for startTimeout');
    assert.match(result.stdout + result.stderr, new RegExp(`cannot connect to NATS at nats://127\\.0\\.0\\.1:${port}: no connection within 1500 ms`));
    assert.deepEqual(processesOf(dir), []);
  });
});
