// Master HA failover: `kill -9` of the leading master to a standby leading and answering the CLI,
// next to a bare node-zookeeper-client election with the same session timeout, interleaved in the
// same run on the same ZooKeeper. Also counts servers restarted and clients dropped (both must be
// 0). See bench/README.md.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { readRunFile } from '../src/actors/master/run-file.ts';
import { decode, encode } from '../src/transport/codec.ts';
import { subjects as buildSubjects } from '../src/transport/subjects.ts';
import type { MasterInfo, ServerRow } from '../src/transport/wire.ts';
import { PinusClient } from '../test/harness/pinus-client.ts';
import { startNats, startZookeeper, type RunningService } from '../test/harness/services.ts';
import { stopChild } from './children.ts';
import { alive } from './clients/system.ts';
import { median, note, positiveIntegerEnv, printRows, row, type ReportOptions } from './report.ts';

const appDir = join(import.meta.dirname, '..', 'examples', 'chat');
const ENV = 'ha';
const cli = join(import.meta.dirname, '..', 'bin', 'shaddock.js');
const tsx = import.meta.resolve('tsx');
const bareEntry = join(import.meta.dirname, 'apps', 'bare-election.ts');
/** examples/chat's masterHAConfig `timeout`, which the bare election gets too. */
const SESSION_TIMEOUT = 3_000;
/** How often the probe asks who leads (masters, then admin `list`) after a kill. */
const PROBE_INTERVAL = 20;
const FAILOVER_TIMEOUT = 30_000;
const CLIENTS = 20;
const BASELINE = 'bare node-zookeeper-client election';

let zk: RunningService | undefined;
let nats: RunningService | undefined;
const masterPids = new Set<number>();
const serverPids = new Set<number>();
const bare = new Set<ChildProcess>();

function killLeftovers(): void {
  for (const pid of [...masterPids, ...serverPids]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (const child of bare) child.kill('SIGKILL');
}
process.on('exit', killLeftovers);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    note(`failover: ${signal}, stopping everything`);
    process.exit(1);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs the shaddock CLI with this bench's ZooKeeper; resolves with its stdout, rejects on a non-zero exit. */
function shaddock(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args, '-d', appDir, '-e', ENV, '--nats', nats!.url], {
      env: { ...process.env, SHADDOCK_ZK: zk!.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`shaddock ${args.join(' ')} exited ${code}: ${err}${out}`))));
  });
}

/** Every master on `<base>.masters`. */
async function masters(nc: NatsConnection, subject: string): Promise<MasterInfo[]> {
  const found: MasterInfo[] = [];
  try {
    for await (const msg of await nc.requestMany(subject, encode({}), { strategy: 'stall', stall: 50, maxWait: 500 })) found.push(decode<MasterInfo>(msg.data));
  } catch {
    // no responders
  }
  return found;
}

/** One bare candidate: resolves `ready` once its lock node exists; `leading` once it leads. */
function bareCandidate(path: string): { child: ChildProcess; ready: Promise<void>; leading: Promise<number> } {
  const child = spawn(process.execPath, ['--import', tsx, bareEntry, zk!.url, path, String(SESSION_TIMEOUT)], { stdio: ['ignore', 'pipe', 'inherit'] });
  bare.add(child);
  child.once('exit', () => bare.delete(child));
  let markReady: () => void = () => undefined;
  let markLeading: (at: number) => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const leading = new Promise<number>((resolve) => (markLeading = resolve));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line.startsWith('ready ')) markReady();
    if (line.startsWith('leading ')) markLeading(performance.now());
  });
  return { child, ready, leading };
}

export async function run(options: ReportOptions): Promise<void> {
  const kills = positiveIntegerEnv('BENCH_KILLS', 10);
  process.env.SHADDOCK_LOG_LEVEL ??= 'warn';
  let failed = false;
  let nc: NatsConnection | undefined;
  const clients: PinusClient[] = [];
  let dropped = 0;
  try {
    [zk, nats] = await Promise.all([startZookeeper(), startNats()]);
    note(`failover: ZooKeeper ${zk.url}, nats-server ${nats.url}, session timeout ${SESSION_TIMEOUT} ms, ${kills} kills per side`);
    nc = await connect({ servers: nats.url, name: 'bench-failover', noAsyncTraces: true });
    const conn = nc;
    const subjects = buildSubjects('shaddock', 'chat');

    await shaddock(['start', '-D']);
    await shaddock(['masterha']);
    note('failover: examples/chat [ha] started with its standby');
    const token = readRunFile(appDir, ENV)!.adminToken;
    const list = async (): Promise<ServerRow[]> => {
      const reply = decode<{ ok: boolean; result?: ServerRow[]; error?: string }>((await conn.request(subjects.admin, encode({ command: 'list', token }), { timeout: 1_000 })).data);
      if (!reply.ok || !reply.result) throw new Error(`list: ${reply.error}`);
      for (const r of reply.result) if (r.pid !== null) (r.serverType === 'master' ? masterPids : serverPids).add(r.pid);
      return reply.result;
    };
    const leaderOf = async (): Promise<{ leader: MasterInfo; standbys: MasterInfo[] } | undefined> => {
      const all = await masters(conn, subjects.masters);
      const leading = all.filter((m) => m.state === 'leading.running');
      return leading.length === 1 && all.length === 2 && all.some((m) => m.state === 'standby') ? { leader: leading[0]!, standbys: all.filter((m) => m !== leading[0]) } : undefined;
    };
    const settled = async (): Promise<MasterInfo> => {
      const deadline = performance.now() + FAILOVER_TIMEOUT;
      for (;;) {
        const found = await leaderOf();
        if (found) return found.leader;
        if (performance.now() > deadline) throw new Error('no leader with a standby in time');
        await sleep(100);
      }
    };
    const serversNow = async (): Promise<Map<string, number | null>> => new Map((await list()).filter((r) => r.serverType !== 'master').map((r) => [r.id, r.pid]));

    // Clients in the middle of a chat on the connectors: counted when their connection drops.
    const rows = await list();
    for (const connector of rows.filter((r) => r.serverType === 'connector')) {
      for (let i = 0; i < CLIENTS / 2; i++) {
        const client = await PinusClient.connect('tcp', connector.clientPort!);
        await client.request('connector.entryHandler.enter', { username: `bench-${connector.id}-${i}`, rid: 'failover' });
        void client.closed.then(() => dropped++);
        clients.push(client);
      }
    }

    let restarted = 0;
    note(`failover: ${clients.length} clients in a chat`);
    const shaddockRound = async (): Promise<number> => {
      const leader = await settled();
      const before = await serversNow();
      const start = performance.now();
      process.kill(leader.pid, 'SIGKILL');
      for (;;) {
        if (performance.now() - start > FAILOVER_TIMEOUT) throw new Error('no new leader in time');
        const now = (await masters(conn, subjects.masters)).find((m) => m.pid !== leader.pid && m.state === 'leading.running');
        if (now) {
          // Answering the CLI, with every server adopted (connected, same pids).
          const answered = await list().catch(() => undefined);
          const servers = answered?.filter((r) => r.serverType !== 'master');
          if (servers && servers.every((r) => r.state === 'connected')) {
            const ms = performance.now() - start;
            for (const r of servers) if (before.get(r.id) !== r.pid) restarted++;
            // The killed master back, as the standby.
            await shaddock(['start', '-D', '--master', leader.id]);
            return ms;
          }
        }
        await sleep(PROBE_INTERVAL);
      }
    };

    const barePath = '/bench/bare/master';
    let bareLeader = bareCandidate(barePath);
    await bareLeader.leading;
    let bareStandby = bareCandidate(barePath);
    await bareStandby.ready;
    const bareRound = async (): Promise<number> => {
      const start = performance.now();
      bareLeader.child.kill('SIGKILL');
      const at = await Promise.race([bareStandby.leading, sleep(FAILOVER_TIMEOUT).then(() => Number.NaN)]);
      if (Number.isNaN(at)) throw new Error('bare standby did not lead in time');
      bareLeader = bareStandby;
      bareStandby = bareCandidate(barePath);
      await bareStandby.ready;
      return at - start;
    };

    const samples = { shaddock: [] as number[], baseline: [] as number[] };
    for (let i = 0; i < kills; i++) {
      const order = i % 2 === 0 ? (['shaddock', 'baseline'] as const) : (['baseline', 'shaddock'] as const);
      for (const side of order) {
        const ms = side === 'shaddock' ? await shaddockRound() : await bareRound();
        samples[side].push(ms);
        note(`failover ${i + 1}/${kills} ${side}: ${ms.toFixed(0)} ms`);
      }
    }
    const shaddockMs = median(samples.shaddock);
    const baselineMs = median(samples.baseline);
    printRows(
      [
        row({ bench: 'failover', case: `kill -9 of the leader to a standby leading + answering admin (median of ${kills})`, shaddock: shaddockMs, baseline: BASELINE, baselineValue: baselineMs, unit: 'ms' }),
        row({ bench: 'failover', case: `servers restarted over ${kills} failovers`, shaddock: restarted, baseline: BASELINE, baselineValue: 0, unit: 'servers' }),
        row({ bench: 'failover', case: `clients dropped (of ${clients.length}) over ${kills} failovers`, shaddock: dropped, baseline: BASELINE, baselineValue: 0, unit: 'clients' }),
      ],
      options,
    );
    const target = baselineMs + 500;
    note(`failover target: median ${shaddockMs.toFixed(0)} ms ≤ bare election ${baselineMs.toFixed(0)} ms + 500 ms = ${target.toFixed(0)} ms: ${shaddockMs <= target ? 'holds' : 'DOES NOT HOLD'}; servers restarted ${restarted}, clients dropped ${dropped} (must be 0)`);
    if (restarted > 0 || dropped > 0) failed = true;
  } catch (error) {
    failed = true;
    note(`failover bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
  for (const client of clients) client.close();
  if (nats && zk) {
    await shaddock(['stop']).catch((error: unknown) => {
      failed = true;
      note(`failover: stop failed: ${(error as Error).message}`);
    });
  }
  for (const child of [...bare]) await stopChild(child);
  await nc?.close().catch(() => undefined);
  const left = [...masterPids, ...serverPids].filter(alive);
  if (left.length > 0) note(`failover: killing what is left: ${left.join(', ')}`);
  killLeftovers();
  await Promise.all([zk?.stop(), nats?.stop()]);
  if (failed) process.exit(1);
}
