// Channel broadcast fan-out: pushes to a channel of 1,000 and 5,000 WebSocket clients (deliveries/s),
// and the frontend's resident memory per idle connection, Shaddock next to a bare `ws` server in
// the same run, driven by the same load client. See bench/README.md.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startEmbeddedNats, type EmbeddedNats } from '../src/actors/master/embedded-broker.ts';
import { everyPid as shaddockPids, startShaddockChat } from './apps/shaddock-chat/cluster.ts';
import { stopChild } from './children.ts';
import { LoadClient } from './clients/driver.ts';
import { PomeloClient } from './clients/pomelo.ts';
import { alive, cpuMeter, formatCpu, kib, rssBytes, signal, sleep } from './clients/system.ts';
import { median, note, printRows, row, type ReportOptions, type Row } from './report.ts';

const bareEntry = join(import.meta.dirname, 'apps', 'bare-ws', 'server.ts');
const gcPreload = join(import.meta.dirname, 'clients', 'gc-on-signal.cjs');
const tsx = import.meta.resolve('tsx');
const BASELINE = 'bare ws server';
const PUSH_ROUTE = 'onBlast';
const ROUNDS = 3;
/** Unmeasured blasts before each measured run. */
const WARMUP_BLASTS = 2;
/** ms after connecting before the memory reading starts. */
const SETTLE_MS = 2_000;
/** RSS counts as settled once SETTLE_SAMPLES readings SETTLE_INTERVAL ms apart stay within SETTLE_BYTES (at most SETTLE_MAX ms). */
const SETTLE_SAMPLES = 6;
const SETTLE_INTERVAL = 500;
const SETTLE_BYTES = 256 * 1024;
const SETTLE_MAX = 20_000;
/** A baseline RSS growth under this many KiB per connection is noise (young-generation resizing moves RSS by MiBs). */
const RSS_RESOLUTION_KIB = 2;
/** Seconds between client heartbeats on Shaddock's connector here (the bare server has none): idle means idle. */
const HEARTBEAT = 60;
const START_TIMEOUT = 30_000;
const CASES = [1_000, 5_000] as const;

type Side = 'shaddock' | 'baseline';

interface Server {
  url: string;
  /** The process whose RSS is measured: Shaddock's connector frontend, or the bare server. */
  frontendPid: number;
  /** Processes whose CPU use is shown per run. */
  pids: Record<string, number>;
  stop(): Promise<void>;
}

let nats: EmbeddedNats | undefined;
let gcReportDir: string | undefined;
const bareServers = new Set<ChildProcess>();
const loadClients = new Set<LoadClient>();
let finished = false;
/** Measured runs during which other processes used more than BUSY_OTHER % of a core (their numbers are suspect). */
let busyRuns = 0;
const BUSY_OTHER = 20;

process.on('exit', () => {
  if (!finished && !process.exitCode) process.exitCode = 1;
  for (const client of loadClients) if (client.child.exitCode === null) signal(client.pid, 'SIGKILL');
  for (const child of bareServers) if (child.exitCode === null && child.pid !== undefined) signal(child.pid, 'SIGKILL');
  for (const pid of shaddockPids) if (alive(pid)) signal(pid, 'SIGKILL');
  if (nats) signal(nats.pid, 'SIGTERM');
  if (gcReportDir) rmSync(gcReportDir, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    note(`broadcast: ${sig}, stopping everything`);
    process.exit(1);
  });
}

export async function run(options: ReportOptions): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 3);
  const pushes = Number(process.env.BENCH_PUSHES ?? 10);
  if (!Number.isFinite(seconds) || seconds <= 0 || !Number.isSafeInteger(pushes) || pushes <= 0) {
    note(`BENCH_SECONDS must be a positive number and BENCH_PUSHES a positive integer (got "${process.env.BENCH_SECONDS}", "${process.env.BENCH_PUSHES}")`);
    process.exit(1);
  }
  process.env.SHADDOCK_LOG_LEVEL ??= 'warn';
  if (options.json) process.env.SHADDOCK_LOG_LEVEL = 'warn';

  const servers: Partial<Record<Side, Server>> = {};
  let failed = false;
  try {
    nats = await startEmbeddedNats();
    // The two frontends run with a SIGUSR2 → full GC hook, so memory is read without the garbage of connecting.
    gcReportDir = mkdtempSync(join(tmpdir(), 'shaddock-bench-gc-'));
    const serverEnv = { NODE_OPTIONS: `--expose-gc --require ${gcPreload}`, BENCH_GC_REPORT_DIR: gcReportDir, BENCH_HEARTBEAT: String(HEARTBEAT) };
    note(`broadcast: nats-server ${nats.url} (pid ${nats.pid}); ${pushes} pushes per trigger, ${seconds} s per run after ${WARMUP_BLASTS} warm-up triggers, ${ROUNDS} rounds per side`);
    const rows: Row[] = [];
    for (const count of CASES) {
      const name = `${count.toLocaleString('en-US')} clients`;
      const loads: Partial<Record<Side, LoadClient>> = {};
      const rates: Record<Side, number[]> = { shaddock: [], baseline: [] };
      const perConnection: Partial<Record<Side, number>> = {};
      const heapPerConnection: Partial<Record<Side, number>> = {};
      const memoryBefore: Partial<Record<Side, Memory>> = {};
      try {
        // Fresh servers for each case, so that "before" is a server that never held connections.
        const cluster = await startShaddockChat(nats.url, 'broadcast', serverEnv);
        const chat = Object.entries(cluster.pids).find(([id]) => id.startsWith('chat'));
        servers.shaddock = {
          url: cluster.url,
          frontendPid: cluster.frontendPid,
          pids: { frontend: cluster.frontendPid, ...(chat ? { backend: chat[1] } : {}), 'nats-server': nats.pid },
          stop: () => cluster.stop(),
        };
        servers.baseline = await startBare(serverEnv);
        note(`broadcast ${name}: shaddock connector on ${servers.shaddock.url} (pid ${servers.shaddock.frontendPid}), bare ws on ${servers.baseline.url} (pid ${servers.baseline.frontendPid})`);
        await probeShaddock(servers.shaddock.url);
        await (await PomeloClient.open(servers.baseline.url, { raw: true })).closeAndWait();
        // Warm-up: WARMUP_CONNECTIONS clients come, go through what the measured ones will do, and
        // go, on both sides, so that "before" already holds what a process builds once (compiled
        // code, lazily made structures) and the rows show what each idle connection costs.
        await Promise.all((['shaddock', 'baseline'] as const).map((side) => warmUp(side, servers[side]!.url)));
        // Both frontends' memory with no client, side by side.
        await sleep(SETTLE_MS);
        const [shaddockBefore, bareBefore] = await Promise.all([settledMemory(servers.shaddock.frontendPid), settledMemory(servers.baseline.frontendPid)]);
        memoryBefore.shaddock = shaddockBefore;
        memoryBefore.baseline = bareBefore;

        for (const side of ['shaddock', 'baseline'] as const) {
          const server = servers[side]!;
          const before = memoryBefore[side]!;
          const load = LoadClient.start(`${side} ${name}`, nodeArgs('BENCH_CLIENT_NODE_ARGS'));
          loadClients.add(load);
          loads[side] = load;
          const connected = await load.command({ cmd: 'connect', url: server.url, count, raw: side === 'baseline' });
          let setup = `${connected.connected} clients connected in ${Math.round(connected.ms)} ms`;
          if (side === 'shaddock') {
            // Each client binds a uid on the connector, then joins channel `bench` on the chat server.
            const entered = await load.command({ cmd: 'each', route: 'connector.entryHandler.enter', body: '{"uid":"user-$i"}' });
            const joined = await load.command({ cmd: 'each', route: 'chat.chatHandler.join', body: '{}' });
            setup += `, bound in ${Math.round(entered.ms)} ms, joined channel bench in ${Math.round(joined.ms)} ms`;
          }
          await sleep(SETTLE_MS);
          const after = await settledMemory(server.frontendPid);
          perConnection[side] = (after.rss - before.rss) / count;
          heapPerConnection[side] = (after.heapUsed - before.heapUsed) / count;
          note(
            `broadcast ${name} ${side}: ${setup}; frontend RSS ${mib(before.rss)} → ${mib(after.rss)} = ${kib(perConnection[side])} per connection ` +
              `(V8 heap used ${mib(before.heapUsed)} → ${mib(after.heapUsed)} = ${kib((after.heapUsed - before.heapUsed) / count)}; ` +
              `young generation ${mib(before.newSpace)} → ${mib(after.newSpace)}; V8 heap reserved ${mib(before.heapTotal)} → ${mib(after.heapTotal)}; ` +
              `external ${mib(before.external)} → ${mib(after.external)}; RSS before the forced GC ${mib(after.rssBeforeGc)})`,
          );
        }

        for (let round = 0; round < ROUNDS; round++) {
          const order: Side[] = round % 2 === 0 ? ['shaddock', 'baseline'] : ['baseline', 'shaddock'];
          for (const side of order) {
            const load = loads[side]!;
            const meter = cpuMeter({ client: load.pid, ...servers[side]!.pids });
            const result = await load.command({
              cmd: 'blastLoop',
              trigger: side === 'shaddock' ? { route: 'chat.chatHandler.blast', body: JSON.stringify({ count: pushes }) } : { raw: JSON.stringify({ blast: pushes }) },
              pushRoute: PUSH_ROUTE,
              pushes,
              seconds,
              warmupBlasts: WARMUP_BLASTS,
            });
            const cpu = meter.stop();
            if ((cpu.other ?? 0) > BUSY_OTHER) busyRuns++;
            const rate = result.deliveries / result.seconds;
            rates[side].push(rate);
            // CPU the frontend spent per delivery (the meter spans the warm-up triggers too, so this is an upper bound).
            const frontendCpu = side === 'shaddock' ? cpu.frontend! : cpu.server!;
            const micros = ((frontendCpu / 100) * meter.seconds * 1e6) / (result.deliveries + WARMUP_BLASTS * pushes * count);
            note(
              `broadcast ${name} round ${round + 1}/${ROUNDS} ${side}: ${Math.round(rate).toLocaleString('en-US')} deliveries/s ` +
                `(${result.blasts} triggers of ${pushes} × ${count}, slowest ${result.maxBlastMs.toFixed(1)} ms); CPU ${formatCpu(cpu)}; ` +
                `frontend ${micros.toFixed(2)} µs CPU per delivery`,
            );
          }
        }
      } finally {
        for (const side of ['shaddock', 'baseline'] as const) {
          const load = loads[side];
          if (load) {
            await load.stop();
            loadClients.delete(load);
          }
          await servers[side]?.stop();
          servers[side] = undefined;
        }
      }
      rows.push(row({ bench: 'broadcast', case: `${name}, deliveries/s`, shaddock: median(rates.shaddock), baseline: BASELINE, baselineValue: median(rates.baseline), unit: 'deliveries/s' }));
      rows.push(
        row({
          bench: 'broadcast',
          case: `${name}, RSS per idle connection`,
          shaddock: perConnection.shaddock! / 1024,
          baseline: BASELINE,
          baselineValue: perConnection.baseline! / 1024,
          unit: 'KiB',
        }),
      );
      rows.push(
        row({
          bench: 'broadcast',
          case: `${name}, V8 heap per idle connection`,
          shaddock: heapPerConnection.shaddock! / 1024,
          baseline: BASELINE,
          baselineValue: heapPerConnection.baseline! / 1024,
          unit: 'KiB',
        }),
      );
    }
    printRows(rows, options);
    if (busyRuns > 0) note(`broadcast: WARNING: during ${busyRuns} measured run(s) other processes used more than ${BUSY_OTHER}% of a core ("other" above): the machine was not idle, rerun for numbers to keep`);
    for (const r of rows.filter((r) => !r.case.includes('V8 heap'))) {
      const deliveries = r.unit === 'deliveries/s';
      if (!deliveries && r.baselineValue < RSS_RESOLUTION_KIB) {
        // A few MiB over a thousand connections is within V8's heap resizing: no ratio to judge by.
        note(`broadcast goal, ${r.case}: bare ws grew by less than ${RSS_RESOLUTION_KIB} KiB per connection (${r.baselineValue}), below what RSS resolves here: not judged (see the V8 heap row)`);
        continue;
      }
      const holds = deliveries ? r.ratio >= 0.7 : r.ratio <= 1.5;
      note(`broadcast goal, ${r.case}: ${deliveries ? '≥ 0.7' : '≤ 1.5'} × bare ws (${r.ratio.toFixed(2)}): ${holds ? 'met' : 'NOT MET'}`);
    }
    finished = true;
  } catch (error) {
    failed = true;
    note(`broadcast bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }

  for (const load of loadClients) await load.stop();
  for (const side of ['shaddock', 'baseline'] as const) {
    try {
      await servers[side]?.stop();
    } catch (error) {
      failed = true;
      note(`broadcast: stopping ${side} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  await nats?.stop();
  if (gcReportDir) rmSync(gcReportDir, { recursive: true, force: true });
  if (failed) process.exit(1);
}

/** Clients that connect and leave on each side before memory is first read. */
const WARMUP_CONNECTIONS = 200;

async function warmUp(side: Side, url: string): Promise<void> {
  const load = LoadClient.start(`${side} warm-up`, nodeArgs('BENCH_CLIENT_NODE_ARGS'));
  loadClients.add(load);
  try {
    await load.command({ cmd: 'connect', url, count: WARMUP_CONNECTIONS, raw: side === 'baseline' });
    if (side === 'shaddock') {
      await load.command({ cmd: 'each', route: 'connector.entryHandler.enter', body: '{"uid":"warmup-$i"}' });
      await load.command({ cmd: 'each', route: 'chat.chatHandler.join', body: '{}' });
      await load.command({ cmd: 'each', route: 'chat.chatHandler.leave', body: '{}' });
    }
  } finally {
    await load.stop();
    loadClients.delete(load);
  }
}

interface Memory {
  /** VmRSS once settled after a full GC. */
  rss: number;
  /** VmRSS just before that GC. */
  rssBeforeGc: number;
  /** V8 heap in use and new-space size right after the GC (gc-on-signal.cjs's report). */
  heapUsed: number;
  newSpace: number;
  /** V8 heap reserved (used or not), and memory outside it (Buffers, native), after the GC. */
  heapTotal: number;
  external: number;
}

/**
 * The frontend's memory: SIGUSR2 makes it run a full GC and report its V8 heap (gc-on-signal.cjs);
 * then VmRSS from /proc/<pid>/status, read until it holds still.
 */
async function settledMemory(pid: number): Promise<Memory> {
  const rssBeforeGc = rssBytes(pid);
  const file = join(gcReportDir!, `${pid}.json`);
  const asked = Date.now();
  signal(pid, 'SIGUSR2');
  let report: { at: number; memory: { heapUsed: number; heapTotal: number; external: number }; spaces: Record<string, { size: number }> } | undefined;
  while (!report || report.at < asked) {
    if (Date.now() - asked > 10_000) throw new Error(`pid ${pid} wrote no memory report after SIGUSR2 (is gc-on-signal.cjs preloaded?)`);
    await sleep(50);
    try {
      report = JSON.parse(readFileSync(file, 'utf8')) as NonNullable<typeof report>;
    } catch {
      // not written yet
    }
  }
  const samples: number[] = [];
  const deadline = Date.now() + SETTLE_MAX;
  for (;;) {
    samples.push(rssBytes(pid));
    const last = samples.slice(-SETTLE_SAMPLES);
    if ((last.length === SETTLE_SAMPLES && Math.max(...last) - Math.min(...last) <= SETTLE_BYTES) || Date.now() > deadline) break;
    await sleep(SETTLE_INTERVAL);
  }
  return {
    rss: samples[samples.length - 1]!,
    rssBeforeGc,
    heapUsed: report.memory.heapUsed,
    newSpace: report.spaces.new_space?.size ?? NaN,
    heapTotal: report.memory.heapTotal,
    external: report.memory.external,
  };
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function nodeArgs(variable: string): string[] {
  return (process.env[variable] ?? '').split(' ').filter(Boolean);
}

/** One client through the whole path (enter, join, a trigger of one push that it receives), then gone. */
async function probeShaddock(url: string): Promise<void> {
  let pushed = 0;
  const client = await PomeloClient.open(url, { onPush: (route) => void (route === PUSH_ROUTE && pushed++) });
  try {
    for (const [route, msg] of [
      ['connector.entryHandler.enter', { uid: 'probe' }],
      ['chat.chatHandler.join', {}],
      ['chat.chatHandler.blast', { count: 1 }],
    ] as const) {
      const reply = await client.call<{ code?: number }>(route, msg);
      if (reply.code !== 200) throw new Error(`shaddock: ${route} answered ${JSON.stringify(reply)}`);
    }
    const deadline = Date.now() + 5_000;
    while (pushed === 0 && Date.now() < deadline) await sleep(10);
    if (pushed === 0) throw new Error(`shaddock: the probe client got no ${PUSH_ROUTE} push`);
  } finally {
    await client.closeAndWait();
  }
  // The probe's uid leaves the channel when its session closes (or stays as a member with no
  // connection: either way it receives nothing, and the load client only counts its own deliveries).
}

/** apps/bare-ws/server.ts, `node --import tsx` like every bench process; resolves once it listens. */
function startBare(env: Record<string, string>): Promise<Server> {
  const child = spawn(process.execPath, ['--import', tsx, bareEntry], { stdio: ['ignore', 'pipe', 2], env: { ...process.env, ...env } });
  bareServers.add(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bare ws server not ready within ${START_TIMEOUT} ms`)), START_TIMEOUT);
    child.once('exit', (code, sig) => reject(new Error(`bare ws server exited before it was ready (code ${code}, signal ${sig})`)));
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      const port = Number(line.split(' ')[1]);
      resolve({
        url: `ws://127.0.0.1:${port}`,
        frontendPid: child.pid!,
        pids: { server: child.pid! },
        async stop() {
          await stopChild(child);
          bareServers.delete(child);
        },
      });
    });
  });
}
