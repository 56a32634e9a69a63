// RPC round trips per second between two processes: Shaddock's `app.rpc` next to plain nats.js
// request/reply on the same nats-server, one call in flight and 1,000 in flight. See bench/README.md.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createApp, type Application } from 'shaddock';
import { startEmbeddedNats, type EmbeddedNats } from '../src/actors/master/embedded-broker.ts';
import './apps/rpc/app/remotes.ts';
import { stopChild, STOP_GRACE } from './children.ts';
import { median, note, printRows, row, type ReportOptions, type Row } from './report.ts';

const appDir = join(import.meta.dirname, 'apps', 'rpc');
const rawEchoEntry = join(import.meta.dirname, 'apps', 'raw-echo.ts');
const tsx = import.meta.resolve('tsx');

const BASELINE = 'nats.js request/reply';
const UNIT = 'calls/s';
/** Subject of the baseline's echo; Shaddock's is `shaddock.<cluster>.rpc.echo-1`. */
const RAW_SUBJECT = 'bench.raw.echo';
const ROUTE_PARAM = 'bench';
const CALL_TIMEOUT = 10_000;
const WARMUP_CALLS = 2_000;
const ROUNDS = 3;
/** How long to wait for a process to come up (or to go away after SIGTERM). */
const START_TIMEOUT = 30_000;

const CASES = [
  { name: '1 in flight', inFlight: 1 },
  { name: '1,000 in flight', inFlight: 1_000 },
] as const;

/** The 128 bytes both sides send and get back. */
const PAYLOAD = Uint8Array.from({ length: 128 }, (_, i) => (i * 31 + 7) & 0xff);

type Call = () => Promise<unknown>;

const children = new Set<ChildProcess>();
let nats: EmbeddedNats | undefined;
/** Set once the results are printed: leaving before that (Ctrl-C stops `caller-1`, which exits 0) is a failure. */
let finished = false;

// Last resort (an error path that never reached the orderly stop, Ctrl-C, process.exit from
// the Shaddock lifecycle): nothing this bench started outlives it.
process.on('exit', () => {
  if (!finished && !process.exitCode) process.exitCode = 1;
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  if (nats) {
    try {
      process.kill(nats.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
});

export async function run(options: ReportOptions): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 3);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    note(`BENCH_SECONDS must be a positive number, not "${process.env.BENCH_SECONDS}"`);
    process.exit(1);
  }
  // The bench's own processes log warnings and errors only (Shaddock logs go to stdout).
  if (options.json || process.env.SHADDOCK_LOG_LEVEL === undefined) process.env.SHADDOCK_LOG_LEVEL = 'warn';
  process.env.SHADDOCK_ENV = 'development';

  let app: Application | undefined;
  let rawNc: NatsConnection | undefined;
  let failed = false;
  try {
    nats = await startEmbeddedNats();
    note(`rpc: nats-server ${nats.url} (pid ${nats.pid}), ${seconds} s per run, ${ROUNDS} rounds per side`);
    process.env.SHADDOCK_NATS_URL = nats.url;

    // The two callees: a Shaddock server process and a plain nats.js responder.
    const echoServer = startChild('echo-1', [join(appDir, 'app.ts')], {
      SHADDOCK_SERVER_ID: 'echo-1',
      SHADDOCK_SERVER_TYPE: 'echo',
      SHADDOCK_ENV: 'development',
      SHADDOCK_DIR: appDir,
      SHADDOCK_NATS_URL: nats.url,
    });
    const rawEcho = startChild('raw-echo', [rawEchoEntry], { BENCH_NATS_URL: nats.url, BENCH_SUBJECT: RAW_SUBJECT }, true);

    // The callers, both in this process: Shaddock server `caller-1`, and a plain connection.
    app = createApp({ base: appDir, serverId: 'caller-1', serverType: 'caller' });
    await app.start();
    const started = app;
    await waitFor(() => started.getServersByType('echo').length > 0, 'server echo-1 to join', echoServer);
    await waitForReady(rawEcho);
    rawNc = await connect({ servers: nats.url, name: 'bench-raw-caller', noAsyncTraces: true });
    const raw = rawNc;

    const sides: Record<'shaddock' | 'baseline', Call> = {
      shaddock: () => started.rpc.echo.echoRemote.echo(ROUTE_PARAM, PAYLOAD),
      baseline: () => raw.request(RAW_SUBJECT, PAYLOAD, { timeout: CALL_TIMEOUT }),
    };
    checkEcho('shaddock', await started.rpc.echo.echoRemote.echo(ROUTE_PARAM, PAYLOAD));
    checkEcho('baseline', (await raw.request(RAW_SUBJECT, PAYLOAD, { timeout: CALL_TIMEOUT })).data);

    const rows: Row[] = [];
    for (const { name, inFlight } of CASES) {
      await warmUp(sides.shaddock, inFlight);
      await warmUp(sides.baseline, inFlight);
      const results = { shaddock: [] as number[], baseline: [] as number[] };
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate which side goes first so drift (thermal, other load) hits both alike.
        const order = round % 2 === 0 ? (['shaddock', 'baseline'] as const) : (['baseline', 'shaddock'] as const);
        for (const side of order) {
          const rate = await measure(sides[side], inFlight, seconds);
          results[side].push(rate);
          note(`rpc ${name} round ${round + 1}/${ROUNDS} ${side}: ${Math.round(rate).toLocaleString('en-US')} ${UNIT}`);
        }
      }
      rows.push(
        row({ bench: 'rpc', case: name, shaddock: median(results.shaddock), baseline: BASELINE, baselineValue: median(results.baseline), unit: UNIT }),
      );
    }
    printRows(rows, options);
    finished = true;
  } catch (error) {
    failed = true;
    note(`rpc bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }

  // Orderly stop: the raw connection, the callees, then this process's Shaddock server (whose stop
  // ends with process.exit), and the nats-server last, once nothing needs it.
  try {
    await rawNc?.close();
  } catch {
    // closing anyway
  }
  await Promise.all([...children].map((child) => stopChild(child)));
  if (failed || !app) {
    await nats?.stop();
    process.exit(1);
  }
  const giveUp = setTimeout(() => {
    note('rpc: caller-1 did not stop in time');
    process.exit(1);
  }, START_TIMEOUT);
  await app.stop();
  clearTimeout(giveUp);
  // `app.stop()` resolved just before the lifecycle's process.exit (due on the next turn of the
  // event loop): send SIGTERM now and wait, synchronously, until the nats-server is dead.
  if (nats) {
    void nats.stop();
    waitDeadSync(nats.pid, STOP_GRACE);
  }
}

/**
 * Blocks until `pid` has exited (gone, or a zombie not yet reaped), at most `ms`. Synchronous on
 * purpose: it runs in the last microtask before the Shaddock lifecycle calls process.exit.
 */
function waitDeadSync(pid: number, ms: number): void {
  const tick = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return; // gone
    }
    try {
      // Field 3 of /proc/<pid>/stat is the state; "Z" means it has exited.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return;
    } catch {
      // no /proc (not Linux) or gone: fall back to kill(pid, 0) alone
    }
    Atomics.wait(tick, 0, 0, 10);
  }
}

/** Calls `call` until `WARMUP_CALLS` have answered, `inFlight` at a time. */
async function warmUp(call: Call, inFlight: number): Promise<void> {
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < WARMUP_CALLS) {
      started++;
      await call();
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, WARMUP_CALLS) }, worker));
}

/**
 * Calls per second over `seconds`, keeping `inFlight` calls outstanding at every moment: each of
 * `inFlight` loops sends its next call as soon as its last one answers (a window, not batches).
 * Only calls answered before the deadline count; the rest are awaited so the next run starts clean.
 */
async function measure(call: Call, inFlight: number, seconds: number): Promise<number> {
  let running = true;
  let done = 0;
  let elapsed = 0;
  const start = performance.now();
  const timer = setTimeout(() => {
    running = false;
    elapsed = performance.now() - start;
  }, seconds * 1000);
  const worker = async (): Promise<void> => {
    try {
      while (running) {
        await call();
        if (running) done++;
      }
    } catch (error) {
      running = false;
      throw error;
    }
  };
  try {
    await Promise.all(Array.from({ length: inFlight }, worker));
  } finally {
    clearTimeout(timer);
  }
  return done / (elapsed / 1000);
}

function checkEcho(side: string, reply: unknown): void {
  const bytes = reply as Uint8Array;
  if (!(reply instanceof Uint8Array) || bytes.length !== PAYLOAD.length || !bytes.every((b, i) => b === PAYLOAD[i])) {
    throw new Error(`${side}: the echo did not return the 128 bytes it was sent`);
  }
}

/**
 * `node [BENCH_NODE_ARGS] --import tsx <args>` with extra environment (BENCH_NODE_ARGS is for
 * profiling the callees, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"); its output goes to stderr.
 */
function startChild(label: string, args: string[], env: Record<string, string>, pipeStdout = false): ChildProcess {
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, '--import', tsx, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', pipeStdout ? 'pipe' : 2, 2],
  });
  children.add(child);
  child.once('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM') note(`rpc: ${label} (pid ${child.pid}) exited (code ${code}, signal ${signal})`);
  });
  return child;
}

/** Resolves once the child prints "ready" (raw-echo does, after its subscription is in place). */
function waitForReady(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`raw-echo not ready within ${START_TIMEOUT} ms`)), START_TIMEOUT);
    const onExit = (): void => {
      clearTimeout(timer);
      reject(new Error('raw-echo exited before it was ready'));
    };
    child.once('exit', onExit);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('ready')) {
        clearTimeout(timer);
        child.off('exit', onExit);
        child.stdout?.resume();
        resolve();
      }
    });
  });
}

/** Polls `condition` until it holds, failing after START_TIMEOUT or as soon as `child` exits. */
async function waitFor(condition: () => boolean, what: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT;
  while (!condition()) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`gave up waiting for ${what}: it exited`);
    if (Date.now() > deadline) throw new Error(`timed out after ${START_TIMEOUT} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

