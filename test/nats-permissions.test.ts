// NATS user permissions: the example chat cluster runs on a nats-server whose configuration is the
// one docs/operations.md ("NATS permissions") shows, read from there, as the cluster's user; a
// foreign client, connected as the other user, is refused the cluster's subjects by nats-server.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { connect, errors, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { reportDropsTo } from '../src/actors/runtime/drops.ts';
import { encode } from '../src/transport/codec.ts';
import { natsCredentials } from '../src/transport/nats.ts';
import { subjects } from '../src/transport/subjects.ts';
import type { ServerRow } from '../src/transport/wire.ts';
import { PinusClient } from './harness/pinus-client.ts';
import { isAlive, repoRoot, runCli, startCluster, startNats, waitForExit, type RunningService, type TestCluster } from './harness/index.ts';

const chatDir = join(repoRoot, 'examples/chat');
const logFile = join(chatDir, 'logs/shaddock-test.log');
const base = subjects('shaddock', 'chat');

/** The first fenced block of the "NATS permissions" section of docs/operations.md. */
function documentedConfig(): string {
  const doc = readFileSync(join(repoRoot, 'docs/operations.md'), 'utf8');
  const section = doc.split(/^## /m).find((part) => part.startsWith('NATS permissions\n'));
  assert.ok(section, 'docs/operations.md has a "## NATS permissions" section');
  const block = /^```\n([\s\S]*?)^```$/m.exec(section)?.[1];
  assert.ok(block !== undefined && block.includes('authorization'), 'its first code block is the nats-server authorization');
  return block;
}

/** The next permissions violation of `operation` on `subject` the server reports to `nc`. */
async function violation(nc: NatsConnection, operation: 'publish' | 'subscription', subject: string): Promise<InstanceType<typeof errors.PermissionViolationError>> {
  for await (const status of nc.status()) {
    if (status.type === 'error' && status.error instanceof errors.PermissionViolationError && status.error.operation === operation && status.error.subject === subject) {
      return status.error;
    }
  }
  throw new Error(`the connection closed before a ${operation} violation on ${subject}`);
}

/** Bytes of the daemon log so far: the log is shared by every test of examples/chat. */
function logSize(): number {
  return existsSync(logFile) ? statSync(logFile).size : 0;
}

describe('credentials in NATS URLs (nats.js ignores them, connectNats takes them out)', () => {
  test('user and password, or a token, percent-decoded; the URLs come back without them', () => {
    assert.deepEqual(natsCredentials({ servers: ['nats://chat:s%40cret@10.0.0.5:4222', 'nats://chat:s%40cret@10.0.0.6:4222'] }), {
      servers: ['nats://10.0.0.5:4222', 'nats://10.0.0.6:4222'],
      user: 'chat',
      pass: 's@cret',
    });
    assert.deepEqual(natsCredentials({ servers: ['tok3n@127.0.0.1:4222'] }), { servers: ['127.0.0.1:4222'], token: 'tok3n' });
    assert.deepEqual(natsCredentials({ servers: ['nats://127.0.0.1:4222'] }), { servers: ['nats://127.0.0.1:4222'] });
  });

  test('fields win over URLs; two URLs with different credentials are an error', () => {
    assert.deepEqual(natsCredentials({ servers: ['nats://a:b@h:4222'], user: 'chat', pass: 'p' }), { servers: ['nats://h:4222'], user: 'chat', pass: 'p' });
    assert.throws(() => natsCredentials({ servers: ['nats://a:b@h1:4222', 'nats://a:c@h2:4222'] }), /different credentials \(nats:\/\/h1:4222 and nats:\/\/h2:4222\)/);
  });
});

describe('the example chat cluster under the NATS permissions of docs/operations.md', () => {
  let tempDir: string;
  let nats: RunningService;
  let cluster: TestCluster;
  let foreign: NatsConnection;
  let logOffset: number;
  let started: ServerRow[];

  before(async () => {
    tempDir = await mkdtemp(join(os.tmpdir(), 'shaddock-perms-'));
    const configFile = join(tempDir, 'nats.conf');
    await writeFile(configFile, documentedConfig());
    nats = await startNats({ configFile });
    logOffset = logSize();
    cluster = await startCluster(chatDir, 'test', `nats://chat:chat-secret@127.0.0.1:${nats.port}`);
    foreign = await connect({ servers: nats.url, user: 'other', pass: 'other-secret', inboxPrefix: '_INBOX_other' });
  });
  after(async () => {
    await foreign?.close();
    await cluster?.destroy();
    await nats?.stop();
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
  });

  test('nats-server refuses a connection without credentials', async () => {
    await assert.rejects(connect({ servers: nats.url, maxReconnectAttempts: 0 }), /authorization violation/i);
  });

  test('list shows every server connected, each process having connected as the cluster user', async () => {
    started = await cluster.list();
    const servers = started.filter((row) => row.serverType !== 'master');
    assert.deepEqual(servers.map((row) => row.id).sort(), ['chat-server-1', 'chat-server-2', 'connector-server-1', 'connector-server-2', 'gate-server-1']);
    for (const row of servers) {
      assert.equal(row.state, 'connected', `${row.id} is ${row.state}`);
      assert.ok(row.pid && isAlive(row.pid), `${row.id} has a live pid`);
    }
    assert.equal(started[0]?.state, 'leading.running');
  });

  test('an RPC through the cluster works: clients enter a room on a connector, which calls a chat server', async () => {
    const port = started.find((row) => row.id === 'connector-server-1')!.clientPort!;
    const alice = await PinusClient.connect('tcp', port);
    const bob = await PinusClient.connect('tcp', port);
    try {
      assert.deepEqual(await alice.request('connector.entryHandler.enter', { username: 'alice', rid: 'room-perms' }), { users: ['alice'] });
      assert.deepEqual(await bob.request('connector.entryHandler.enter', { username: 'bob', rid: 'room-perms' }), { users: ['alice', 'bob'] });
    } finally {
      alice.close();
      bob.close();
    }
  });

  test('the other user may not publish on sys.<id> nor subscribe to the cluster or its inboxes; the servers carry on', { timeout: 30_000 }, async () => {
    // What a Shaddock process would log of such refusals: the runtime's reporter, on this connection.
    const logged: { level: number; msg: string }[] = [];
    let onLine: () => void = () => {};
    const reported = new Promise<{ level: number; msg: string }>((resolve) => {
      onLine = () => {
        const line = logged.find((entry) => entry.msg.startsWith('NATS refused publish to "shaddock.chat.sys.chat-server-1"'));
        if (line) resolve(line);
      };
    });
    const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => (logged.push(JSON.parse(chunk.toString())), onLine(), done()) });
    reportDropsTo(foreign, pino({ base: null }, sink));

    const sys = base.sys('chat-server-1');
    const refusedPublish = violation(foreign, 'publish', sys);
    foreign.publish(sys, encode({ command: 'stop', at: Date.now(), nonce: '00', mac: '00' }));
    assert.match((await refusedPublish).message, /Permissions Violation for Publish to "shaddock\.chat\.sys\.chat-server-1"/);
    const line = await reported;
    assert.equal(line.level, 50, 'logged as an error');
    assert.equal(line.msg, 'NATS refused publish to "shaddock.chat.sys.chat-server-1": Permissions Violation for Publish to "shaddock.chat.sys.chat-server-1" (1 since the last report)');

    const refusedSubscription = violation(foreign, 'subscription', 'shaddock.chat.>');
    const all = foreign.subscribe('shaddock.chat.>');
    assert.match((await refusedSubscription).message, /Permissions Violation for Subscription to "shaddock\.chat\.>"/);
    const ended = await all.closed;
    assert.ok(ended instanceof errors.PermissionViolationError, 'the refused subscription ends with the violation');

    const inboxes = foreign.subscribe('_INBOX.>');
    const inboxesEnded = await inboxes.closed;
    assert.ok(inboxesEnded instanceof errors.PermissionViolationError && inboxesEnded.subject === '_INBOX.>', 'no reading of the cluster replies');

    // It is refused the cluster's subjects only: its own work, requests included, goes on.
    const echo = foreign.subscribe('other.echo', { callback: (_error, msg) => void msg.respond(msg.data) });
    assert.equal((await foreign.request('other.echo', 'ping', { timeout: 5_000 })).string(), 'ping');
    echo.unsubscribe();

    const now = await cluster.list();
    for (const row of started) {
      const current = now.find((r) => r.id === row.id)!;
      assert.equal(current.pid, row.pid, `${row.id} kept its process`);
      assert.equal(current.state, row.state, `${row.id} is still ${row.state}`);
      assert.equal(current.restarts, 0);
    }
  });

  test('stop: the master stops every server over NATS and itself', async () => {
    const pids = await cluster.pids();
    const result = await runCli(['stop', ...cluster.args]);
    assert.equal(result.code, 0, result.stderr);
    for (const pid of pids) await waitForExit(pid, 10_000);
  });

  test('no process of the cluster logged a refusal or a NATS error', () => {
    const written = readFileSync(logFile).subarray(logOffset).toString('utf8');
    const refusals = written.split('\n').filter((line) => /Permissions Violation|NATS refused|NATS error|Authorization Violation/i.test(line));
    assert.deepEqual(refusals, []);
  });
});
