import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './embedded-broker.ts';

/** A `redis-server` child process on a loopback port, for global channels when no Redis is configured. */
export interface EmbeddedRedis {
  url: string;
  pid: number;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

/** ms to wait for "Ready to accept connections". */
const readyTimeout = 15_000;

/**
 * Starts `redis-server` on a free 127.0.0.1 port, without persistence, in a process group of its
 * own (a Ctrl-C meant for the master does not reach it: the master stops it after its servers),
 * and kills it if the master dies. Resolves once it accepts connections.
 */
export async function startMastersRedis(binary = 'redis-server'): Promise<EmbeddedRedis> {
  const port = await freePort();
  // A directory of its own: a dump.rdb left in the working directory would be loaded at start.
  const dir = mkdtempSync(join(tmpdir(), 'shaddock-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'notice'];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, cwd: dir });
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      rmSync(dir, { recursive: true, force: true });
      resolve();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    let output = '';
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`cannot start an embedded redis-server for global channels: ${why}\ncommand: ${[binary, ...args].join(' ')}\n${output.slice(-4_000)}`));
    };
    const timer = setTimeout(() => fail(`not ready within ${readyTimeout} ms`), readyTimeout);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (settled || !output.includes('Ready to accept connections')) return;
      settled = true;
      clearTimeout(timer);
      // Keep draining both pipes so that redis-server never blocks on a full one.
      child.stdout?.resume();
      resolve();
    });
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', (error: NodeJS.ErrnoException) =>
      fail(error.code === 'ENOENT' ? `"${binary}" is not on PATH (Debian/Ubuntu: apt-get install redis-server), or configure globalChannelConfig` : error.message),
    );
    child.once('exit', (code, signal) => fail(`it exited (code ${code}, signal ${signal})`));
  });
  const killOnExit = (): void => {
    try {
      process.kill(child.pid!, 'SIGKILL');
    } catch {
      // Already stopped.
    }
  };
  process.once('exit', killOnExit);
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid ?? -1,
    async stop(graceMs = 5_000) {
      process.off('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
