import { execFile } from 'node:child_process';
import { after, before } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { fileURLToPath } from 'node:url';
import type { NatsConnection } from '@nats-io/transport-node';
import { startNats, type RunningService } from './services.ts';
import type { ServerRow } from '../../src/transport/wire.ts';
import { decode } from '../../src/transport/codec.ts';
import { subjects } from '../../src/transport/subjects.ts';
import type { ServerInfo } from '../../src/types.ts';
import { readRunFile } from '../../src/actors/master/run-file.ts';
import { isAlive } from '../../src/actors/runtime/watch.ts';

export { isAlive };

const cli = fileURLToPath(new URL('../../bin/shaddock.js', import.meta.url));
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `shaddock` CLI as a child process and collects its output. */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; timeout?: number } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { cwd: repoRoot, env: { ...process.env, SHADDOCK_LOG_LEVEL: 'warn', ...options.env }, timeout: options.timeout ?? 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * Waits for a process that is not our child to be gone. Node cannot wait on a foreign pid, so
 * this polls `kill(pid, 0)`; it is bounded and fails loudly.
 */
export async function waitForExit(pid: number, timeout = 15_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (isAlive(pid)) {
    if (Date.now() > deadline) throw new Error(`pid ${pid} still running after ${timeout} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Retries `probe` until it returns a value (not undefined), bounded by `timeout`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeout = 10_000): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A cluster started through the CLI in daemon mode, with what is needed to talk to it and clean it up. */
export interface TestCluster {
  dir: string;
  env: string;
  args: string[];
  list(): Promise<ServerRow[]>;
  /** Every pid this cluster is known to have (master and servers), for cleanup by pid. */
  pids(): Promise<number[]>;
  /** SIGKILLs whatever is left of the cluster and waits until those processes are gone. Safe to call twice. */
  destroy(): Promise<void>;
}

/**
 * Starts the cluster in `dir` with `shaddock start -D`; `options.env` is added to the environment
 * of the CLI, and so of the master and its servers. `natsUrl` undefined: master.json's `nats` (no `--nats`).
 */
export async function startCluster(dir: string, env: string, natsUrl: string | undefined, options: { env?: NodeJS.ProcessEnv } = {}): Promise<TestCluster> {
  const args = ['-d', dir, '-e', env, ...(natsUrl !== undefined ? ['--nats', natsUrl] : [])];
  const known = new Set<number>();
  const list = async (): Promise<ServerRow[]> => {
    const result = await runCli(['list', '--json', ...args]);
    if (result.code !== 0) throw new Error(`shaddock list failed: ${result.stderr}`);
    const rows = JSON.parse(result.stdout) as ServerRow[];
    for (const row of rows) if (row.pid) known.add(row.pid);
    return rows;
  };
  const cluster: TestCluster = {
    dir,
    env,
    args,
    list,
    async pids() {
      const master = readRunFile(dir, env)?.masterPid;
      if (master) known.add(master);
      return [...known];
    },
    async destroy() {
      // Learn the current pids first (a restarted server has a new one), then kill the master
      // before its servers, so nothing is restarted behind our back.
      await list().catch(() => undefined);
      const master = readRunFile(dir, env)?.masterPid;
      if (master && isAlive(master)) process.kill(master, 'SIGKILL');
      const pids = await cluster.pids();
      for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      // Until a killed process is reaped (not our child: that can take a second or more), it still
      // counts as alive, and the next test's `start` on the same app would see "a master is
      // already running".
      for (const pid of pids) await waitForExit(pid);
    },
  };
  // The web console on any free port (master.json's 3005 is for people; tests run side by side).
  const started = await runCli(['start', '-D', ...args], { env: { SHADDOCK_CONSOLE_PORT: '0', ...options.env } });
  if (started.code !== 0) {
    await cluster.destroy();
    throw new Error(`shaddock start -D failed (${started.code}): ${started.stdout}${started.stderr}`);
  }
  await list();
  return cluster;
}

/**
 * Resolves with the next heartbeat on the cluster's `hb` subject that `match` accepts: the event a
 * test waits for when a server comes up, comes back after a restart, or is adopted.
 */
export function nextHeartbeat(nc: NatsConnection, cluster: string, match: (info: ServerInfo) => boolean): Promise<ServerInfo> {
  return new Promise((resolve) => {
    const subscription = nc.subscribe(subjects('shaddock', cluster).heartbeat, {
      callback: (_error, msg) => {
        const info = decode<ServerInfo>(msg.data);
        if (!match(info)) return;
        subscription.unsubscribe();
        resolve(info);
      },
    });
  });
}

/**
 * A nats-server for the calling test file and a connection to it: started before the file's
 * tests, both closed after them (the server by pid). Read `url` and `nc` inside tests and hooks.
 */
export function useNats(): { readonly url: string; readonly nc: NatsConnection } {
  let nats: RunningService | undefined;
  let nc: NatsConnection | undefined;
  before(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
  });
  after(async () => {
    await nc?.close();
    await nats?.stop();
  });
  return {
    get url() {
      if (!nats) throw new Error('useNats: read url inside a test or hook');
      return nats.url;
    },
    get nc() {
      if (!nc) throw new Error('useNats: read nc inside a test or hook');
      return nc;
    },
  };
}
