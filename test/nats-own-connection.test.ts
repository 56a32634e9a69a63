// An app's own NATS (issue #14): createApp({ nats: nc }) with an open NatsConnection, used by the
// master and its servers (which open none of their own) and left open for the app; and
// createApp({ nats: settings }), checked at start and used instead of the embedded broker.
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { readRunFile } from '../src/actors/master/run-file.ts';
import { borrowConnection } from '../src/transport/borrowed.ts';
import { decode, encode } from '../src/transport/codec.ts';
import { subjects } from '../src/transport/subjects.ts';
import type { RpcReply } from '../src/transport/wire.ts';
import { appWith, ids, natsWith, upAndRunning, workDir } from './harness/embed.ts';
import { freePort, runCli, startCluster, type RunningService, type TestCluster } from './harness/index.ts';

const work = workDir('nats-own');

after(() => rmSync(work, { recursive: true, force: true }));

describe("the app's own NatsConnection (createApp({ nats: nc }))", () => {
  let nats: RunningService;
  let monitorPort: number;
  let cluster: TestCluster | undefined;

  before(async () => {
    monitorPort = await freePort();
    nats = await natsWith(work, 'own', `http: "127.0.0.1:${monitorPort}"\n`);
  });
  after(async () => {
    await cluster?.destroy();
    await nats?.stop();
  });

  test('a borrowed connection ends only its own subscriptions; the owner keeps using it', async () => {
    const nc = await connect({ servers: nats.url });
    try {
      const view = borrowConnection(nc);
      const mine = view.subscribe('borrowed.mine', { callback: () => undefined });
      const owners = nc.subscribe('borrowed.owner', { callback: (_e, msg) => void msg.respond(msg.data) });
      await view.drain();
      assert.ok(view.isClosed(), 'the view counts as closed');
      assert.ok(!nc.isClosed(), 'the owner connection is open');
      assert.equal(await mine.closed, undefined, "the view's subscription is closed (without an error)");
      assert.ok(!owners.isClosed(), "the owner's subscription is not");
      const reply = await nc.request('borrowed.owner', encode('still here'), { timeout: 5000 });
      assert.equal(decode(reply.data), 'still here');
    } finally {
      await nc.close();
    }
  });

  test('createApp({ nats: settings }): checked at start (a bad field is named), then used instead of the embedded broker', async () => {
    const bad = appWith(work, 'options-bad', { cluster: 'optsbad' });
    const refused = await runCli(['start', '-d', bad, '-e', 'test'], { env: { EMBED_NATS_OPTIONS: JSON.stringify({ servers: nats.url, tsl: true }) } });
    assert.equal(refused.code, 1);
    assert.match(`${refused.stdout}${refused.stderr}`, /createApp\(\{ nats \}\) \[test\]: field "nats\.tsl": unknown field "tsl"/);

    const dir = appWith(work, 'options', { cluster: 'opts' });
    const withOptions = await startCluster(dir, 'test', undefined, { env: { EMBED_NATS_OPTIONS: JSON.stringify({ servers: nats.url, name: 'opts', pingInterval: 1000 }) } });
    try {
      assert.deepEqual(ids(await withOptions.list()), upAndRunning);
      assert.equal(readRunFile(dir, 'test')?.embeddedNatsPid, undefined, 'no embedded broker');
      const connz = (await (await fetch(`http://127.0.0.1:${monitorPort}/connz`)).json()) as { connections: { name?: string }[] };
      const names = connz.connections.map((c) => c.name ?? '');
      assert.ok(names.includes('opts:master-1') && names.includes('opts:echo-1'), `named from the options: ${names.join(', ')}`);
      const stopped = await runCli(['stop', ...withOptions.args]);
      assert.equal(stopped.code, 0, stopped.stderr);
    } finally {
      await withOptions.destroy();
    }
  });

  test('the master and its servers run on the connections the app opened (no embedded broker, none of their own); remotes answer', async () => {
    // No nats in master.json and no --nats: without the app's connection the master would embed a broker.
    const dir = appWith(work, 'own-connection', { cluster: 'own' });
    cluster = await startCluster(dir, 'test', undefined, { env: { EMBED_NATS_CONNECT: JSON.stringify({ servers: nats.url, name: 'the-apps-own' }) } });
    const rows = await cluster.list();
    assert.deepEqual(ids(rows), upAndRunning);
    // A JavaScript app's server runs on plain node: no tsx on its command line or in NODE_OPTIONS.
    const echoPid = rows.find((row) => row.id === 'echo-1')?.pid;
    assert.ok(echoPid, 'echo-1 has a pid');
    const cmdline = readFileSync(`/proc/${echoPid}/cmdline`, 'utf8').split('\0');
    const nodeOptions = readFileSync(`/proc/${echoPid}/environ`, 'utf8').split('\0').find((line) => line.startsWith('NODE_OPTIONS=')) ?? '';
    assert.ok(!cmdline.some((arg) => arg.includes('tsx')) && !nodeOptions.includes('tsx'), `plain node: ${cmdline.join(' ')} ${nodeOptions}`);
    const run = readRunFile(dir, 'test');
    assert.equal(run?.embeddedNatsPid, undefined, 'no embedded broker');
    const nc = await connect({ servers: nats.url });
    try {
      const reply = await nc.request(subjects('shaddock', 'own').rpc('echo-1'), encode({ remote: 'echoRemote', method: 'echo', args: ['hi'] }), { timeout: 5000 });
      assert.deepEqual(decode<RpcReply>(reply.data), { ok: true, result: { from: 'echo-1', text: 'hi' } });
    } finally {
      await nc.close();
    }
    const connz = (await (await fetch(`http://127.0.0.1:${monitorPort}/connz`)).json()) as { connections: { name?: string }[] };
    const names = connz.connections.map((c) => c.name ?? '');
    assert.equal(names.filter((name) => name === 'the-apps-own').length, 2, `the master's and echo-1's: ${names.join(', ')}`);
    assert.ok(!names.some((name) => name === 'master-1' || name === 'echo-1'), `Shaddock opened none: ${names.join(', ')}`);
    const stopped = await runCli(['stop', ...cluster.args]);
    assert.equal(stopped.code, 0, stopped.stderr);
  });
});
