// The chat as people deploy it (chatofpomelo's topology: a gate, 2 connectors, 2 chat servers,
// rooms routed to chat servers by rid): Shaddock's examples/chat next to pinus 1.7.4 running
// chatofpomelo, in the same run, driven by the same load client that enters through the gate.
// Two modes (a request answered with one push to the sender; a message to the whole room of 20),
// requests/s, pushes/s and latency percentiles, per-process CPU and event-loop delay. See
// bench/README.md.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedNats, type EmbeddedNats } from '../src/actors/master/embedded-broker.ts';
import { killPinusLeftovers, startPinusCluster } from './apps/pinus-cluster.ts';
import { everyPid as shaddockPids, startShaddockChat } from './apps/shaddock-chat/cluster.ts';
import { stopSides } from './teardown.ts';
import { LoadClient } from './clients/driver.ts';
import { alive, cpuMeter, formatCpu, freePort, signal, sleep } from './clients/system.ts';
import { median, note, printRows, row, type ReportOptions, type Row } from './report.ts';

const shaddockAppDir = join(import.meta.dirname, 'apps', 'shaddock-chatofpomelo');
const pinusAppDir = join(import.meta.dirname, 'apps', 'pinus-chatofpomelo');
const loopDelayPreload = join(import.meta.dirname, 'clients', 'loop-delay.cjs');
const BASELINE = 'pinus 1.7.4';
const ROUTE = 'chat.chatHandler.send';
const ROOM_SIZE = 20;
const WARMUP_SECONDS = 3;
/** Seconds between heartbeats on both sides' gate and connectors. */
const HEARTBEAT = 10;
const BUSY_OTHER = 20;

/** The two modes: what each client sends in its closed loop. */
const MODES = {
  // To itself by name: the answer, and one push (onChat) to the sender.
  'one push': JSON.stringify({ content: 'hello from the chat bench', target: '$name' }),
  // To the whole room: the answer, and a push to each of the room's 20 members.
  'room broadcast': JSON.stringify({ content: 'hello from the chat bench', target: '*' }),
} as const;
type Mode = keyof typeof MODES;
type Side = 'shaddock' | 'baseline';

interface Cluster {
  gateUrl: string;
  /** Processes whose CPU is shown per run, by name (gate, connector-1, ..., nats-server). */
  pids: Record<string, number>;
  /** The Node processes that report their event-loop delay (every server and the master). */
  nodePids: Record<string, number>;
  stop(): Promise<void>;
}

interface Run {
  rate: number;
  pushRate: number;
  p50: number;
  p99: number;
  p999: number;
  /** Event-loop delay p99 (ms) of each Node process during the run. */
  loopP99: Record<string, number>;
}

let nats: EmbeddedNats | undefined;
let loopDir: string | undefined;
const loadClients = new Set<LoadClient>();
let finished = false;
let busyRuns = 0;

process.on('exit', () => {
  if (!finished && !process.exitCode) process.exitCode = 1;
  for (const client of loadClients) if (client.child.exitCode === null) signal(client.pid, 'SIGKILL');
  for (const pid of shaddockPids) if (alive(pid)) signal(pid, 'SIGKILL');
  killPinusLeftovers((pid) => alive(pid) && signal(pid, 'SIGKILL'));
  if (nats) signal(nats.pid, 'SIGTERM');
  if (loopDir) rmSync(loopDir, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    note(`chat: ${sig}, stopping everything`);
    process.exit(1);
  });
}

/** A positive number from the environment, or exit 1 naming the variable. */
function setting(name: string, fallback: string, integer = false): number[] {
  const raw = process.env[name] ?? fallback;
  const values = raw.split(',').map(Number);
  if (values.some((value) => !Number.isFinite(value) || value <= 0 || (integer && !Number.isSafeInteger(value)))) {
    note(`${name} must be ${integer ? 'positive integers' : 'a positive number'}${integer ? ' separated by commas' : ''}, not "${raw}"`);
    process.exit(1);
  }
  return values;
}

export async function run(options: ReportOptions): Promise<void> {
  const [seconds] = setting('BENCH_SECONDS', '3') as [number];
  const counts = setting('BENCH_CHAT_CLIENTS', '200,1000', true);
  const [rounds] = setting('BENCH_ROUNDS', '3', true) as [number];
  const modes = (process.env.BENCH_CHAT_MODES ?? Object.keys(MODES).join(',')).split(',') as Mode[];
  const unknownMode = modes.find((mode) => !Object.hasOwn(MODES, mode));
  if (unknownMode !== undefined) {
    note(`BENCH_CHAT_MODES: unknown mode "${unknownMode}" (the modes: ${Object.keys(MODES).join(', ')})`);
    process.exit(1);
  }
  process.env.SHADDOCK_LOG_LEVEL ??= 'warn';
  if (options.json) process.env.SHADDOCK_LOG_LEVEL = 'warn';
  const sides = (process.env.BENCH_SIDES ?? 'shaddock,baseline').split(',').filter((side): side is Side => side === 'shaddock' || side === 'baseline');

  const clusters: Partial<Record<Side, Cluster>> = {};
  let failed = false;
  try {
    nats = await startEmbeddedNats();
    loopDir = mkdtempSync(join(tmpdir(), 'shaddock-bench-loop-'));
    const env = { NODE_OPTIONS: `--require ${loopDelayPreload}`, BENCH_LOOP_DELAY_DIR: loopDir, BENCH_HEARTBEAT: String(HEARTBEAT) };
    note(`chat: nats-server ${nats.url} (pid ${nats.pid}); ${counts.join(' and ')} clients in rooms of ${ROOM_SIZE}; ${seconds} s per run after ${WARMUP_SECONDS} s warm-up, ${rounds} rounds per side`);
    if (sides.includes('baseline')) clusters.baseline = await startPinus(env);
    if (sides.includes('shaddock')) clusters.shaddock = await startShaddock(env);
    for (const side of sides) note(`chat: ${side} up, gate on ${clusters[side]!.gateUrl} (${Object.entries(clusters[side]!.pids).map(([name, pid]) => `${name} ${pid}`).join(', ')})`);

    const rows: Row[] = [];
    for (const count of counts) {
      const name = `${count.toLocaleString('en-US')} clients`;
      const loads: Partial<Record<Side, LoadClient>> = {};
      try {
        for (const side of sides) {
          const load = LoadClient.start(`${side} ${name}`, nodeArgs('BENCH_CLIENT_NODE_ARGS'));
          loadClients.add(load);
          loads[side] = load;
          const entered = await load.command({ cmd: 'enterChat', gateUrl: clusters[side]!.gateUrl, count, roomSize: ROOM_SIZE });
          note(`chat ${name} ${side}: ${entered.entered} clients entered ${Math.ceil(count / ROOM_SIZE)} rooms through the gate in ${Math.round(entered.ms)} ms (heartbeat ${entered.heartbeat ?? 'none'} s)`);
        }
        for (const mode of modes) {
          const runs: Record<Side, Run[]> = { shaddock: [], baseline: [] };
          for (let round = 0; round < rounds; round++) {
            // Alternate which side goes first so drift (other load) hits both alike.
            const order = round % 2 === 0 ? sides : [...sides].reverse();
            for (const side of order) {
              const result = await measure(side, clusters[side]!, loads[side]!, MODES[mode], seconds);
              runs[side].push(result);
              note(
                `chat ${name}, ${mode}, round ${round + 1}/${rounds} ${side}: ${Math.round(result.rate).toLocaleString('en-US')} requests/s, ` +
                  `${Math.round(result.pushRate).toLocaleString('en-US')} pushes/s, p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms, p99.9 ${result.p999.toFixed(2)} ms; ` +
                  `event-loop delay p99 ${Object.entries(result.loopP99).map(([proc, ms]) => `${proc} ${ms} ms`).join(', ')}`,
              );
            }
          }
          const value = (side: Side, key: 'rate' | 'pushRate' | 'p50' | 'p99' | 'p999'): number => (runs[side].length ? median(runs[side].map((run) => run[key])) : NaN);
          const add = (what: string, key: 'rate' | 'pushRate' | 'p50' | 'p99' | 'p999', unit: string): void =>
            void rows.push(row({ bench: 'chat', case: `${name}, ${mode}, ${what}`, shaddock: value('shaddock', key), baseline: BASELINE, baselineValue: value('baseline', key), unit }));
          add('requests/s', 'rate', 'requests/s');
          add('pushes/s', 'pushRate', 'pushes/s');
          add('p50', 'p50', 'ms');
          add('p99', 'p99', 'ms');
          add('p99.9', 'p999', 'ms');
          for (const side of sides) {
            const procs = Object.keys(runs[side][0]?.loopP99 ?? {});
            note(`chat ${name}, ${mode}, ${side}: median event-loop delay p99 ${procs.map((proc) => `${proc} ${median(runs[side].map((run) => run.loopP99[proc] ?? NaN))} ms`).join(', ')}`);
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
    }
    printRows(rows, options);
    if (busyRuns > 0) note(`chat: WARNING: during ${busyRuns} measured run(s) other processes used more than ${BUSY_OTHER}% of a core ("other" above): the machine was not idle, rerun for numbers to keep`);
    finished = true;
  } catch (error) {
    failed = true;
    note(`chat bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }

  if (!(await stopSides('chat', loadClients, clusters, nats))) failed = true;
  if (failed) process.exit(1);
}

/** One measured run of one side: the closed loops, with CPU and event-loop delay of every process around it. */
async function measure(side: Side, cluster: Cluster, load: LoadClient, body: string, seconds: number): Promise<Run> {
  const meter = cpuMeter({ client: load.pid, ...cluster.pids });
  // The loop-delay histograms start afresh as the warm-up starts; they are read when the run ends.
  await loopDelays(cluster.nodePids);
  const result = await load.command({ cmd: 'requestLoop', route: ROUTE, body, warmupSeconds: WARMUP_SECONDS, seconds });
  const loopP99 = Object.fromEntries(Object.entries(await loopDelays(cluster.nodePids)).map(([proc, stats]) => [proc, stats.p99]));
  const cpu = meter.stop();
  if ((cpu.other ?? 0) > BUSY_OTHER) busyRuns++;
  note(`chat ${side}: CPU ${formatCpu(cpu)}`);
  if (result.failures > 0) throw new Error(`${side}: ${result.failures} requests failed (connection closed or code other than 200)`);
  return { rate: result.responses / result.seconds, pushRate: result.pushes / result.seconds, p50: result.p50, p99: result.p99, p999: result.p999, loopP99 };
}

interface LoopDelay {
  seq: number;
  p99: number;
}

/**
 * Asks every process for its event-loop delay since the last ask (SIGUSR2 to bench/clients/loop-delay.cjs,
 * which writes <pid>.json and starts over), and waits until each has answered.
 */
async function loopDelays(pids: Record<string, number>): Promise<Record<string, LoopDelay>> {
  const read = (pid: number): LoopDelay | undefined => {
    try {
      return JSON.parse(readFileSync(join(loopDir!, `${pid}.json`), 'utf8')) as LoopDelay;
    } catch {
      return undefined;
    }
  };
  const before = Object.fromEntries(Object.entries(pids).map(([proc, pid]) => [proc, read(pid)?.seq ?? 0]));
  for (const pid of Object.values(pids)) signal(pid, 'SIGUSR2');
  const deadline = Date.now() + 10_000;
  const found: Record<string, LoopDelay> = {};
  for (const [proc, pid] of Object.entries(pids)) {
    for (;;) {
      const stats = read(pid);
      if (stats && stats.seq > before[proc]!) {
        found[proc] = stats;
        break;
      }
      if (Date.now() > deadline) throw new Error(`${proc} (pid ${pid}) did not report its event-loop delay within 10 s`);
      await sleep(20);
    }
  }
  return found;
}

function nodeArgs(variable: string): string[] {
  return (process.env[variable] ?? '').split(' ').filter(Boolean);
}

/** Short names for the processes of a cluster: gate, connector-1, connector-2, chat-1, chat-2, master. */
function shortName(serverId: string): string {
  return serverId.replace(/-server/, '').replace(/-1$/, (match) => (serverId.startsWith('gate') || serverId.startsWith('master') ? '' : match));
}

async function startShaddock(env: Record<string, string>): Promise<Cluster> {
  const cluster = await startShaddockChat(nats!.url, 'chat', env, shaddockAppDir);
  const gate = cluster.rows.find((server) => server.serverType === 'gate');
  if (!gate?.clientPort) throw new Error(`chat: shaddock's gate has no clientPort in shaddock list: ${JSON.stringify(cluster.rows)}`);
  const nodePids: Record<string, number> = { master: cluster.masterPid };
  for (const [id, pid] of Object.entries(cluster.pids)) nodePids[shortName(id)] = pid;
  return { gateUrl: `ws://127.0.0.1:${gate.clientPort}`, pids: { ...nodePids, 'nats-server': nats!.pid }, nodePids, stop: () => cluster.stop() };
}

async function startPinus(env: Record<string, string>): Promise<Cluster> {
  const ports = new Set<number>();
  while (ports.size < 10) ports.add(await freePort());
  const [master, gatePort, gateClient, c1, c1Client, c2, c2Client, chat1, chat2] = [...ports] as number[] as [number, number, number, number, number, number, number, number, number];
  const frontend = (id: string, port: number, clientPort: number) => ({ id, host: '127.0.0.1', port, clientHost: '127.0.0.1', clientPort, frontend: true });
  const cluster = await startPinusCluster(
    pinusAppDir,
    'chat',
    master,
    {
      gate: [frontend('gate-server-1', gatePort, gateClient)],
      connector: [frontend('connector-server-1', c1, c1Client), frontend('connector-server-2', c2, c2Client)],
      chat: [
        { id: 'chat-server-1', host: '127.0.0.1', port: chat1 },
        { id: 'chat-server-2', host: '127.0.0.1', port: chat2 },
      ],
    },
    env,
    nodeArgs('BENCH_PINUS_NODE_ARGS'),
  );
  const nodePids: Record<string, number> = { master: cluster.masterPid };
  for (const [id, pid] of Object.entries(cluster.pids)) nodePids[shortName(id)] = pid;
  return { gateUrl: `ws://127.0.0.1:${gateClient}`, pids: nodePids, nodePids, stop: () => cluster.stop() };
}
