/**
 * Starts real nats-server, redis-server and ZooKeeper processes on free
 * loopback ports for tests, and stops them by pid. Never mocks.
 *
 * The Debian packages `nats-server`, `redis-server` and `zookeeper` (plus a
 * Java runtime) must be installed: `bash scripts/install-services.sh`.
 *
 * Binaries can be overridden with SHADDOCK_NATS_SERVER, SHADDOCK_REDIS_SERVER,
 * SHADDOCK_JAVA and SHADDOCK_ZOOKEEPER_JAR (absolute paths).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync, rmSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedNats, type EmbeddedNats } from '../../src/actors/master/embedded-broker.ts';
import { freePort, freePorts } from './ports.ts';

export interface RunningService {
  name: string;
  pid: number;
  port: number;
  url: string;
  /** SIGTERM, wait for exit, SIGKILL after 5 s; idempotent. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Overall readiness timeout in ms (default 20000). */
  timeoutMs?: number;
}

export interface NatsOptions extends StartOptions {
  /** Enable JetStream (`-js`) with a store dir in a temp dir removed on stop. */
  jetstream?: boolean;
  /** Require this token (`--auth TOKEN`); the url does not carry it. */
  token?: string;
  /**
   * A nats-server configuration file (`-c FILE`), e.g. users and their permissions. The harness's
   * `-a 127.0.0.1 -p PORT` win over any `listen`/`host`/`port` in it; it must open no other listener.
   */
  configFile?: string;
  /** More nats-server arguments, after the others (e.g. a cluster node's `--cluster ... --routes ...`). */
  args?: readonly string[];
}

const DEFAULT_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;
/** The first try plus up to 3 retries when the port was taken meanwhile. */
const PORT_ATTEMPTS = 4;
const PROBE_INTERVAL_MS = 25;
const PROBE_TIMEOUT_MS = 1_000;
const OUTPUT_LIMIT = 64 * 1024;
const TAIL_LINES = 40;
const HOST = '127.0.0.1';
const PORT_IN_USE = /address already in use|EADDRINUSE|BindException/i;

const ZOOKEEPER_JAR_DEFAULT = '/usr/share/java/zookeeper.jar';
const ZOOKEEPER_CONF_DIR = '/etc/zookeeper/conf';
/** A single SLF4J binding, so ZooKeeper logs to stderr (used in error messages). */
const SLF4J_SIMPLE_JAR = '/usr/share/java/slf4j-simple.jar';

// ---------------------------------------------------------------------------
// Registry and safety net
// ---------------------------------------------------------------------------

interface Tracked {
  /** Undefined until the process is spawned. */
  child: ChildProcess | undefined;
  tempDir: string | undefined;
}

const running = new Set<Tracked>();
let safetyNetInstalled = false;

function isAlive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function killAllSync(): void {
  for (const tracked of running) {
    const { child, tempDir } = tracked;
    if (child?.pid !== undefined && isAlive(child)) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (tempDir !== undefined) {
      try {
        rmSync(tempDir, { recursive: true, force: true });
      } catch {
        // best effort
      }
    }
  }
  running.clear();
}

function installSafetyNet(): void {
  if (safetyNetInstalled) return;
  safetyNetInstalled = true;
  process.on('exit', killAllSync);
  // A signal's default action ends the process without an 'exit' event
  // (e.g. the test runner cancelling a file with SIGTERM): kill the services,
  // then, if nobody else handles the signal, re-raise it with its default.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = (): void => {
      killAllSync();
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, handler);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, handler);
  }
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

class OutputTail {
  private text = '';

  append(chunk: Buffer | string): void {
    this.text += chunk.toString();
    if (this.text.length > OUTPUT_LIMIT) {
      this.text = this.text.slice(this.text.length - OUTPUT_LIMIT);
    }
  }

  tail(lines = TAIL_LINES): string {
    const all = this.text.split(/\r?\n/);
    if (all.length > 0 && all[all.length - 1] === '') all.pop();
    const last = all.slice(-lines);
    return last.length === 0 ? '  (no output)' : last.map((line) => `  | ${line}`).join('\n');
  }

  contains(pattern: RegExp): boolean {
    return pattern.test(this.text);
  }
}

function shellQuote(arg: string): string {
  if (arg === '') return "''";
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

function formatCommand(binary: string, args: readonly string[]): string {
  return [binary, ...args].map(shellQuote).join(' ');
}

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const FALLBACK_DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin'];

/**
 * Finds `name` on PATH or in the usual system dirs (nats-server lives in
 * /usr/sbin, which a non-root PATH may lack); `envVar` overrides the path.
 */
function requireExecutable(service: string, name: string, envVar: string, debianPackage: string): string {
  const override = process.env[envVar];
  const hint = `install the Debian package: apt-get install -y ${debianPackage} (or run: bash scripts/install-services.sh)`;
  if (override !== undefined && override !== '') {
    if (isExecutableFile(override)) return override;
    throw new Error(`${service}: ${envVar}=${override} is not an executable file; ${hint}`);
  }
  const dirs = [...(process.env['PATH'] ?? '').split(path.delimiter).filter((d) => d !== ''), ...FALLBACK_DIRS];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  throw new Error(`${service}: \`${name}\` was not found on PATH nor in ${FALLBACK_DIRS.join(', ')}; ${hint}`);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function unrefStream(stream: unknown): void {
  if (stream !== null && typeof stream === 'object' && 'unref' in stream) {
    const unref = (stream as { unref: unknown }).unref;
    if (typeof unref === 'function') unref.call(stream);
  }
}

/**
 * Opens a TCP connection to 127.0.0.1:port, writes `request`, and collects
 * the reply until `isComplete(reply)` is true or the server closes.
 */
function tcpExchange(
  port: number,
  request: string,
  isComplete: (reply: string) => boolean,
  timeoutMs = PROBE_TIMEOUT_MS,
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let reply = '';
    let settled = false;
    const socket = net.connect({ host: HOST, port });
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err !== undefined) reject(err);
      else resolve(reply);
    };
    const timer = setTimeout(
      () => finish(new Error(`no complete reply from ${HOST}:${port} within ${timeoutMs} ms (got ${JSON.stringify(reply)})`)),
      timeoutMs,
    );
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write(request));
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (isComplete(reply)) finish();
    });
    socket.once('end', () => finish());
    socket.once('close', () => finish());
    socket.once('error', (err) => finish(err));
  });
}

/** Sends a ZooKeeper four-letter word (`ruok`, `srvr`, `mntr`, ...) and returns the whole reply. */
export function fourLetterWord(port: number, word: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<string> {
  return tcpExchange(port, word, () => false, timeoutMs);
}

/** Sends a raw `PING\r\n` to Redis and returns the first reply line (`+PONG` when up). */
export async function redisPing(port: number, timeoutMs = PROBE_TIMEOUT_MS): Promise<string> {
  const reply = await tcpExchange(port, 'PING\r\n', (r) => r.includes('\r\n'), timeoutMs);
  return reply.split('\r\n')[0] ?? '';
}

// ---------------------------------------------------------------------------
// Generic launcher
// ---------------------------------------------------------------------------

interface Prepared {
  args: string[];
  tempDir: string | undefined;
}

interface ServiceSpec {
  name: string;
  binary: string;
  /** This port and no other (a restart on the same port); a free one when undefined. */
  port?: number;
  timeoutMs: number;
  url(port: number): string;
  prepare(port: number): Promise<Prepared>;
  /** Ready when this resolves true (polled). */
  probe: (port: number) => Promise<boolean>;
}

class PortInUseError extends Error {}

async function startService(spec: ServiceSpec): Promise<RunningService> {
  installSafetyNet();
  const failures: string[] = [];
  for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
    const port = spec.port ?? (await freePort());
    try {
      return await launchOnce(spec, port);
    } catch (err) {
      if (err instanceof PortInUseError && spec.port === undefined) {
        failures.push(err.message);
        continue;
      }
      throw err;
    }
  }
  throw new Error(
    `${spec.name}: the chosen port was taken ${PORT_ATTEMPTS} times in a row; last failure:\n${failures[failures.length - 1] ?? ''}`,
  );
}

async function launchOnce(spec: ServiceSpec, port: number): Promise<RunningService> {
  const { args, tempDir } = await spec.prepare(port);
  const commandLine = formatCommand(spec.binary, args);
  const output = new OutputTail();

  let child: ChildProcess;
  try {
    child = spawn(spec.binary, args, {
      cwd: tempDir ?? os.tmpdir(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    if (tempDir !== undefined) await rm(tempDir, { recursive: true, force: true });
    throw new Error(`${spec.name}: could not spawn: ${commandLine}: ${(err as Error).message}`);
  }

  const tracked: Tracked = { child, tempDir };
  running.add(tracked);

  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolve();
    });
    // A spawn failure emits 'error' and may never emit 'exit'. This listener
    // stays for the life of the process, so a late 'error' never throws.
    child.on('error', () => {
      if (child.pid === undefined) resolve();
    });
  });

  // Keep draining both pipes for the life of the process so it never blocks
  // on a full pipe; the tail is kept for error messages.
  child.stdout?.on('data', (chunk: Buffer) => output.append(chunk));
  child.stderr?.on('data', (chunk: Buffer) => output.append(chunk));
  // A forgotten service must not keep the test process alive; the 'exit'
  // safety net kills it. Waits below hold timers, which keep the loop alive.
  child.unref();
  unrefStream(child.stdout);
  unrefStream(child.stderr);

  const startedAt = Date.now();
  const describe = (): string => `command: ${commandLine}\nlast output:\n${output.tail()}`;

  const cleanupAfterFailure = async (): Promise<void> => {
    if (isAlive(child) && child.pid !== undefined) {
      child.kill('SIGKILL');
      await Promise.race([exited, delay(STOP_GRACE_MS)]);
    }
    running.delete(tracked);
    if (tempDir !== undefined) await rm(tempDir, { recursive: true, force: true }).catch(() => undefined);
  };

  try {
    await new Promise<void>((resolve, reject) => {
      let done = false;
      let detach = (): void => undefined;
      const timers: NodeJS.Timeout[] = [];
      const finish = (err?: Error): void => {
        if (done) return;
        done = true;
        for (const t of timers) clearTimeout(t);
        detach();
        if (err !== undefined) reject(err);
        else resolve();
      };

      timers.push(
        setTimeout(() => {
          finish(
            new Error(
              `${spec.name} did not become ready on ${HOST}:${port} within ${spec.timeoutMs} ms (pid ${child.pid ?? '?'}).\n${describe()}`,
            ),
          );
        }, spec.timeoutMs),
      );

      const onEarlyExit = (): void => {
        const how =
          exitInfo === undefined
            ? 'exited'
            : exitInfo.signal !== null
              ? `was killed by ${exitInfo.signal}`
              : `exited with code ${exitInfo.code ?? '?'}`;
        const message = `${spec.name} ${how} before it was ready (port ${port}, after ${Date.now() - startedAt} ms).\n${describe()}`;
        finish(output.contains(PORT_IN_USE) ? new PortInUseError(message) : new Error(message));
      };
      // 'exit' can come before the last output is read: wait for 'close'
      // (all pipes drained), but no more than half a second.
      const onExit = (): void => {
        timers.push(setTimeout(onEarlyExit, 500));
      };
      const onError = (err: NodeJS.ErrnoException): void => {
        if (err.code === 'ENOENT') {
          finish(new Error(`${spec.name}: ${spec.binary} not found (ENOENT).\n${describe()}`));
        } else {
          finish(new Error(`${spec.name}: process error: ${err.message}\n${describe()}`));
        }
      };
      child.once('exit', onExit);
      child.once('close', onEarlyExit);
      child.once('error', onError);
      detach = (): void => {
        child.off('exit', onExit);
        child.off('close', onEarlyExit);
        child.off('error', onError);
      };

      const poll = async (): Promise<void> => {
        while (!done) {
          const ok = await spec.probe(port).catch(() => false);
          if (ok) {
            finish();
            return;
          }
          await delay(PROBE_INTERVAL_MS);
        }
      };
      void poll();
    });
  } catch (err) {
    await cleanupAfterFailure();
    throw err;
  }

  if (!isAlive(child) || child.pid === undefined) {
    await cleanupAfterFailure();
    throw new Error(`${spec.name} answered on port ${port} but its process is gone.\n${describe()}`);
  }

  const pid = child.pid;
  let stopping: Promise<void> | undefined;
  const doStop = async (): Promise<void> => {
    if (isAlive(child)) {
      child.kill('SIGTERM');
      const killTimer = setTimeout(() => {
        if (isAlive(child)) child.kill('SIGKILL');
      }, STOP_GRACE_MS);
      await exited;
      clearTimeout(killTimer);
    }
    running.delete(tracked);
    if (tempDir !== undefined) await rm(tempDir, { recursive: true, force: true });
  };

  return {
    name: spec.name,
    pid,
    port,
    url: spec.url(port),
    stop(): Promise<void> {
      stopping ??= doStop();
      return stopping;
    },
  };
}

// ---------------------------------------------------------------------------
// The three services
// ---------------------------------------------------------------------------

/**
 * `nats-server -a 127.0.0.1 -p PORT [-c FILE]`, started by the runtime's own launcher
 * (`startEmbeddedNats`, ready when it logs "Server is ready"), with the harness's
 * binary lookup, options and safety net around it.
 */
export async function startNats(options: NatsOptions = {}): Promise<RunningService> {
  const binary = requireExecutable('nats', 'nats-server', 'SHADDOCK_NATS_SERVER', 'nats-server');
  installSafetyNet();
  const tempDir = options.jetstream === true ? await mkdtemp(path.join(os.tmpdir(), 'shaddock-nats-')) : undefined;
  const args: string[] = [];
  if (tempDir !== undefined) args.push('-js', '-sd', tempDir);
  if (options.token !== undefined) args.push('--auth', options.token);
  if (options.configFile !== undefined) args.push('-c', options.configFile);
  if (options.args !== undefined) args.push(...options.args);

  // Registered before the process exists, so the safety net covers the start (and the temp dir).
  const tracked: Tracked = { child: undefined, tempDir };
  running.add(tracked);
  let nats: EmbeddedNats;
  try {
    nats = await startEmbeddedNats({
      binary,
      args,
      readyTimeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      onSpawn: (child) => {
        tracked.child = child;
        // A forgotten service must not keep the test process alive; the 'exit' safety net kills it.
        child.unref();
        unrefStream(child.stderr);
      },
    });
  } catch (err) {
    // The launcher has killed whatever it started; only the registry and the temp dir are left.
    running.delete(tracked);
    if (tempDir !== undefined) await rm(tempDir, { recursive: true, force: true }).catch(() => undefined);
    throw new Error(`nats: ${(err as Error).message}`, { cause: err });
  }

  let stopping: Promise<void> | undefined;
  const doStop = async (): Promise<void> => {
    await nats.stop(STOP_GRACE_MS);
    running.delete(tracked);
    if (tempDir !== undefined) await rm(tempDir, { recursive: true, force: true });
  };
  return {
    name: 'nats',
    pid: nats.pid,
    port: nats.port,
    url: nats.url,
    stop(): Promise<void> {
      stopping ??= doStop();
      return stopping;
    },
  };
}

export interface RedisOptions extends StartOptions {
  /** Listen on this port (to restart a Redis where its clients expect it); a free one by default. */
  port?: number;
  /**
   * Keep an append-only file in this directory (`--appendonly yes --dir DIR`), so that a Redis
   * restarted on it keeps its data. The caller owns the directory.
   */
  aofDir?: string;
  /** More redis-server arguments (e.g. `['--replicaof', '127.0.0.1', '6400']`). */
  args?: readonly string[];
}

/**
 * `redis-server --port PORT --bind 127.0.0.1 --save '' --appendonly no` (or `--appendonly yes
 * --dir DIR` with `aofDir`); ready when PING answers +PONG.
 */
export async function startRedis(options: RedisOptions = {}): Promise<RunningService> {
  const binary = requireExecutable('redis', 'redis-server', 'SHADDOCK_REDIS_SERVER', 'redis-server');
  const persistence = options.aofDir !== undefined ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', options.aofDir] : ['--appendonly', 'no'];
  const { aofDir } = options;
  return startService({
    name: 'redis',
    binary,
    ...(options.port !== undefined ? { port: options.port } : {}),
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    url: (port) => `redis://${HOST}:${port}`,
    probe: async (port) => (await redisPing(port)) === '+PONG',
    async prepare(port) {
      // Without an AOF dir, a dir of its own all the same (removed on stop): a replica's full sync
      // writes dump.rdb there, and a dump.rdb in a shared cwd would be loaded by the next Redis.
      const tempDir = aofDir === undefined ? await mkdtemp(path.join(os.tmpdir(), 'shaddock-redis-')) : undefined;
      return {
        args: ['--port', String(port), '--bind', HOST, '--save', '', ...persistence, ...(tempDir !== undefined ? ['--dir', tempDir] : []), ...(options.args ?? [])],
        tempDir,
      };
    },
  });
}

export interface SentinelOptions extends StartOptions {
  /** The master group's name (default `mymaster`). */
  name?: string;
  /** ms of silence before the sentinel calls the master down (default 1000). */
  downAfterMs?: number;
}

/**
 * One Redis Sentinel (`redis-server sentinel.conf --sentinel`) watching the master on
 * 127.0.0.1:`masterPort` with quorum 1, so that it alone fails over to a replica. Its config file
 * (which a sentinel rewrites) lives in a temp dir removed on stop; ready when PING answers.
 */
export async function startRedisSentinel(masterPort: number, options: SentinelOptions = {}): Promise<RunningService> {
  const binary = requireExecutable('redis', 'redis-server', 'SHADDOCK_REDIS_SERVER', 'redis-server');
  const name = options.name ?? 'mymaster';
  return startService({
    name: 'redis-sentinel',
    binary,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    url: (port) => `redis://${HOST}:${port}`,
    probe: async (port) => (await redisPing(port)) === '+PONG',
    async prepare(port) {
      const tempDir = await mkdtemp(path.join(os.tmpdir(), 'shaddock-sentinel-'));
      const file = path.join(tempDir, 'sentinel.conf');
      const downAfter = options.downAfterMs ?? 1_000;
      await writeFile(
        file,
        [
          `port ${port}`,
          `bind ${HOST}`,
          `dir ${tempDir}`,
          `sentinel monitor ${name} ${HOST} ${masterPort} 1`,
          `sentinel down-after-milliseconds ${name} ${downAfter}`,
          `sentinel failover-timeout ${name} ${Math.max(3 * downAfter, 3_000)}`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      );
      return { args: [file, '--sentinel'], tempDir };
    },
  });
}

/** The classpath used to run ZooKeeper from the Debian packages. */
export function zookeeperClasspath(): string {
  const jar = process.env['SHADDOCK_ZOOKEEPER_JAR'] || ZOOKEEPER_JAR_DEFAULT;
  if (!existsSync(jar)) {
    throw new Error(
      `zookeeper: ${jar} is missing; install the Debian package: apt-get install -y zookeeper (or run: bash scripts/install-services.sh)`,
    );
  }
  // zookeeper.jar's manifest Class-Path lists its dependencies (jute, netty,
  // slf4j-api, ...). Not "/usr/share/java/*": that holds several SLF4J
  // bindings and SLF4J then picks NOP, so ZooKeeper would log nothing.
  const entries: string[] = [];
  if (existsSync(ZOOKEEPER_CONF_DIR)) entries.push(ZOOKEEPER_CONF_DIR);
  entries.push(jar);
  if (existsSync(SLF4J_SIMPLE_JAR)) entries.push(SLF4J_SIMPLE_JAR);
  return entries.join(':');
}

/**
 * Standalone ZooKeeper (`ZooKeeperServerMain`) with a zoo.cfg in a temp dir
 * (removed on stop); url `127.0.0.1:PORT`; ready when `ruok` answers `imok`
 * and `srvr` reports a Mode (i.e. it serves requests).
 */
export async function startZookeeper(options: StartOptions = {}): Promise<RunningService> {
  const java = requireExecutable('zookeeper', 'java', 'SHADDOCK_JAVA', 'default-jre-headless');
  const classpath = zookeeperClasspath();
  return startService({
    name: 'zookeeper',
    binary: java,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    url: (port) => `${HOST}:${port}`,
    // `ruok` answers `imok` as soon as the port is open, while the server may
    // still say "not currently serving requests"; `srvr` shows a Mode only
    // once it serves clients.
    probe: async (port) =>
      (await fourLetterWord(port, 'ruok')).trim() === 'imok' && /^Mode: /m.test(await fourLetterWord(port, 'srvr')),
    async prepare(port) {
      const tempDir = await mkdtemp(path.join(os.tmpdir(), 'shaddock-zk-'));
      const dataDir = path.join(tempDir, 'data');
      const cfg = path.join(tempDir, 'zoo.cfg');
      await writeFile(
        cfg,
        [
          'tickTime=500',
          `dataDir=${dataDir}`,
          `clientPort=${port}`,
          `clientPortAddress=${HOST}`,
          'admin.enableServer=false',
          '4lw.commands.whitelist=*',
          'maxClientCnxns=0',
          // Becomes -Dzookeeper.forceSync=no: no fsync per transaction (tests only).
          'forceSync=no',
          '',
        ].join('\n'),
      );
      return {
        args: [
          '-Xmx256m',
          '-Djava.net.preferIPv4Stack=true',
          '-cp',
          classpath,
          'org.apache.zookeeper.server.ZooKeeperServerMain',
          cfg,
        ],
        tempDir,
      };
    },
  });
}

// ---------------------------------------------------------------------------
// A ZooKeeper ensemble
// ---------------------------------------------------------------------------

/** One member of a {@link ZookeeperEnsemble}: its data survives a stop, so it can rejoin. */
export interface ZookeeperMember {
  /** Its `myid` (1…n). */
  myid: number;
  /** Its client port on 127.0.0.1. */
  port: number;
  url: string;
  /** The pid of its running process; undefined while stopped. */
  readonly pid: number | undefined;
  /** SIGTERM, wait for exit (SIGKILL after 5 s); idempotent while stopped. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data; resolves once it serves (it has rejoined a quorum). */
  restart(): Promise<void>;
}

export interface ZookeeperEnsemble {
  members: ZookeeperMember[];
  /** `127.0.0.1:P1,127.0.0.1:P2,…`, for a client. */
  connectString: string;
  /** Stops every member and removes the ensemble's directory; idempotent. */
  stop(): Promise<void>;
}

/**
 * `size` ZooKeeper servers (`QuorumPeerMain`) on loopback forming one ensemble: a zoo.cfg each
 * with `server.N=127.0.0.1:QUORUM:ELECTION` lines, a `myid` file in each dataDir, distinct ports,
 * `tickTime=500` (so session timeouts of 1–10 s are allowed). Resolves once every member serves
 * (`srvr` shows a Mode: leader or follower). With `size` 1 the one server runs standalone, but
 * unlike {@link startZookeeper} it keeps its data across `restart()`.
 */
export async function startZookeeperEnsemble(size = 3, options: StartOptions = {}): Promise<ZookeeperEnsemble> {
  if (!Number.isInteger(size) || size < 1) throw new Error(`startZookeeperEnsemble: size must be an integer ≥ 1, got ${size}`);
  const java = requireExecutable('zookeeper', 'java', 'SHADDOCK_JAVA', 'default-jre-headless');
  const classpath = zookeeperClasspath();
  installSafetyNet();
  const root = await mkdtemp(path.join(os.tmpdir(), 'shaddock-zk-ensemble-'));
  // The safety net removes the directory if the test process dies; the members register themselves.
  const rootTracked: Tracked = { child: undefined, tempDir: root };
  running.add(rootTracked);

  const free = await freePorts(size * 3);
  const ports = Array.from({ length: size }, (_, i) => ({ client: free[3 * i]!, quorum: free[3 * i + 1]!, election: free[3 * i + 2]! }));
  const serverLines = size === 1 ? [] : ports.map((p, i) => `server.${i + 1}=${HOST}:${p.quorum}:${p.election}`);

  const members = await Promise.all(
    ports.map(async (p, i) => {
      const myid = i + 1;
      const dir = path.join(root, `zk${myid}`);
      const dataDir = path.join(dir, 'data');
      await mkdir(dataDir, { recursive: true });
      await writeFile(path.join(dataDir, 'myid'), `${myid}\n`);
      const cfg = path.join(dir, 'zoo.cfg');
      await writeFile(
        cfg,
        [
          'tickTime=500',
          'initLimit=20',
          'syncLimit=10',
          `dataDir=${dataDir}`,
          `clientPort=${p.client}`,
          `clientPortAddress=${HOST}`,
          'admin.enableServer=false',
          '4lw.commands.whitelist=*',
          'maxClientCnxns=0',
          'forceSync=no',
          ...serverLines,
          '',
        ].join('\n'),
      );
      const spec: ServiceSpec = {
        name: `zookeeper ${myid}/${size}`,
        binary: java,
        timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS * 2,
        url: (port) => `${HOST}:${port}`,
        probe: async (port) => /^Mode: (leader|follower|standalone)/m.test(await fourLetterWord(port, 'srvr')),
        // No temp dir of its own: the member's data must outlive a stop, for its restart.
        prepare: async () => ({
          args: ['-Xmx256m', '-Djava.net.preferIPv4Stack=true', '-cp', classpath, 'org.apache.zookeeper.server.quorum.QuorumPeerMain', cfg],
          tempDir: undefined,
        }),
      };
      let service: RunningService | undefined;
      const member: ZookeeperMember = {
        myid,
        port: p.client,
        url: `${HOST}:${p.client}`,
        get pid() {
          return service?.pid;
        },
        async stop() {
          const current = service;
          service = undefined;
          await current?.stop();
        },
        async restart() {
          if (service) return;
          service = await launchOnce(spec, p.client);
        },
      };
      return member;
    }),
  );

  let stopping: Promise<void> | undefined;
  const stopAll = async (): Promise<void> => {
    await Promise.all(members.map((m) => m.stop()));
    running.delete(rootTracked);
    await rm(root, { recursive: true, force: true });
  };
  try {
    // Together: a member of a 3-ensemble serves only once a quorum has formed.
    await Promise.all(members.map((m) => m.restart()));
  } catch (err) {
    await stopAll();
    throw err;
  }
  return {
    members,
    connectString: members.map((m) => m.url).join(','),
    stop(): Promise<void> {
      stopping ??= stopAll();
      return stopping;
    },
  };
}
