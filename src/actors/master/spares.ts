import { spawn, type ChildProcess } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerEntry } from '../../config/types.ts';
import type { Logger } from '../../logger.ts';
import { serverCommand, serverIdentity, spawnServer, type SpawnServerOptions } from './spawn.ts';

/** The spare's script, next to this module's own build: actors/app/spare.js (spare.ts from the sources). */
const spareScript = fileURLToPath(new URL(`../app/spare${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

interface Spare {
  child: ChildProcess;
  /** What it was spawned for: its command line and its server's identity but the restart count. */
  key: string;
  /** Its 'spawn' event came (it runs), and it has not exited. */
  ready: boolean;
}

/**
 * Warm spares of the servers with `warm-spare: true`: for each, one process that has booted node
 * and loaded Shaddock's modules (actors/app/spare.ts) and waits to become the server. A (re)start
 * of the server takes it, if it is alive and was spawned for the same entry, epoch and config,
 * by writing it the server's identity; the next spare is spawned once the server is connected
 * again, so that it does not compete with the restart for CPU. A spare is never a server of the
 * cluster: the master lists and supervises only what it took.
 */
export class WarmSpares {
  private readonly spares = new Map<string, Spare>();

  constructor(private readonly logger: Logger) {}

  /**
   * The process a (re)start of `entry` runs in: its spare when it has a usable one (given as
   * `{ running }`, since it has spawned already), else a freshly spawned one.
   */
  spawn(entry: ServerEntry, options: SpawnServerOptions): ChildProcess | { running: ChildProcess } {
    const spare = this.spares.get(entry.id);
    if (spare) this.spares.delete(entry.id);
    if (spare?.ready && spare.key === keyOf(entry, options) && spare.child.stdin?.writable) {
      spare.child.stdin.end(`${JSON.stringify(serverIdentity(entry, options))}\n`);
      this.logger.info({ server: entry.id, serverPid: spare.child.pid }, `server ${entry.id} starts in its warm spare (pid ${spare.child.pid})`);
      return { running: spare.child };
    }
    if (spare) this.kill(spare);
    return spawnServer(entry, options);
  }

  /**
   * Keeps one spare ready for `entry`, spawned for these options (one spawned for others is
   * replaced). Called while its server is connected; does nothing when the spare is there.
   */
  keep(entry: ServerEntry, options: SpawnServerOptions): void {
    const spare = this.spares.get(entry.id);
    const key = keyOf(entry, options);
    if (spare?.key === key) return;
    if (spare) this.drop(entry.id);
    const { command, args, env } = serverCommand(entry, options, spareScript);
    const child = spawn(command, args, { env, stdio: ['pipe', 'inherit', 'inherit'], detached: true });
    const fresh: Spare = { child, key, ready: false };
    this.spares.set(entry.id, fresh);
    // A spare that died is not written to; the error of a write it missed is its exit's.
    child.stdin?.on('error', () => undefined);
    child.once('spawn', () => {
      fresh.ready = true;
      this.logger.info({ server: entry.id, sparePid: child.pid }, `warm spare for ${entry.id} spawned (pid ${child.pid})`);
    });
    child.once('error', (error) => this.forget(entry.id, fresh, `could not spawn: ${error.message}`));
    child.once('exit', (code, signal) => this.forget(entry.id, fresh, signal ? `signal ${signal}` : `exit code ${code}`));
  }

  /** Kills the spare of this server, if it has one (the server is stopped, or will not be restarted). */
  drop(id: string): void {
    const spare = this.spares.get(id);
    if (!spare) return;
    this.spares.delete(id);
    this.kill(spare);
  }

  /** Kills every spare (the master stops, or no longer leads). */
  dropAll(): void {
    for (const id of [...this.spares.keys()]) this.drop(id);
  }

  /** A spare that ended by itself: not usable any more; the next one comes when the server is connected again. */
  private forget(id: string, spare: Spare, why: string): void {
    spare.ready = false;
    if (this.spares.get(id) !== spare) return;
    this.spares.delete(id);
    this.logger.warn({ server: id, sparePid: spare.child.pid }, `warm spare for ${id} ended while waiting: ${why}`);
  }

  /** SIGKILL to its process group (spawned detached, it leads one, like a server). */
  private kill(spare: Spare): void {
    spare.ready = false;
    const pid = spare.child.pid;
    if (pid === undefined || spare.child.exitCode !== null || spare.child.signalCode !== null) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
}

/** What a spare must have been spawned for to become this server: its command line and identity, the restart count aside. */
function keyOf(entry: ServerEntry, options: SpawnServerOptions): string {
  const { command, args } = serverCommand(entry, { ...options, warn: () => undefined }, spareScript);
  const { SHADDOCK_RESTARTS: _restarts, ...identity } = serverIdentity(entry, options);
  return JSON.stringify({ command, args, identity });
}
