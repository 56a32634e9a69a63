/**
 * Every default the configuration loader applies, in one place, so that what an omitted field
 * means can be read here rather than reconstructed from the loader's code.
 */

import type { RestartPolicy } from './types.ts';

/** Environment key used when none is asked for (Pomelo's default too). */
export const DEFAULT_ENV = 'development';

/** Host of a server (or the master) whose entry names none. */
export const DEFAULT_HOST = '127.0.0.1';

/** First token of every NATS subject. */
export const DEFAULT_PREFIX = 'shaddock';

/** Second token of every NATS subject. */
export const DEFAULT_CLUSTER = 'default';

/**
 * ms between a NATS connection's pings (nats.js's own default is 2 minutes): with
 * {@link DEFAULT_NATS_MAX_PING_OUT}, a NATS node that dies without closing the socket is left for
 * another within about 10 s.
 */
export const DEFAULT_NATS_PING_INTERVAL = 5000;

/** Unanswered pings after which a NATS connection counts as lost and reconnects. */
export const DEFAULT_NATS_MAX_PING_OUT = 2;

/** ms between reconnect attempts to one NATS server (attempts go on forever by default). */
export const DEFAULT_NATS_RECONNECT_TIME_WAIT = 250;

/** How often a server announces itself, in ms. */
export const DEFAULT_HEARTBEAT_INTERVAL = 1000;

/**
 * When no `heartbeatTimeout` is given it is this many intervals: long enough that one late or
 * lost heartbeat does not mark a healthy server unreachable.
 */
export const HEARTBEAT_TIMEOUT_FACTOR = 3;

/** How long a spawned server may take to register, in ms. */
export const DEFAULT_START_TIMEOUT = 30_000;

/** How long a graceful stop may take before the process is killed, in ms. */
export const DEFAULT_STOP_TIMEOUT = 10_000;

/**
 * Client connections a frontend holds at once when its servers.json entry has no
 * `max-connections`; more are refused at accept. Sized for the 2-core box the benches run on
 * (bench/README.md): an idle session costs 6.4-8.1 KiB of RSS, so 10,000 are about 80 MB over the
 * process's ~95 MB, and their heartbeats (one each per 10 s by default, 1,000 a second) are a
 * few percent of the 30,000+ requests a second one frontend answers. What it stops is a flood of
 * connections that would otherwise take memory and file descriptors without end. Raise it (and
 * `ulimit -n`) for a frontend meant to hold more.
 */
export const DEFAULT_MAX_CONNECTIONS = 10_000;

/** A frontend's `max-connections`: its own, else the default. */
export function maxConnectionsOf(entry: { maxConnections?: number }): number {
  return entry.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
}

/** Default per-call RPC timeout, in ms. */
export const DEFAULT_RPC_TIMEOUT = 10_000;

/** How long one before-stop hook may take before it is abandoned (and the stop goes on), in ms. */
export const DEFAULT_STOP_HOOK_TIMEOUT = 10_000;

/**
 * Restart policy of `auto-restart` servers: first restart after 100 ms, each consecutive one
 * twice as late, never more than 15 s; 30 s of stable running resets the backoff; more than 5
 * restarts within 60 s and the server is `failed`.
 */
export const DEFAULT_RESTART_POLICY: Readonly<RestartPolicy> = Object.freeze({
  initialDelay: 100,
  factor: 2,
  maxDelay: 15_000,
  resetAfter: 30_000,
  maxRestarts: 5,
  period: 60_000,
});

/** The heartbeat timeout used when master.json gives none, for a given interval. */
export function defaultHeartbeatTimeout(heartbeatInterval: number): number {
  return HEARTBEAT_TIMEOUT_FACTOR * heartbeatInterval;
}

/** The same defaults as one read-only object, for callers that want to show or log them. */
export const CONFIG_DEFAULTS = Object.freeze({
  env: DEFAULT_ENV,
  host: DEFAULT_HOST,
  prefix: DEFAULT_PREFIX,
  cluster: DEFAULT_CLUSTER,
  heartbeatInterval: DEFAULT_HEARTBEAT_INTERVAL,
  heartbeatTimeoutFactor: HEARTBEAT_TIMEOUT_FACTOR,
  startTimeout: DEFAULT_START_TIMEOUT,
  stopTimeout: DEFAULT_STOP_TIMEOUT,
  rpcTimeout: DEFAULT_RPC_TIMEOUT,
  stopHookTimeout: DEFAULT_STOP_HOOK_TIMEOUT,
  maxConnections: DEFAULT_MAX_CONNECTIONS,
  restart: DEFAULT_RESTART_POLICY,
});
