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
  /**
   * Run in a process group of its own, so a Ctrl-C meant for the owner does not reach the broker:
   * the owner stops it last, after everything that still needs NATS to stop cleanly.
   */
  ownProcessGroup?: boolean;
  /** Binary to run (default `nats-server` from PATH). */
  binary?: string;
  /** ms to wait for "Server is ready" (default 15000). */
  readyTimeout?: number;
  /**
   * Called with each nats-server process as soon as it is spawned, before it is ready, so that a
   * caller can track it (a test harness kills whatever is left when its own process exits).
   */
  onSpawn?: (child: ChildProcess) => void;
}

/** The first try plus retries when the chosen port was taken meanwhile. */
const portAttempts = 4;
/** Output kept for error messages, in characters, and how many of its last lines they show. */
const outputLimit = 64 * 1024;
const tailLines = 40;
const portInUse = /address already in use|EADDRINUSE/i;

class PortInUseError extends Error {}

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
 * A port lost to a race between choosing and binding is retried with a new one. A failure's
 * error names the command line and ends with the process's last lines of output.
 */
export async function startEmbeddedNats(options: EmbeddedNatsOptions = {}): Promise<EmbeddedNats> {
  let lastError: unknown;
  for (let attempt = 0; attempt < portAttempts; attempt++) {
    const port = options.port ?? (await freePort());
    try {
      return await launch(port, options);
    } catch (error) {
      if (!(error instanceof PortInUseError) || options.port !== undefined) throw error;
      lastError = error;
    }
  }
  throw lastError;
}

function launch(port: number, options: EmbeddedNatsOptions): Promise<EmbeddedNats> {
  const binary = options.binary ?? 'nats-server';
  const args = ['-a', '127.0.0.1', '-p', String(port), ...(options.args ?? [])];
  const readyTimeout = options.readyTimeout ?? 15000;
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: options.ownProcessGroup ?? false });
  options.onSpawn?.(child);
  return new Promise((resolve, reject) => {
    let output = '';
    let settled = false;
    const details = (): string => `command: ${[binary, ...args].join(' ')}\nlast output:\n${tail(output)}`;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      child.stderr?.off('data', onData);
      child.off('close', onClose);
      // Keep draining stderr so the broker never blocks on a full pipe.
      child.stderr?.resume();
      return true;
    };
    const timer = setTimeout(() => {
      if (!settle()) return;
      child.kill('SIGKILL');
      reject(new Error(`nats-server did not become ready within ${readyTimeout} ms on port ${port} (pid ${child.pid ?? '?'})\n${details()}`));
    }, readyTimeout);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.length > outputLimit) output = output.slice(-outputLimit);
      if (output.includes('Server is ready') && settle()) resolve(handle(child, port));
    };
    // 'close' rather than 'exit': by then the last output (e.g. why it could not bind) has been read.
    const onClose = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (!settle()) return;
      const message = `nats-server exited before it was ready (code ${code}, signal ${signal})\n${details()}`;
      reject(portInUse.test(output) ? new PortInUseError(message) : new Error(message));
    };
    child.stderr?.on('data', onData);
    child.on('close', onClose);
    // Stays for the life of the process, so a late 'error' (e.g. a failed kill) never throws.
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (!settle()) return;
      reject(error.code === 'ENOENT' ? new NatsServerMissingError(binary) : new Error(`nats-server: ${error.message}\n${details()}`));
    });
  });
}

/** The last lines of a process's output, indented, for error messages. */
function tail(output: string): string {
  const lines = output.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  const last = lines.slice(-tailLines);
  return last.length === 0 ? '  (no output)' : last.map((line) => `  | ${line}`).join('\n');
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

/**
 * The master's own broker, when no NATS is configured: in a process group of its own it survives
 * a Ctrl-C (the master stops it in order, after its servers); it must not survive a master that dies.
 */
export async function startMastersBroker(): Promise<EmbeddedNats> {
  const embedded = await startEmbeddedNats({ ownProcessGroup: true });
  process.once('exit', () => {
    try {
      process.kill(embedded.pid, 'SIGKILL');
    } catch {
      // Already stopped.
    }
  });
  return embedded;
}
