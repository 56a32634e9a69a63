// Starts a pinus app of bench/apps (the connector bench's pinus-chat, the chat bench's
// pinus-chatofpomelo) the way pinus runs outside `development`: a fresh base directory holding the
// generated config (free loopback ports, chosen by the caller) and a link to the app's handlers,
// then `node <app>/app.js env=bench` there, which is pinus's master; it spawns the servers itself
// (detached). Every process writes its pid into <base>/pids; stopping sends SIGTERM, then SIGKILL,
// to those and to any process whose environment names the base directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep, stopPids } from '../clients/system.ts';
import { note } from '../report.ts';

const START_TIMEOUT = 60_000;

/** One server of pinus's servers.json. */
export interface PinusServer {
  id: string;
  host: string;
  port: number;
  clientHost?: string;
  clientPort?: number;
  frontend?: boolean;
}

export interface PinusCluster {
  base: string;
  masterPid: number;
  /** Every server's pid, by id. */
  pids: Record<string, number>;
  stop(): Promise<void>;
}

/** Every pid and base directory any cluster of this module started, for a last-resort cleanup. */
export const pinusPids = new Set<number>();
const bases = new Set<string>();

/** SIGKILLs what is left of every pinus cluster started here and removes their directories. */
export function killPinusLeftovers(kill: (pid: number) => void): void {
  for (const base of bases) {
    for (const pid of [...pinusPids, ...pinusProcesses(base)]) kill(pid);
    rmSync(base, { recursive: true, force: true });
  }
  bases.clear();
}

/**
 * @param appDir the app (its app.js and app/)
 * @param servers servers.json's environment `bench`: server type → servers
 * @param env added to the master's environment (and so to every server's)
 */
export async function startPinusCluster(appDir: string, label: string, masterPort: number, servers: Record<string, PinusServer[]>, env: Record<string, string>, nodeArgs: string[] = []): Promise<PinusCluster> {
  const base = mkdtempSync(join(tmpdir(), 'shaddock-bench-pinus-'));
  bases.add(base);
  symlinkSync(join(appDir, 'app'), join(base, 'app'));
  mkdirSync(join(base, 'config'));
  const json = (name: string, value: unknown): void => writeFileSync(join(base, 'config', name), `${JSON.stringify(value, null, 2)}\n`);
  json('master.json', { bench: { id: 'master-server-1', host: '127.0.0.1', port: masterPort } });
  json('servers.json', { bench: servers });
  // Warnings and errors only, on the console (the bench sends pinus's output to stderr).
  json('log4js.json', { appenders: { console: { type: 'console' } }, categories: { default: { appenders: ['console'], level: 'warn' } } });

  const master: ChildProcess = spawn(process.execPath, [...nodeArgs, join(appDir, 'app.js'), 'env=bench'], {
    cwd: base,
    env: { ...process.env, ...env, BENCH_PINUS_BASE: base, NODE_ENV: 'bench' },
    stdio: ['ignore', 2, 2],
  });
  let stopping = false;
  if (master.pid !== undefined) pinusPids.add(master.pid);
  master.once('exit', (code, sig) => {
    if (!stopping) note(`${label}: pinus master (pid ${master.pid}) exited (code ${code}, signal ${sig})`);
  });

  // The servers are up once each has written its pid.
  const pidOf = (id: string): number | undefined => {
    try {
      return Number(readFileSync(join(base, 'pids', `${id}.pid`), 'utf8'));
    } catch {
      return undefined;
    }
  };
  const ids = Object.values(servers).flatMap((list) => list.map((server) => server.id));
  const deadline = Date.now() + START_TIMEOUT;
  while (ids.some((id) => pidOf(id) === undefined)) {
    if (master.exitCode !== null || master.signalCode !== null) throw new Error(`${label}: pinus master exited during start-up`);
    if (Date.now() > deadline) throw new Error(`${label}: pinus servers did not start within ${START_TIMEOUT} ms`);
    await sleep(50);
  }
  const pids: Record<string, number> = {};
  for (const id of ids) {
    pids[id] = pidOf(id)!;
    pinusPids.add(pids[id]);
  }
  return {
    base,
    masterPid: master.pid!,
    pids,
    async stop() {
      stopping = true;
      await stopPids([...new Set([master.pid!, ...Object.values(pids), ...pinusProcesses(base)])]);
      rmSync(base, { recursive: true, force: true });
      bases.delete(base);
    },
  };
}

/** Every process whose environment names this base directory (pinus's master and what it spawned). */
function pinusProcesses(base: string): number[] {
  const found: number[] = [];
  const marker = `BENCH_PINUS_BASE=${base}\0`;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(marker)) found.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}
