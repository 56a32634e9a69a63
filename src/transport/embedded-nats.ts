import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** A `nats-server` child process on a loopback port. */
export interface EmbeddedNats {
  url: string;
  port: number;
  pid: number;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

export interface EmbeddedNatsOptions {
  /** Port to listen on; a free loopback port when omitted. */
  port?: number;
  /** Extra nats-server arguments (e.g. `['-js', '-sd', dir]`). */
  args?: string[];
  /** Binary to run (default `nats-server` from PATH). */
  binary?: string;
  /** ms to wait for "Server is ready" (default 15000). */
  readyTimeout?: number;
}

/** Finds a free TCP port on 127.0.0.1 by binding port 0. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export class NatsServerMissingError extends Error {
  constructor(binary: string) {
    super(
      `cannot start an embedded NATS broker: "${binary}" is not on PATH. ` +
        `Install it (Debian/Ubuntu: apt-get install nats-server) or configure "nats" in config/master.json.`,
    );
    this.name = 'NatsServerMissingError';
  }
}

/**
 * Starts `nats-server` bound to 127.0.0.1 and resolves once it logs "Server is ready".
 * Used for the embedded default broker (no NATS configured) and by the test harness.
 * A port lost to a race between choosing and binding is retried with a new one.
 */
export async function startEmbeddedNats(options: EmbeddedNatsOptions = {}): Promise<EmbeddedNats> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = options.port ?? (await freePort());
    try {
      return await launch(port, options);
    } catch (error) {
      if (error instanceof NatsServerMissingError || options.port !== undefined) throw error;
      lastError = error;
    }
  }
  throw lastError;
}

function launch(port: number, options: EmbeddedNatsOptions): Promise<EmbeddedNats> {
  const binary = options.binary ?? 'nats-server';
  const args = ['-a', '127.0.0.1', '-p', String(port), ...(options.args ?? [])];
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`nats-server did not become ready within ${options.readyTimeout ?? 15000} ms:\n${output}`));
    }, options.readyTimeout ?? 15000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('Server is ready')) {
        clearTimeout(timer);
        child.stderr?.off('data', onData);
        // Keep draining stderr so the broker never blocks on a full pipe.
        child.stderr?.resume();
        resolve(handle(child, port));
      }
    };
    child.stderr?.on('data', onData);
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(error.code === 'ENOENT' ? new NatsServerMissingError(binary) : error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited before it was ready (code ${code}, signal ${signal}):\n${output}`));
    });
  });
}

function handle(child: ChildProcess, port: number): EmbeddedNats {
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? -1,
    async stop(graceMs = 5000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
