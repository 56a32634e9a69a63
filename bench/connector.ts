// Requests/s and p99 latency of `chat.chatHandler.send` through a gate-less connector frontend to a
// chat backend, 100 and 1,000 WebSocket clients each in a closed loop: Shaddock next to pinus 1.7.4
// running the same topology, in the same run, driven by the same load client. See bench/README.md.
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { startEmbeddedNats, type EmbeddedNats } from '../src/actors/master/embedded-broker.ts';
import { watch, type Watch } from '../src/actors/inspect/watcher.ts';
import { subjects } from '../src/transport/subjects.ts';
import { killPinusLeftovers, startPinusCluster } from './apps/pinus-cluster.ts';
import { everyPid as shaddockPids, startShaddockChat, type ShaddockCluster } from './apps/shaddock-chat/cluster.ts';
import { stopSides } from './teardown.ts';
import { LoadClient } from './clients/driver.ts';
import { PomeloClient } from './clients/pomelo.ts';
import { alive, cpuMeter, formatCpu, freePort, signal, sleep } from './clients/system.ts';
import { median, note, printRows, row, type ReportOptions, type Row } from './report.ts';

const pinusAppDir = join(import.meta.dirname, 'apps', 'pinus-chat');
const BASELINE = 'pinus 1.7.4';
const ROUTE = 'chat.chatHandler.send';
/** The request body every client sends (small JSON, as in a chat). */
const BODY = JSON.stringify({ rid: 'bench', content: 'hello from the connector bench' });
const ROUNDS = 3;
// Long enough for both servers' hot paths to be compiled before anything is counted.
const WARMUP_SECONDS = 3;
/** Seconds between heartbeats on both servers: the load client answers them like pomelo-client. */
const HEARTBEAT = 10;
const START_TIMEOUT = 60_000;
const CASES = [100, 1_000] as const;

type Side = 'shaddock' | 'baseline';
/** A measured run: a side, or Shaddock again with a watcher (`shaddock inspect`, the console) holding a lease on its connector. */
type Run = Side | 'watched';
/** The bench app's cluster (apps/shaddock-chat/config/master.json) and the frontend a watcher watches. */
const BENCH_SUBJECTS = subjects('shaddock', 'shaddock-bench-chat');
const WATCHED_SERVER = 'connector-server-1';
const WATCHED = 'Shaddock, no watcher';

interface Cluster {
  url: string;
  /** Processes whose CPU use is shown per run: the frontend, the backend, the master (and Shaddock's nats-server). */
  pids: Record<string, number>;
  stop(): Promise<void>;
}

// Everything this bench started, for the last-resort cleanup.
let nats: EmbeddedNats | undefined;
const loadClients = new Set<LoadClient>();
let finished = false;
/** Measured runs during which other processes used more than BUSY_OTHER % of a core (their numbers are suspect). */
let busyRuns = 0;
const BUSY_OTHER = 20;

function killLeftovers(): void {
  for (const client of loadClients) if (client.child.exitCode === null) signal(client.pid, 'SIGKILL');
  for (const pid of shaddockPids) if (alive(pid)) signal(pid, 'SIGKILL');
  killPinusLeftovers((pid) => alive(pid) && signal(pid, 'SIGKILL'));
  if (nats) signal(nats.pid, 'SIGTERM');
}

process.on('exit', () => {
  if (!finished && !process.exitCode) process.exitCode = 1;
  killLeftovers();
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    note(`connector: ${sig}, stopping everything`);
    process.exit(1);
  });
}

export async function run(options: ReportOptions): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 3);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    note(`BENCH_SECONDS must be a positive number, not "${process.env.BENCH_SECONDS}"`);
    process.exit(1);
  }
  process.env.SHADDOCK_LOG_LEVEL ??= 'warn';
  if (options.json) process.env.SHADDOCK_LOG_LEVEL = 'warn';
  const sidesWanted = (process.env.BENCH_SIDES ?? 'shaddock,baseline').split(',') as Side[];

  const clusters: Partial<Record<Side, Cluster>> = {};
  let failed = false;
  try {
    nats = await startEmbeddedNats();
    note(`connector: nats-server ${nats.url} (pid ${nats.pid}), ${seconds} s per run after ${WARMUP_SECONDS} s warm-up, ${ROUNDS} rounds per side`);
    if (sidesWanted.includes('baseline')) {
      clusters.baseline = await startPinus();
      note(`connector: pinus up, connector on ${clusters.baseline.url} (${formatPids(clusters.baseline.pids)})`);
    }
    if (sidesWanted.includes('shaddock')) {
      clusters.shaddock = shaddockCluster(await startShaddockChat(nats.url, 'connector'));
      note(`connector: shaddock up, connector on ${clusters.shaddock.url} (${formatPids(clusters.shaddock.pids)})`);
    }
    const sides = (Object.keys(clusters) as Side[]).sort();
    for (const side of sides) await probe(side, clusters[side]!.url);

    const rows: Row[] = [];
    for (const count of CASES) {
      const name = `${count.toLocaleString('en-US')} clients`;
      const loads: Partial<Record<Side, LoadClient>> = {};
      /** Per run: requests/s, p99, and the frontend's CPU µs per request (steadier than requests/s on a busy machine). */
      const results: Record<Run, { rate: number[]; p99: number[]; cpu: number[]; batches: number }> = {
        shaddock: { rate: [], p99: [], cpu: [], batches: 0 },
        baseline: { rate: [], p99: [], cpu: [], batches: 0 },
        watched: { rate: [], p99: [], cpu: [], batches: 0 },
      };
      try {
        for (const side of sides) {
          const load = LoadClient.start(`${side} ${name}`, nodeArgs('BENCH_CLIENT_NODE_ARGS'));
          loadClients.add(load);
          loads[side] = load;
          const connected = await load.command({ cmd: 'connect', url: clusters[side]!.url, count });
          note(`connector ${name} ${side}: ${connected.connected} clients connected in ${Math.round(connected.ms)} ms (heartbeat ${connected.heartbeat ?? 'none'} s)`);
        }
        for (let round = 0; round < ROUNDS; round++) {
          // Alternate which side goes first so drift (other load, thermal) hits both alike.
          // Shaddock runs twice a round, without and with a watcher, in alternating order too.
          const runs: Run[] = sides.flatMap((side): Run[] => (side === 'shaddock' ? (round % 2 === 0 ? ['shaddock', 'watched'] : ['watched', 'shaddock']) : [side]));
          const order = round % 2 === 0 ? runs : [...runs].reverse();
          for (const run of order) {
            const side: Side = run === 'watched' ? 'shaddock' : run;
            const load = loads[side]!;
            const watcher = run === 'watched' ? await startWatcher(results.watched) : undefined;
            const meter = cpuMeter({ client: load.pid, ...clusters[side]!.pids });
            const result = await load.command({ cmd: 'requestLoop', route: ROUTE, body: BODY, warmupSeconds: WARMUP_SECONDS, seconds });
            const cpu = meter.stop();
            await watcher?.close();
            if ((cpu.other ?? 0) > BUSY_OTHER) busyRuns++;
            if (result.failures > 0) throw new Error(`${run} ${name}: ${result.failures} requests failed (connection closed or code other than 200)`);
            const rate = result.responses / result.seconds;
            results[run].rate.push(rate);
            results[run].p99.push(result.p99);
            // CPU per request of each server process (the meter spans the warm-up too; requests/s is about the same there).
            const perRequest = (proc: string): number => (((cpu[proc] ?? NaN) / 100) * 1e6) / rate;
            const micros = (proc: string): string => `${perRequest(proc).toFixed(0)} µs`;
            results[run].cpu.push(perRequest('frontend'));
            note(
              `connector ${name} round ${round + 1}/${ROUNDS} ${run}: ${Math.round(rate).toLocaleString('en-US')} requests/s, ` +
                `p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms, max ${result.max.toFixed(1)} ms; CPU ${formatCpu(cpu)}; ` +
                `CPU per request: frontend ${micros('frontend')}, backend ${micros('backend')}`,
            );
          }
        }
      } finally {
        for (const side of sides) {
          const load = loads[side];
          if (load) {
            await load.stop();
            loadClients.delete(load);
          }
        }
      }
      const value = (run: Run, key: 'rate' | 'p99' | 'cpu'): number => (results[run][key].length ? median(results[run][key]) : NaN);
      rows.push(row({ bench: 'connector', case: `${name}, requests/s`, shaddock: value('shaddock', 'rate'), baseline: BASELINE, baselineValue: value('baseline', 'rate'), unit: 'requests/s' }));
      rows.push(row({ bench: 'connector', case: `${name}, p99 latency`, shaddock: value('shaddock', 'p99'), baseline: BASELINE, baselineValue: value('baseline', 'p99'), unit: 'ms' }));
      if (results.watched.rate.length) {
        rows.push(row({ bench: 'connector', case: `${name}, requests/s, watched`, shaddock: value('watched', 'rate'), baseline: WATCHED, baselineValue: value('shaddock', 'rate'), unit: 'requests/s' }));
        rows.push(row({ bench: 'connector', case: `${name}, p99 latency, watched`, shaddock: value('watched', 'p99'), baseline: WATCHED, baselineValue: value('shaddock', 'p99'), unit: 'ms' }));
        rows.push(row({ bench: 'connector', case: `${name}, frontend CPU/request, watched`, shaddock: value('watched', 'cpu'), baseline: WATCHED, baselineValue: value('shaddock', 'cpu'), unit: 'µs' }));
        note(`connector ${name}: the watcher on ${WATCHED_SERVER} received ${results.watched.batches} batch(es) over ${ROUNDS} runs`);
      }
    }
    printRows(rows, options);
    if (busyRuns > 0) note(`connector: WARNING: during ${busyRuns} measured run(s) other processes used more than ${BUSY_OTHER}% of a core ("other" above): the machine was not idle, rerun for numbers to keep`);
    for (const count of CASES) {
      const name = `${count.toLocaleString('en-US')} clients`;
      const rate = rows.find((r) => r.case === `${name}, requests/s`)!;
      const p99 = rows.find((r) => r.case === `${name}, p99 latency`)!;
      const holds = rate.ratio >= 1 && p99.shaddock <= p99.baselineValue;
      note(`connector goal at ${name}: requests/s ≥ 1.0 × pinus (${rate.ratio.toFixed(2)}) at equal or better p99 (${p99.shaddock} vs ${p99.baselineValue} ms): ${holds ? 'met' : 'NOT MET'}`);
      const watched = rows.find((r) => r.case === `${name}, requests/s, watched`);
      if (watched) note(`connector goal at ${name} with a watcher: loses under 5 % of requests/s (${((1 - watched.ratio) * 100).toFixed(1)} %): ${watched.ratio > 0.95 ? 'met' : 'NOT MET'}`);
    }
    finished = true;
  } catch (error) {
    failed = true;
    note(`connector bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }

  if (!(await stopSides('connector', loadClients, clusters, nats))) failed = true;
  if (failed) process.exit(1);
}

/**
 * A watcher on the connector for one run, as `shaddock inspect connector-server-1` or the console
 * holds one: its own NATS connection, a 3 s lease renewed every second, every batch counted.
 */
async function startWatcher(counter: { batches: number }): Promise<{ close(): Promise<void> }> {
  const nc = await connect({ servers: nats!.url, noAsyncTraces: true });
  let handle: Watch;
  try {
    handle = await watch(nc, BENCH_SUBJECTS, WATCHED_SERVER, { ttlMs: 3_000 }, () => void counter.batches++);
  } catch (error) {
    await nc.close();
    throw error;
  }
  return {
    async close() {
      await handle.close();
      await nc.close();
    },
  };
}

function shaddockCluster(cluster: ShaddockCluster): Cluster {
  const backend = Object.entries(cluster.pids).find(([id]) => id.startsWith('chat'));
  return {
    url: cluster.url,
    // nats-server carries every request twice (connector → chat, chat → connector): its CPU is Shaddock's.
    pids: { frontend: cluster.frontendPid, ...(backend ? { backend: backend[1] } : {}), 'nats-server': nats!.pid, master: cluster.masterPid },
    stop: () => cluster.stop(),
  };
}

function formatPids(pids: Record<string, number>): string {
  return Object.entries(pids)
    .map(([name, pid]) => `${name} pid ${pid}`)
    .join(', ');
}

function nodeArgs(variable: string): string[] {
  return (process.env[variable] ?? '').split(' ').filter(Boolean);
}

/** One request through the whole path, retried until it answers code 200 (the backend may join late). */
async function probe(side: Side, url: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT;
  let last = '';
  while (Date.now() < deadline) {
    let client: PomeloClient | undefined;
    try {
      client = await PomeloClient.open(url);
      const reply = await Promise.race([
        client.call<{ code?: number }>(ROUTE, JSON.parse(BODY)),
        sleep(5_000).then(() => ({ code: -1, timeout: true })),
      ]);
      if (reply.code === 200) {
        note(`connector: ${side} answers ${ROUTE}: ${JSON.stringify(reply)}`);
        return;
      }
      last = JSON.stringify(reply);
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    } finally {
      await client?.closeAndWait();
    }
    await sleep(200);
  }
  throw new Error(`${side}: ${ROUTE} did not answer code 200 within ${START_TIMEOUT} ms (last: ${last})`);
}

// --- pinus ---------------------------------------------------------------------------------------

/** Starts the pinus app of apps/pinus-chat (apps/pinus-cluster.ts): one connector, one chat server. */
async function startPinus(): Promise<Cluster> {
  const ports = new Set<number>();
  while (ports.size < 4) ports.add(await freePort());
  const [masterPort, connectorPort, clientPort, chatPort] = [...ports] as [number, number, number, number];
  const cluster = await startPinusCluster(
    pinusAppDir,
    'connector',
    masterPort,
    {
      connector: [{ id: 'connector-server-1', host: '127.0.0.1', port: connectorPort, clientHost: '127.0.0.1', clientPort, frontend: true }],
      chat: [{ id: 'chat-server-1', host: '127.0.0.1', port: chatPort }],
    },
    { BENCH_HEARTBEAT: String(HEARTBEAT) },
    nodeArgs('BENCH_PINUS_NODE_ARGS'),
  );
  return {
    url: `ws://127.0.0.1:${clientPort}`,
    pids: { frontend: cluster.pids['connector-server-1']!, backend: cluster.pids['chat-server-1']!, master: cluster.masterPid },
    stop: () => cluster.stop(),
  };
}
