// How the connector and broadcast benches run this app: through the real CLI, like
// bench/restart.ts (`shaddock start -D -e bench --nats <the bench's nats-server>`), the frontend's
// bound clientPort and every pid from `shaddock list --json`, and `shaddock stop` at the end with
// every pid it ever saw SIGKILLed if still alive.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { ServerRow } from 'shaddock';
import { readRunFile } from '../../../src/actors/master/run-file.ts';
import { alive, signal, sleep } from '../../clients/system.ts';

export const appDir = import.meta.dirname;
const cli = join(import.meta.dirname, '..', '..', '..', 'bin', 'shaddock.js');
export const ENV = 'bench';
const START_TIMEOUT = 60_000;

export interface ShaddockCluster {
  masterPid: number;
  /** Every server's pid, by id (from `shaddock list`). */
  pids: Record<string, number>;
  /** The connector frontend's `ws://127.0.0.1:<clientPort>`. */
  url: string;
  frontendPid: number;
  /** Every server as `shaddock list --json` showed it after the start. */
  rows: ServerRow[];
  stop(): Promise<void>;
}

/** Every pid any cluster of this module started, for a last-resort SIGKILL on exit. */
export const everyPid = new Set<number>();

/**
 * Starts the cluster of the app in `dir` (this one unless given another, such as the chat bench's
 * ../shaddock-chatofpomelo); `env` is added to the environment of the CLI, and so of the master and every
 * server; BENCH_SHADDOCK_NODE_OPTIONS adds to its NODE_OPTIONS (for profiling use BENCH_CPU_PROF_DIR, see ../cpu-profile.ts:
 * --cpu-prof is not allowed in NODE_OPTIONS).
 */
export async function startShaddockChat(natsUrl: string, label: string, env: Record<string, string> = {}, dir: string = appDir): Promise<ShaddockCluster> {
  const options = process.env.BENCH_SHADDOCK_NODE_OPTIONS;
  if (options) env = { ...env, NODE_OPTIONS: [env.NODE_OPTIONS, options].filter(Boolean).join(' ') };
  await runCli(['start', '-D', '-d', dir, '-e', ENV, '--nats', natsUrl], START_TIMEOUT, false, env);
  const runFile = readRunFile(dir, ENV);
  if (!runFile) throw new Error(`${label}: the master left no run file in ${dir}/.shaddock`);
  everyPid.add(runFile.masterPid);
  const rows = await listRows(natsUrl, dir);
  const pids: Record<string, number> = {};
  for (const row of rows) {
    if (row.pid !== null) {
      pids[row.id] = row.pid;
      everyPid.add(row.pid);
    }
  }
  const frontend = rows.find((row) => row.frontend && row.clientPort);
  if (!frontend || frontend.pid === null || !frontend.clientPort) throw new Error(`${label}: no frontend with a clientPort in shaddock list: ${JSON.stringify(rows)}`);
  const notConnected = rows.filter((row) => row.state !== 'connected' && row.id !== runFile.masterId);
  if (notConnected.length > 0) throw new Error(`${label}: servers not connected after start: ${JSON.stringify(notConnected)}`);
  let stopped = false;
  return {
    masterPid: runFile.masterPid,
    pids,
    url: `ws://127.0.0.1:${frontend.clientPort}`,
    frontendPid: frontend.pid,
    rows,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await runCli(['stop', '-d', dir, '-e', ENV, '--nats', natsUrl], START_TIMEOUT);
      } finally {
        const left = [runFile.masterPid, ...Object.values(pids)];
        const deadline = Date.now() + 5_000;
        while (left.some(alive) && Date.now() < deadline) await sleep(50);
        for (const pid of left.filter(alive)) signal(pid, 'SIGKILL');
      }
    },
  };
}

/** `shaddock list --json`. */
async function listRows(natsUrl: string, dir: string): Promise<ServerRow[]> {
  const output = await runCli(['list', '--json', '-d', dir, '-e', ENV, '--nats', natsUrl], START_TIMEOUT, true);
  return JSON.parse(output) as ServerRow[];
}

/** Runs `bin/shaddock.js`; its output goes to stderr unless `capture`, then stdout is returned. */
function runCli(args: string[], timeout: number, capture = false, env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', capture ? 'pipe' : 2, 2], env: { ...process.env, ...env } });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`shaddock ${args[0]} did not finish within ${timeout} ms`));
    }, timeout);
    child.once('error', reject);
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`shaddock ${args.join(' ')} failed (code ${code}, signal ${sig})`));
    });
  });
}
