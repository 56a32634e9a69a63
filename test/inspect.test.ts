// `shaddock inspect` against the example chat cluster on a real nats-server: a chat server
// killed with SIGKILL shows in the master's stream as its supervisor backing off and its server
// machine coming back to connected; a watcher that goes away stops the events within its lease.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { watch } from '../src/actors/inspect/watcher.ts';
import { decode, encode } from '../src/transport/codec.ts';
import { subjects } from '../src/transport/subjects.ts';
import type { InspectBatch, InspectSnapshot, WatchRefusal } from '../src/transport/wire.ts';
import { startInspect } from './harness/inspect-cli.ts';
import { PinusClient } from './harness/pinus-client.ts';
import { eventually, isAlive, repoRoot, runCli, startCluster, useNats, waitForExit, type TestCluster } from './harness/index.ts';

const chatDir = join(repoRoot, 'examples/chat');
const bus = useNats();
const chat = subjects('shaddock', 'chat');

describe('shaddock inspect on the chat cluster', () => {
  let cluster: TestCluster;
  let masterId: string;
  const children: ChildProcess[] = [];
  before(async () => {
    cluster = await startCluster(chatDir, 'test', bus.url);
    masterId = (await cluster.list()).find((row) => row.serverType === 'master')!.id;
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null && child.pid && isAlive(child.pid)) child.kill('SIGKILL');
    await cluster?.destroy();
  });

  test('kill -9 of chat-server-1: the stream shows its supervisor backing off and its server machine back to connected', async (t) => {
    const before = (await cluster.list()).find((row) => row.id === 'chat-server-1')!;
    const inspect = await startInspect(['master', '--json', ...cluster.args]);
    children.push(inspect.child);
    // A failed assertion must not leave this watcher's lease alive for the next test.
    t.after(() => void (inspect.child.exitCode === null && inspect.child.kill('SIGKILL')));
    process.kill(before.pid!, 'SIGKILL');
    const seen = (machine: string, state: string, after = -1): number =>
      inspect.lines.findIndex((line, i) => i > after && line.actor === 'chat-server-1' && line.machine === machine && line.state === state);
    await eventually(async () => (seen('server', 'connected', seen('supervisor', 'backingOff')) >= 0 ? true : undefined), 'chat-server-1 connected again in the stream', 30_000);

    const of = (machine: string): string[] => inspect.lines.filter((line) => line.actor === 'chat-server-1' && line.machine === machine).map((line) => line.state);
    assert.deepEqual(of('supervisor').slice(0, 3), ['backingOff', 'watching.starting', 'watching.up'], `supervisor: ${of('supervisor').join(' → ')}`);
    assert.deepEqual(of('server').slice(0, 3), ['crashed', 'starting', 'connected'], `server: ${of('server').join(' → ')}`);
    const crashed = inspect.lines[seen('server', 'crashed')]!;
    assert.equal(crashed.event, 'EXITED');
    assert.equal(crashed.server, masterId);
    // The supervisor hears of the exit inside the server machine's transition, so its line may come first; not its time.
    assert.ok(inspect.lines[seen('supervisor', 'backingOff')]!.at >= crashed.at - 1, 'the supervisor backs off once the server crashed');
    for (const line of inspect.lines) {
      assert.deepEqual(Object.keys(line).sort(), ['actor', 'at', 'event', 'machine', 'server', 'state']);
      assert.equal(typeof line.at, 'number');
    }
    const after = (await cluster.list()).find((row) => row.id === 'chat-server-1')!;
    assert.notEqual(after.pid, before.pid);
    assert.equal(after.state, 'connected');

    inspect.child.kill('SIGINT');
    assert.equal(await inspect.exited, 0, 'Ctrl-C ends it cleanly');
  });

  test('text output: the current state first; a restarted server is lost, then watched again from a fresh snapshot', async () => {
    const inspect = await startInspect(['chat-server-2', '--ttl', '1500', ...cluster.args]);
    children.push(inspect.child);
    // In the snapshot (`= running`), or, when the new process was watched while still starting, as its transition (`→ running`).
    const running = (): number => inspect.raw.filter((line) => / chat-server-2 lifecycle chat-server-2 (= running$|→ running \()/.test(line)).length;
    await eventually(async () => (running() === 1 ? true : undefined), 'the lifecycle in the snapshot');
    const pid = (await cluster.list()).find((row) => row.id === 'chat-server-2')!.pid!;
    process.kill(pid, 'SIGKILL');
    await eventually(async () => (/lost chat-server-2: .*; still trying/.test(inspect.stderr()) ? true : undefined), 'the watcher saying it lost the server', 15_000);
    await eventually(async () => (/watching chat-server-2 again/.test(inspect.stderr()) && running() >= 2 ? true : undefined), 'the new process watched, its lifecycle running', 30_000);
    inspect.child.kill('SIGINT');
    assert.equal(await inspect.exited, 0);
  });

  test('a server that does not answer, or a bad --ttl: exit 1 with what was wrong', async () => {
    const missing = await runCli(['inspect', 'chat-server-9', ...cluster.args]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no process "chat-server-9" answers on shaddock\.chat\.watch\.chat-server-9/);
    const badTtl = await runCli(['inspect', 'master', '--ttl', 'soon', ...cluster.args]);
    assert.equal(badTtl.code, 1);
    assert.match(badTtl.stderr, /--ttl "soon" is not a positive whole number of ms/);
  });

  test('a watcher that goes away: its lease ends and the events stop within it', async () => {
    const received: { at: number; batch: InspectBatch }[] = [];
    const raw = bus.nc.subscribe(chat.inspect(masterId), { callback: (_error, msg) => void received.push({ at: Date.now(), batch: decode<InspectBatch>(msg.data) }) });
    try {
      const ttl = 1_000;
      const inspect = await startInspect(['master', '--json', '--ttl', String(ttl), ...cluster.args]);
      children.push(inspect.child);
      // While it watches, a restart is published.
      const restart = async (id: string): Promise<void> => {
        const row = (await cluster.list()).find((r) => r.id === id)!;
        process.kill(row.pid!, 'SIGKILL');
        await waitForExit(row.pid!);
        await eventually(async () => {
          const now = (await cluster.list()).find((r) => r.id === id)!;
          return now.pid !== row.pid && now.state === 'connected' ? true : undefined;
        }, `${id} restarted`, 30_000);
      };
      await restart('chat-server-2');
      assert.ok(received.some(({ batch }) => batch.events.some((event) => event.actor === 'chat-server-2' && event.state === 'backingOff')), 'batches flow while the watcher is there');

      // It goes away without a word (no unsubscribe reaches the master): only the lease ends it.
      const gone = Date.now();
      inspect.child.kill('SIGKILL');
      await inspect.exited;
      await restart('chat-server-2');
      const late = received.filter(({ at }) => at > gone + ttl + 250);
      assert.deepEqual(late.map(({ batch }) => batch.events.map((event) => `${event.machine} ${event.state}`)), [], 'nothing is published once the lease has run out');
    } finally {
      raw.unsubscribe();
    }
  });

  test('a frontend: sessions counted per state, one in full with its transitions', async () => {
    const port = (await cluster.list()).find((row) => row.id === 'connector-server-2')!.clientPort!;
    const client = await PinusClient.connect('ws', port);
    let closed = false;
    try {
      const batches: InspectBatch[] = [];
      const first = await watch(bus.nc, chat, 'connector-server-2', { ttlMs: 2_000 }, (batch) => batches.push(batch));
      try {
        assert.equal(first.snapshot.counts.session?.working, 1, JSON.stringify(first.snapshot.counts));
        assert.deepEqual(first.snapshot.actors.map((actor) => `${actor.machine} ${actor.state}`), ['lifecycle running']);
        // connector-server-2 has had no other client in this file: this one is session 1.
        const shown = await first.setDetail('1');
        assert.equal(shown.detail?.machine, 'session');
        assert.equal(shown.detail?.state, 'working');
        assert.equal(typeof shown.detail?.context, 'object');
        client.close();
        closed = true;
        const event = await eventually(async () => batches.flatMap((batch) => batch.events).find((e) => e.actor === '1' && e.state === 'closed'), 'session 1 closed in a batch');
        assert.equal(event.machine, 'session');
        await eventually(async () => (batches.some((batch) => batch.counts?.session?.working === undefined && batch.counts?.session !== undefined) ? true : undefined), 'counts without the working session');
      } finally {
        await first.close();
      }
    } finally {
      if (!closed) client.close();
    }
  });

  test('watch() from code: a snapshot of the master, and a malformed request refused with the field named', async () => {
    const batches: InspectBatch[] = [];
    const handle = await watch(bus.nc, chat, masterId, { ttlMs: 2_000 }, (batch) => batches.push(batch));
    try {
      const snapshot: InspectSnapshot = handle.snapshot;
      assert.equal(snapshot.server, masterId);
      const states = new Map(snapshot.actors.map((actor) => [`${actor.machine} ${actor.actor}`, actor.state]));
      assert.equal(states.get(`master ${masterId}`), 'leading.running');
      assert.equal(states.get('server chat-server-1'), 'connected');
      assert.equal(states.get('supervisor chat-server-1'), 'watching.up');
      const detail = await handle.setDetail('supervisor/chat-server-1');
      assert.equal(detail.detail?.machine, 'supervisor');
      assert.equal((detail.detail?.context as { serverId?: string }).serverId, 'chat-server-1');
    } finally {
      await handle.close();
    }
    const refused = decode<WatchRefusal>((await bus.nc.request(chat.watch(masterId), encode({ watcher: 'x', ttlMs: 'soon' }), { timeout: 5_000 })).data);
    assert.match(refused.error, /field "ttlMs"/);
    const masterRow = (await cluster.list()).find((row) => row.id === masterId)!;
    assert.ok((masterRow.dropped.watch ?? 0) >= 1, `the master counted the malformed watch request: ${JSON.stringify(masterRow.dropped)}`);
    await assert.rejects(watch(bus.nc, chat, 'no-such-server', { timeoutMs: 1_000 }, () => {}), /no process "no-such-server" answers/);
  });
});
