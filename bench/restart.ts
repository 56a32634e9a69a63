// Time from `kill -9` of an auto-restart server to the restarted server answering RPC: Shaddock's
// master next to a bare fork-and-refork supervisor, interleaved in the same run. See bench/README.md.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { ServerRow } from '../src/transport/wire.ts';
import { readRunFile } from '../src/actors/master/run-file.ts';
import { loadConfig } from '../src/config/index.ts';
import { decode, encode } from '../src/transport/codec.ts';
import { startEmbeddedNats, type EmbeddedNats } from '../src/actors/master/embedded-broker.ts';
import { alive } from './clients/system.ts';
import { subjects as buildSubjects } from '../src/transport/subjects.ts';
import { stopChild } from './children.ts';
import { median, note, printRows, row, type ReportOptions } from './report.ts';

const appDir = join(import.meta.dirname, 'apps', 'restart');
const supervisorEntry = join(import.meta.dirname, 'apps', 'bare-supervisor.mjs');
const root = join(import.meta.dirname, '..');
const cli = join(root, 'bin', 'shaddock.js');

const ENV = 'development';
const SERVER_ID = 'echo-1';
/** The same server with `"warm-spare": true`: its restarts start in a process booted ahead. */
const SPARE_ID = 'echo-2';
const CASE = (kills: number, side: 'shaddock' | 'spare'): string => `kill -9 to answering RPC${side === 'spare' ? ', warm spare' : ''} (median of ${kills})`;
const BASELINE = 'bare fork supervisor';
const UNIT = 'ms';
/** Subject the baseline's child answers on; Shaddock's is `shaddock.<cluster>.rpc.echo-1`. */
const BARE_SUBJECT = 'bench.restart.echo';
/** The probe: a request is retried every PROBE_INTERVAL ms (each waits at most PROBE_TIMEOUT) until the new process answers. */
const PROBE_INTERVAL = 5;
const PROBE_TIMEOUT = 50;
/** A restart that has not answered after this long fails the bench. */
const RESTART_TIMEOUT = 30_000;
/** Extra ms past `resetAfter` to wait between kills, so each restart uses the first backoff. */
const SETTLE_MARGIN = 200;
/** Unmeasured kills per side before the measured ones (first-run costs: V8 code, page cache). */
const WARMUP_KILLS = 1;
const START_TIMEOUT = 60_000;
/** The embedding issue's goal: Shaddock's median ≤ TARGET_FACTOR × the baseline's + the first backoff, both on plain node. */
const TARGET_FACTOR = 1.2;

type Side = 'shaddock' | 'spare' | 'baseline';
const SIDES: readonly Side[] = ['shaddock', 'spare', 'baseline'];
const SERVER_OF = { shaddock: SERVER_ID, spare: SPARE_ID } as const;

/** One measured restart, with epoch-ms stamps for the phase breakdown (BENCH_PHASES=1). */
interface Sample {
  ms: number;
  killedPid: number;
  newPid: number;
  killAt: number;
  answerAt: number;
}

// Everything this bench started, for the last-resort cleanup: pids by role.
let nats: EmbeddedNats | undefined;
let supervisor: ChildProcess | undefined;
let masterPid: number | undefined;
/** Every pid seen for the Shaddock server (heartbeats, `list`) and the bare supervisor's children. */
const serverPids = new Set<number>();
const bareChildPids = new Set<number>();
let finished = false;

/** Synchronous last resort: SIGKILL whatever is left, master first so that nothing is restarted. */
function killLeftovers(): void {
  const kill = (pid: number | undefined, signal: NodeJS.Signals = 'SIGKILL'): void => {
    if (pid === undefined) return;
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  };
  kill(masterPid);
  for (const pid of serverPids) kill(pid);
  if (supervisor && supervisor.exitCode === null && supervisor.signalCode === null) kill(supervisor.pid);
  for (const pid of bareChildPids) kill(pid);
  if (nats) kill(nats.pid, 'SIGTERM');
}

process.on('exit', () => {
  if (!finished && !process.exitCode) process.exitCode = 1;
  killLeftovers();
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    note(`restart: ${signal}, stopping everything`);
    process.exit(1);
  });
}

export async function run(options: ReportOptions): Promise<void> {
  const kills = Number(process.env.BENCH_KILLS ?? 20);
  if (!Number.isSafeInteger(kills) || kills <= 0) {
    note(`BENCH_KILLS must be a positive integer, not "${process.env.BENCH_KILLS}"`);
    process.exit(1);
  }
  const phases = process.env.BENCH_PHASES === '1';
  // Shaddock's processes log warnings and errors only, unless the phase breakdown needs their info lines.
  process.env.SHADDOCK_LOG_LEVEL = phases ? 'info' : (process.env.SHADDOCK_LOG_LEVEL ?? 'warn');

  let nc: NatsConnection | undefined;
  let failed = false;
  try {
    // Both sides run on plain node: Shaddock's CLI, master and server run the compiled package.
    execFileSync('bash', [join(root, 'scripts', 'build-if-stale.sh')], { stdio: ['ignore', 2, 2] });
    nats = await startEmbeddedNats();
    const url = nats.url;
    const config = await loadConfig({ dir: appDir, env: ENV, natsUrl: url });
    const policy = config.master.restart;
    const subjects = buildSubjects(config.master.prefix, config.master.cluster);
    const settle = policy.resetAfter + SETTLE_MARGIN;
    note(`restart: nats-server ${url} (pid ${nats.pid}), ${kills} kills per side (+${WARMUP_KILLS} warm-up), first backoff ${policy.initialDelay} ms, resetAfter ${policy.resetAfter} ms`);

    nc = await connect({ servers: url, name: 'bench-restart', noAsyncTraces: true });
    const conn = nc;
    // Every pid the server has had, from its heartbeats: what to kill if the bench dies.
    conn.subscribe(subjects.heartbeat, {
      callback: (error, msg) => {
        if (error) return;
        const info = decode<{ id?: string; pid?: number }>(msg.data);
        if ((info.id === SERVER_ID || info.id === SPARE_ID) && typeof info.pid === 'number') serverPids.add(info.pid);
      },
    });

    // Shaddock: the real CLI starts the master in the background, which starts echo-1.
    const logFile = join(appDir, 'logs', `shaddock-${ENV}.log`);
    const logOffset = fileSize(logFile);
    await runCli(['start', '-D', '-d', appDir, '-e', ENV, '--nats', url], START_TIMEOUT);
    const runFile = readRunFile(appDir, ENV);
    if (!runFile) throw new Error(`the master left no run file in ${appDir}/.shaddock`);
    masterPid = runFile.masterPid;
    const list = async (id: string): Promise<ServerRow> => {
      const reply = decode<{ ok: boolean; result?: ServerRow[]; error?: string }>(
        (await conn.request(subjects.admin, encode({ command: 'list', token: runFile.adminToken }), { timeout: 5_000 })).data,
      );
      if (!reply.ok || !reply.result) throw new Error(`list failed: ${reply.error}`);
      const server = reply.result.find((r) => r.id === id);
      if (!server) throw new Error(`list has no ${id}`);
      if (server.pid !== null) serverPids.add(server.pid);
      return server;
    };
    const shaddockProbe = encode({ remote: 'echoRemote', method: 'echo', args: ['bench'] });
    const shaddockPid = (data: Uint8Array): number | undefined => {
      const reply = decode<{ ok: boolean; result?: { pid?: number } }>(data);
      return reply.ok ? reply.result?.pid : undefined;
    };

    // Baseline: the bare supervisor and its child.
    const bare = startSupervisor(url);
    const firstBare = await bare.nextReady(START_TIMEOUT);
    let barePid = firstBare.pid;

    const restartShaddock = async (id: string): Promise<Sample> => {
      // Connected for longer than resetAfter: the supervisor is back at the first backoff.
      const deadline = Date.now() + START_TIMEOUT;
      let current = await list(id);
      while (current.state !== 'connected' || current.pid === null || (current.uptime ?? 0) < settle || (id === SPARE_ID && spareOf(masterPid!, current.pid) === undefined)) {
        if (Date.now() > deadline) throw new Error(`${id} not settled: ${JSON.stringify(current)}`);
        await sleep(current.state === 'connected' && current.uptime !== null ? Math.max(10, settle - current.uptime) : 50);
        current = await list(id);
      }
      const killedPid = current.pid;
      const spare = id === SPARE_ID ? spareOf(masterPid!, killedPid) : undefined;
      const sample = await timeRestart(conn, subjects.rpc(id), shaddockProbe, shaddockPid, killedPid);
      if (spare !== undefined && sample.newPid !== spare) throw new Error(`${id} restarted in pid ${sample.newPid}, not in its warm spare (pid ${spare})`);
      if (spare !== undefined) serverPids.add(spare);
      return sample;
    };
    let bareAnsweredAt = performance.now();
    const restartBaseline = async (): Promise<Sample> => {
      // The same rest between kills as Shaddock's server gets.
      const rest = settle - (performance.now() - bareAnsweredAt);
      if (rest > 0) await sleep(rest);
      const ready = bare.nextReady(RESTART_TIMEOUT);
      ready.catch(() => {}); // awaited below; if the kill or the probe fails first, the bench fails on that
      const sample = await timeRestart(conn, BARE_SUBJECT, new Uint8Array(0), (data) => Number(new TextDecoder().decode(data)), barePid);
      bareAnsweredAt = performance.now();
      barePid = (await ready).pid;
      if (barePid !== sample.newPid) throw new Error(`baseline: answered by pid ${sample.newPid}, but pid ${barePid} said ready`);
      return sample;
    };
    const restart: Record<Side, () => Promise<Sample>> = { shaddock: () => restartShaddock(SERVER_ID), spare: () => restartShaddock(SPARE_ID), baseline: restartBaseline };
    assertPlainNode(`Shaddock server ${SERVER_ID}`, (await list(SERVER_ID)).pid!);
    assertPlainNode(`Shaddock server ${SPARE_ID}`, (await list(SPARE_ID)).pid!);
    assertPlainNode('bare child', firstBare.pid);

    const samples: Record<Side, Sample[]> = { shaddock: [], spare: [], baseline: [] };
    for (let i = 0; i < WARMUP_KILLS + kills; i++) {
      const warmUp = i < WARMUP_KILLS;
      // Alternate the order so drift (other load, thermal) hits every side alike.
      const order: Side[] = i % 2 === 0 ? [...SIDES] : [...SIDES].reverse();
      for (const side of order) {
        const sample = await restart[side]();
        if (!warmUp) samples[side].push(sample);
        const label = warmUp ? 'warm-up' : `${i - WARMUP_KILLS + 1}/${kills}`;
        note(`restart ${label} ${side}: ${sample.ms.toFixed(1)} ms (pid ${sample.killedPid} → ${sample.newPid})`);
      }
    }

    const baseline = median(samples.baseline.map((s) => s.ms));
    const target = TARGET_FACTOR * baseline + policy.initialDelay;
    const medians = { shaddock: median(samples.shaddock.map((s) => s.ms)), spare: median(samples.spare.map((s) => s.ms)) };
    printRows(
      (['shaddock', 'spare'] as const).map((side) => row({ bench: 'restart', case: CASE(kills, side), shaddock: medians[side], baseline: BASELINE, baselineValue: baseline, unit: UNIT })),
      options,
    );
    for (const side of ['shaddock', 'spare'] as const) {
      note(
        `restart target (${CASE(kills, side)}): median ${medians[side].toFixed(1)} ms ≤ ${TARGET_FACTOR} × baseline ${baseline.toFixed(1)} ms + first backoff ${policy.initialDelay} ms = ${target.toFixed(1)} ms: ` +
          (medians[side] <= target ? 'holds' : 'DOES NOT HOLD'),
      );
    }
    for (const side of SIDES) {
      const ms = samples[side].map((s) => s.ms).sort((a, b) => a - b);
      note(`restart ${side}: min ${ms[0]!.toFixed(1)}, median ${median(ms).toFixed(1)}, max ${ms[ms.length - 1]!.toFixed(1)} ms`);
    }

    // Each measured restart must have waited the first backoff, else the comparison is off.
    const delays = restartDelays(logFile, logOffset);
    const other = delays.filter((delay) => delay !== policy.initialDelay);
    if (delays.length > 0 && other.length > 0) note(`restart: WARNING: backoffs other than ${policy.initialDelay} ms in the master's log: ${other.join(', ')}`);
    else if (delays.length > 0) note(`restart: all ${delays.length} restarts in the master's log waited ${policy.initialDelay} ms`);
    if (phases) {
      printShaddockPhases(logFile, logOffset, samples.shaddock);
      printBasePhases(bare.readyLog, samples.baseline);
    }
    finished = true;
  } catch (error) {
    failed = true;
    note(`restart bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }

  // Orderly stop, also after a failure: the cluster through the CLI, the bare supervisor (which
  // stops its child), then the probe connection and the nats-server. Whatever is left is SIGKILLed.
  if (masterPid !== undefined) {
    try {
      await runCli(['stop', '-d', appDir, '-e', ENV, '--nats', nats!.url], 60_000);
    } catch (error) {
      failed = true;
      note(`restart: stop failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (supervisor) await stopChild(supervisor);
  try {
    await nc?.close();
  } catch {
    // closing anyway
  }
  const left = [...serverPids, ...bareChildPids, ...(masterPid !== undefined ? [masterPid] : [])].filter(alive);
  if (left.length > 0) {
    note(`restart: processes still alive after the stop, killing them: ${left.join(', ')}`);
    failed = true;
  }
  killLeftovers();
  await nats?.stop();
  if (failed) process.exit(1);
}

/**
 * Kills `pid` with SIGKILL and retries a request on `subject` (every PROBE_INTERVAL ms) until a
 * process other than `pid` answers it; returns the time between the two.
 */
async function timeRestart(nc: NatsConnection, subject: string, probe: Uint8Array, pidOf: (data: Uint8Array) => number | undefined, pid: number): Promise<Sample> {
  // Make sure the process to kill is the one answering now, so the answer after the kill is the new one's.
  const before = pidOf((await nc.request(subject, probe, { timeout: 5_000 })).data);
  if (before !== pid) throw new Error(`${subject} is answered by pid ${before}, expected ${pid}`);
  const killAt = Date.now();
  const start = performance.now();
  process.kill(pid, 'SIGKILL');
  for (;;) {
    try {
      const msg = await nc.request(subject, probe, { timeout: PROBE_TIMEOUT });
      const newPid = pidOf(msg.data);
      if (newPid !== undefined && newPid !== pid) {
        const ms = performance.now() - start;
        return { ms, killedPid: pid, newPid, killAt, answerAt: Date.now() };
      }
    } catch {
      // No responders (nobody subscribed yet) or a timeout: not back yet.
    }
    if (performance.now() - start > RESTART_TIMEOUT) throw new Error(`${subject}: no answer within ${RESTART_TIMEOUT} ms of killing pid ${pid}`);
    await sleep(PROBE_INTERVAL);
  }
}

interface BareSupervisor {
  /** Resolves with the next child that says it is ready. */
  nextReady(timeout: number): Promise<{ pid: number; forkedAt: number; readyAt: number }>;
  /** Every ready line so far: child pid, when it was forked, when it said ready (epoch ms, parent's clock). */
  readyLog: { pid: number; forkedAt: number; readyAt: number }[];
}

/** Spawns bench/apps/bare-supervisor.mjs on plain node, which prints "ready <pid> <forkedAt> <readyAt>" per child. */
function startSupervisor(url: string): BareSupervisor {
  const child = spawn(process.execPath, [supervisorEntry], {
    env: { ...process.env, BENCH_NATS_URL: url, BENCH_SUBJECT: BARE_SUBJECT },
    stdio: ['ignore', 'pipe', 2],
  });
  supervisor = child;
  const readyLog: BareSupervisor['readyLog'] = [];
  const waiters: ((ready: BareSupervisor['readyLog'][number]) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const [word, pid, forkedAt, readyAt] = line.split(' ');
    if (word !== 'ready') return;
    const ready = { pid: Number(pid), forkedAt: Number(forkedAt), readyAt: Number(readyAt) };
    bareChildPids.add(ready.pid);
    readyLog.push(ready);
    waiters.shift()?.(ready);
  });
  child.once('exit', (code, signal) => {
    if (code !== 0) note(`restart: bare supervisor (pid ${child.pid}) exited (code ${code}, signal ${signal})`);
  });
  return {
    readyLog,
    nextReady: (timeout) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`bare supervisor: no child ready within ${timeout} ms`)), timeout);
        waiters.push((ready) => {
          clearTimeout(timer);
          resolve(ready);
        });
      }),
  };
}

/**
 * The pid of the master's warm spare, if it has one now: a child of the master running
 * actors/app/spare.js other than `server` (a server that started in a spare keeps that command line).
 */
function spareOf(master: number, server: number | null): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === server) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${name}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]);
      if (ppid === master && /actors\/app\/spare\.js/.test(readFileSync(`/proc/${name}/cmdline`, 'utf8'))) return Number(name);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** Fails the bench unless process `pid` runs on plain node: no tsx in its command line or NODE_OPTIONS. */
function assertPlainNode(what: string, pid: number): void {
  const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  const nodeOptions = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((v) => v.startsWith('NODE_OPTIONS=')) ?? '';
  if (/tsx/.test(cmdline + nodeOptions)) throw new Error(`${what} (pid ${pid}) runs under tsx, not plain node: ${cmdline} ${nodeOptions}`);
}

/** Runs the Shaddock CLI (`bin/shaddock.js`) and waits for it to succeed; its output goes to stderr. */
function runCli(args: string[], timeout: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 2, 2], env: process.env });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`shaddock ${args[0]} did not finish within ${timeout} ms`));
    }, timeout);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`shaddock ${args.join(' ')} failed (code ${code}, signal ${signal})`));
    });
  });
}


function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

interface LogLine {
  time: number;
  msg: string;
  pid: number;
  serverId: string;
  delay?: number;
  serverPid?: number;
}

/** The master's log lines (JSON, pino) written since `offset`: the cluster logs into one file. */
function logLines(file: string, offset: number): LogLine[] {
  let text: string;
  try {
    text = readFileSync(file).subarray(offset).toString('utf8');
  } catch {
    return [];
  }
  const lines: LogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(line) as LogLine);
    } catch {
      // not a log line
    }
  }
  return lines;
}

/** The backoff of each restart the master logged ("server echo-1 restarting in 100 ms"). */
function restartDelays(file: string, offset: number): number[] {
  return logLines(file, offset)
    .filter((line) => line.msg.startsWith(`server ${SERVER_ID} restarting in`) && typeof line.delay === 'number')
    .map((line) => line.delay!);
}

/**
 * Where a Shaddock restart's time goes, from the cluster's info log lines (BENCH_PHASES=1): kill →
 * the master sees the exit → the backoff ends and the process is spawned → the new process logs its
 * first line (`lifecycle booting`: node, imports) → NATS connected
 * (`lifecycle starting`) → remotes loaded, subscribed (`lifecycle running`) → the probe's answer.
 * Medians per phase, in ms (log times are whole ms).
 */
function printShaddockPhases(file: string, offset: number, samples: Sample[]): void {
  const lines = logLines(file, offset);
  const phases: Record<string, number[]> = {};
  const add = (name: string, from: number | undefined, to: number | undefined): void => {
    if (from === undefined || to === undefined) return;
    (phases[name] ??= []).push(to - from);
  };
  const after = (at: number, test: (line: LogLine) => boolean): number | undefined => lines.find((line) => line.time >= at && test(line))?.time;
  for (const s of samples) {
    const crashed = after(s.killAt, (l) => l.msg === `server ${SERVER_ID} crashed` || l.msg === `server ${SERVER_ID} exited`);
    const spawned = crashed === undefined ? undefined : after(crashed, (l) => l.msg === `server ${SERVER_ID} starting`);
    const booting = after(s.killAt, (l) => l.pid === s.newPid && l.msg === 'lifecycle booting');
    const starting = after(s.killAt, (l) => l.pid === s.newPid && l.msg === 'lifecycle starting');
    const running = after(s.killAt, (l) => l.pid === s.newPid && l.msg === 'lifecycle running');
    const connected = after(s.killAt, (l) => l.msg === `server ${SERVER_ID} connected` && l.serverPid === s.newPid);
    add('kill → master sees the exit', s.killAt, crashed);
    add('exit → spawn (backoff)', crashed, spawned);
    add('spawn → first log line (node, imports)', spawned, booting);
    add('booting → starting (NATS connect)', booting, starting);
    add('starting → running (remotes, subscribe, flush)', starting, running);
    add('running → probe answered', running, s.answerAt);
    add('(running → master sees it connected)', running, connected);
    add('total (Date.now)', s.killAt, s.answerAt);
  }
  note(`restart shaddock phases (median ms over ${samples.length} restarts):`);
  for (const [name, values] of Object.entries(phases)) note(`  ${name.padEnd(54)} ${median(values).toFixed(1).padStart(7)}  (n=${values.length})`);
}

/** The baseline's phases: kill → re-fork (exit seen at once) → child ready (node, nats.js, NATS) → answered. */
function printBasePhases(readyLog: BareSupervisor['readyLog'], samples: Sample[]): void {
  const phases: Record<string, number[]> = {};
  const add = (name: string, value: number): void => void (phases[name] ??= []).push(value);
  for (const s of samples) {
    const ready = readyLog.find((r) => r.pid === s.newPid);
    if (!ready) continue;
    add('kill → fork', ready.forkedAt - s.killAt);
    add('fork → child ready (node, imports, NATS connect, subscribe)', ready.readyAt - ready.forkedAt);
    add('ready → probe answered', s.answerAt - ready.readyAt);
    add('total (Date.now)', s.answerAt - s.killAt);
  }
  note(`restart baseline phases (median ms over ${samples.length} restarts):`);
  for (const [name, values] of Object.entries(phases)) note(`  ${name.padEnd(54)} ${median(values).toFixed(1).padStart(7)}  (n=${values.length})`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
