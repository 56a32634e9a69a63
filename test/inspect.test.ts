// `shaddock inspect` against the example chat cluster on a real nats-server: a chat server
// killed with SIGKILL shows in the master's stream as its supervisor backing off and its server
// machine coming back to connected; a watcher that goes away stops the events within its lease.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { watch } from '../src/actors/inspect/watcher.ts';
import { decode, encode } from '../src/transport/codec.ts';
import { subjects } from '../src/transport/subjects.ts';
import type { InspectBatch, InspectSnapshot, WatchRefusal } from '../src/transport/wire.ts';
import { eventually, isAlive, repoRoot, startCluster, useNats, waitForExit, type TestCluster } from './harness/index.ts';

const chatDir = join(repoRoot, 'examples/chat');
const cli = join(repoRoot, 'bin/shaddock.js');
const bus = useNats();
const chat = subjects('shaddock', 'chat');

interface Line {
  server: string;
  actor: string;
  machine: string;
  state: string;
  event: string;
  at: number;
}

/** `shaddock inspect <args>` as a child, its stdout parsed line by line; resolves once it says it is watching. */
async function startInspect(args: string[]): Promise<{ child: ChildProcess; lines: Line[]; raw: string[]; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [cli, 'inspect', ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Line[] = [];
  const raw: string[] = [];
  let buffered = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const part of parts) {
      raw.push(part);
      if (args.includes('--json')) lines.push(JSON.parse(part) as Line);
    }
  });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      if (/watching \S+ \(lease/.test(stderr)) resolve();
    });
    void exited.then((code) => reject(new Error(`shaddock inspect exited (${code}) before watching: ${stderr}`)));
  });
  return { child, lines, raw, exited };
}

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

  test('text output: the current state of every actor first, then one line per transition', async () => {
    const inspect = await startInspect(['chat-server-2', ...cluster.args]);
    children.push(inspect.child);
    await eventually(async () => (inspect.raw.some((line) => / chat-server-2 lifecycle chat-server-2 = running$/.test(line)) ? true : undefined), 'the lifecycle in the snapshot');
    inspect.child.kill('SIGINT');
    assert.equal(await inspect.exited, 0);
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
    await assert.rejects(watch(bus.nc, chat, 'no-such-server', { timeoutMs: 1_000 }, () => {}), /no process "no-such-server" answers/);
  });
});
