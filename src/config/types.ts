import type { RestartType, SupervisorPolicy } from '../machines/supervisor.ts';

export type { RestartType } from '../machines/supervisor.ts';

/**
 * The validated shape of a Shaddock application's configuration: what `loadConfig` returns
 * after reading `config/master.json` and `config/servers.json` for one environment.
 * Defaults are applied in one place (`defaults.ts`); everything here is complete.
 */

/** How to reach NATS: a URL (or several, comma separated) plus optional credentials, TLS and keepalive. */
export interface NatsSettings {
  /** One or more `nats://host:port` URLs (`tls://` for TLS). */
  servers: string[];
  token?: string;
  user?: string;
  pass?: string;
  /** Path of a file holding a user NKey seed (`SU...`, as `nk -gen user` writes it): NKey authentication. */
  nkeyFile?: string;
  /** Path of a `.creds` file (a user JWT and its NKey seed, as `nsc` writes it). */
  credsFile?: string;
  /** TLS to NATS; file paths (absolute once loaded). */
  tls?: NatsTls;
  /** Connection name prefix shown in NATS monitoring. */
  name?: string;
  /** ms between client pings; a NATS that stops answering is noticed within about `pingInterval × maxPingOut` (default 5000). */
  pingInterval?: number;
  /** Unanswered pings after which the connection counts as lost and reconnects (default 2). */
  maxPingOut?: number;
  /** ms between reconnect attempts to one server (default 250). */
  reconnectTimeWait?: number;
  /** Reconnect attempts per server before giving up, or -1 (the default): forever. */
  maxReconnectAttempts?: number;
}

/**
 * NATS settings as written in master.json `nats` or given to `createApp({ nats })`: a URL, a list
 * of them, or the object form of {@link NatsSettings} (`servers` may be a comma-separated string,
 * `tls: true` means TLS against the system's CAs). Relative file paths are relative to the app directory.
 */
export type NatsOptions = string | string[] | (Omit<NatsSettings, 'servers' | 'tls'> & { servers: string | string[]; tls?: boolean | NatsTls });

/** TLS to NATS: `ca` verifies the server (default: the system's CAs); `cert` and `key` are the client's certificate, for servers that verify clients. */
export interface NatsTls {
  ca?: string;
  cert?: string;
  key?: string;
  /** TLS before any NATS protocol (nats-server's `handshake_first`), for servers that require it. */
  handshakeFirst?: boolean;
}

/** One server entry of `config/servers.json`, normalised (Pomelo's `auto-restart` becomes `autoRestart`). */
export interface ServerEntry {
  id: string;
  serverType: string;
  host: string;
  /** Pomelo's RPC port. Shaddock routes RPC over NATS, so it is informational only. */
  port?: number;
  clientHost?: string;
  /** The port clients connect to; required for frontends. */
  clientPort?: number;
  frontend: boolean;
  /** Extra Node.js arguments for this server's process (Pomelo's `args`). */
  args: string[];
  /** CPU set to bind the process to (Linux). Normalised to a sorted list of CPU indexes. */
  cpu?: number[];
  /** Pomelo's `auto-restart` (`true` or `"true"`); with `restart`, whether that type restarts at all (not `temporary`). */
  autoRestart: boolean;
  /** OTP's restart type, when servers.json gives one (`restart`); otherwise `auto-restart` decides (see child-spec.ts). */
  restart?: RestartType;
  /** This server's overrides of master.json's `restart` policy (`restart-policy`). */
  restartPolicy?: Partial<RestartPolicy>;
  /** ms this server's graceful stop may take before it is killed (`shutdown-timeout`; default master.json `stopTimeout`). */
  shutdownTimeout?: number;
  /** Pomelo's `max-connections`, for frontends. */
  maxConnections?: number;
  /**
   * `warm-spare: true` (auto-restart servers only): the master keeps one spare process booted for
   * this server, and a restart runs in it (master/spares.ts). Absent when off.
   */
  warmSpare?: true;
  /** Any other fields of the entry, kept as written (Pomelo apps read their own). */
  extra: Record<string, unknown>;
}

/**
 * How an `auto-restart` server is restarted (master.json `restart`, any subset): exponential
 * backoff between restarts, and a limit on how many restarts a period may hold. The fields are
 * documented where they are interpreted, on the supervisor machine's policy; defaults are in
 * `defaults.ts`.
 */
export type RestartPolicy = Omit<SupervisorPolicy, 'restart'>;

/** The master's entry of `config/master.json`, with Shaddock's own settings and their defaults applied. */
export interface MasterConfig {
  id: string;
  host: string;
  port?: number;
  /** NATS to use; `undefined` means "start an embedded nats-server on a free loopback port". */
  nats?: NatsSettings;
  /**
   * Shared secret the CLI must present on the admin subject (`adminToken` in master.json, or
   * `SHADDOCK_ADMIN_TOKEN`). When unset the master makes one up and writes it to its run file.
   */
  adminToken?: string;
  /** First token of every subject (default `shaddock`), so a cluster can live inside another NATS system. */
  prefix: string;
  /** Second token of every subject (default `default`): several clusters can share one NATS. */
  cluster: string;
  /** How often a server announces itself, in ms (default 1000). */
  heartbeatInterval: number;
  /** Silence after which a server counts as unreachable, in ms (default 3 × interval). */
  heartbeatTimeout: number;
  /** How long a spawned server may take to register, in ms (default 30000). */
  startTimeout: number;
  /** How long a graceful stop may take before the process is killed, in ms (default 10000). */
  stopTimeout: number;
  /** Default per-call RPC timeout, in ms (default 10000). */
  rpcTimeout: number;
  /** How long one before-stop hook may take before it is abandoned and the stop goes on, in ms (default 10000). */
  stopHookTimeout: number;
  /** Restart policy of `auto-restart` servers. */
  restart: RestartPolicy;
}

/** Everything one environment of an application needs to start. */
export interface ClusterConfig {
  /** Environment key used in the config files, e.g. `development`. */
  env: string;
  /** Absolute path of the application directory (the one holding `config/`). */
  dir: string;
  master: MasterConfig;
  /** Every configured server, in file order. */
  servers: ServerEntry[];
}
