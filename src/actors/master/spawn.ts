import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import type { ClusterConfig, ServerEntry } from '../../config/types.ts';

export interface SpawnServerOptions {
  /** The app entry (`app.ts` / `app.js`) every server runs. */
  entry: string;
  dir: string;
  env: string;
  /**
   * The cluster's config as the master validated it, with the NATS the master really uses (which
   * may be its embedded broker's). Passed to the server so it neither re-reads nor re-validates
   * the files; the admin token is left out, servers have no use for it.
   */
  config: ClusterConfig;
  /** The key the master signs control commands with (transport/control.ts), given in `SHADDOCK_CONTROL_KEY`. */
  controlKey?: string;
  /** The spawning master's epoch (fencing), given in `SHADDOCK_EPOCH`: the server obeys no older master. */
  epoch?: number;
  /** Automatic restarts of this server so far, given in `SHADDOCK_RESTARTS`: the server announces it, for a master that adopts it. */
  restarts?: number;
  /**
   * Where a server with `cpu` that cannot be bound is reported (once per process, whatever the
   * number of such servers). Default `console.warn`.
   */
  warn?: (message: string) => void;
  /**
   * The `taskset` executable used to bind servers with `cpu`, or `null` to never bind. Default:
   * looked up once on `PATH` (and in `/usr/bin`, `/bin`), and only on Linux.
   */
  taskset?: string | null;
}

const typescriptEntry = /\.(ts|mts|cts)$/;

/**
 * A CPU list as `taskset -c` and `/proc/<pid>/status` write it: consecutive indexes become a
 * range, e.g. `[0, 1]` → `0-1`, `[0, 2, 3]` → `0,2-3`. Order and duplicates in the input do not
 * matter.
 *
 * @throws {RangeError} for an empty list or an index that is not a non-negative integer.
 */
export function formatCpuList(cpus: readonly number[]): string {
  if (cpus.length === 0) throw new RangeError('empty CPU list');
  for (const cpu of cpus) {
    if (!Number.isSafeInteger(cpu) || cpu < 0) throw new RangeError(`not a CPU index: ${cpu}`);
  }
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  let start = sorted[0] as number;
  let end = start;
  for (const cpu of sorted.slice(1)) {
    if (cpu === end + 1) {
      end = cpu;
      continue;
    }
    parts.push(start === end ? `${start}` : `${start}-${end}`);
    start = end = cpu;
  }
  parts.push(start === end ? `${start}` : `${start}-${end}`);
  return parts.join(',');
}

/** `taskset`'s path: `undefined` until looked up, then a path or `null` (not Linux / not found). */
let foundTaskset: string | null | undefined;

/** Looks `taskset` up once per process (Linux only). */
function defaultTaskset(): string | null {
  if (foundTaskset === undefined) foundTaskset = process.platform === 'linux' ? findExecutable('taskset') : null;
  return foundTaskset;
}

function findExecutable(name: string): string | null {
  const dirs = (process.env['PATH'] ?? '').split(path.delimiter).filter((d) => d !== '');
  for (const dir of [...dirs, '/usr/bin', '/bin']) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** Set once the "cannot bind" warning has been given: it is given once per process. */
let warnedUnbound = false;

/** Every variable {@link serverIdentity} may set: a spare's environment has none of them. */
export const IDENTITY_VARIABLES = [
  'SHADDOCK_SERVER_ID',
  'SHADDOCK_SERVER_TYPE',
  'SHADDOCK_ENV',
  'SHADDOCK_DIR',
  'SHADDOCK_SERVER',
  'SHADDOCK_CONFIG',
  'SHADDOCK_CONTROL_KEY',
  'SHADDOCK_EPOCH',
  'SHADDOCK_RESTARTS',
] as const;

/** One of {@link IDENTITY_VARIABLES}. */
export type IdentityVariable = (typeof IDENTITY_VARIABLES)[number];

/**
 * What makes a process this server: the variables {@link serverCommand} adds to the master's
 * environment. A fresh server gets them in its environment; a warm spare (master/spares.ts) gets
 * them as one JSON line on stdin when it becomes the server.
 */
export function serverIdentity(server: ServerEntry, options: SpawnServerOptions): Partial<Record<IdentityVariable, string>> {
  return {
    SHADDOCK_SERVER_ID: server.id,
    SHADDOCK_SERVER_TYPE: server.serverType,
    SHADDOCK_ENV: options.env,
    SHADDOCK_DIR: options.dir,
    // The entry itself travels too: a server added at runtime (`shaddock add`) is in no file.
    SHADDOCK_SERVER: JSON.stringify(server),
    SHADDOCK_CONFIG: JSON.stringify({ ...options.config, master: { ...options.config.master, adminToken: undefined } }),
    ...(options.controlKey ? { SHADDOCK_CONTROL_KEY: options.controlKey } : {}),
    ...(options.epoch !== undefined ? { SHADDOCK_EPOCH: String(options.epoch) } : {}),
    ...(options.restarts !== undefined ? { SHADDOCK_RESTARTS: String(options.restarts) } : {}),
  };
}


/**
 * The command line of one server process: `node [server args] [--import tsx] <entry>`, with its
 * identity in the environment (Pomelo passed `id=... serverType=...` arguments; environment
 * variables keep the entry's own argv untouched).
 *
 * A server with `cpu` runs through `taskset -c <list> node ...` on Linux: taskset sets the
 * affinity and then execs node, so the process is bound from its first instruction and its pid
 * is node's. Where that is impossible (not Linux, no taskset) a single warning is given for the
 * whole process and the server runs unbound. Built afresh on every (re)start, so a restarted
 * server is bound again.
 *
 * With `spare` (the path of the warm spare's script, actors/app/spare.ts): the same command for a
 * warm spare of this server, `node [server args] [--import tsx] <spare> <entry>`, whose
 * environment is the master's without the identity (it comes later, on stdin). The loader is
 * added when the entry or the spare's script is TypeScript.
 */
export function serverCommand(server: ServerEntry, options: SpawnServerOptions, spare?: string): { command: string; args: string[]; env: NodeJS.ProcessEnv } {
  const typescript = typescriptEntry.test(options.entry) || (spare !== undefined && typescriptEntry.test(spare));
  const loader = typescript ? ['--import', import.meta.resolve('tsx')] : [];
  const nodeArgs = [...server.args, ...loader, ...(spare !== undefined ? [spare] : []), options.entry];
  let command = process.execPath;
  let args = nodeArgs;
  if (server.cpu !== undefined && server.cpu.length > 0) {
    const cpuList = formatCpuList(server.cpu);
    const taskset = options.taskset === undefined ? defaultTaskset() : options.taskset;
    if (taskset !== null) {
      command = taskset;
      args = ['-c', cpuList, process.execPath, ...nodeArgs];
    } else if (!warnedUnbound) {
      warnedUnbound = true;
      const why =
        process.platform !== 'linux'
          ? `CPU binding needs Linux (this is ${process.platform})`
          : options.taskset === null
            ? 'CPU binding is turned off'
            : 'taskset was not found on PATH (it comes with util-linux)';
      (options.warn ?? console.warn)(
        `${why}: server ${server.id} runs unbound (cpu ${cpuList}), as will every other server with "cpu"`,
      );
    }
  }
  if (spare === undefined) return { command, args, env: { ...process.env, ...serverIdentity(server, options) } };
  const env = { ...process.env };
  for (const name of IDENTITY_VARIABLES) delete env[name];
  return { command, args, env };
}

/**
 * Spawns one server process sharing the master's stdout and stderr (one log stream for the
 * cluster), bound to its `cpu` set if it has one (see {@link serverCommand}). Each server gets a
 * process group of its own: a Ctrl-C reaches only the master, which then stops the servers in
 * order (frontends first) instead of all of them at once.
 */
export function spawnServer(server: ServerEntry, options: SpawnServerOptions): ChildProcess {
  const { command, args, env } = serverCommand(server, options);
  return spawn(command, args, { env, stdio: ['ignore', 'inherit', 'inherit'], detached: true });
}
