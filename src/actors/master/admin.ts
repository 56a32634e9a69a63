import type { RestartType } from '../../machines/supervisor.ts';
import type { ExitInfo } from '../../machines/server.ts';

/**
 * The admin protocol between the `shaddock` CLI and the leading master, on `<base>.admin`
 * (msgpack request/reply, see docs/protocol.md). Every request carries the admin token.
 */
export type AdminCommand =
  | { command: 'list' }
  | { command: 'stop'; ids?: string[] }
  | { command: 'kill' }
  | { command: 'restart'; ids: string[] }
  | { command: 'add'; server: Record<string, unknown> };

export type AdminRequest = AdminCommand & { token: string };

export type AdminReply<T = unknown> = { ok: true; result: T } | { ok: false; error: string };

/** One row of `shaddock list`. */
export interface ServerRow {
  id: string;
  serverType: string;
  pid: number | null;
  /** The server's state (`connected`, `restarting`, `failed`, `crashed`, ...), or the master's. */
  state: string;
  host: string;
  clientPort: number | null;
  frontend: boolean;
  restarts: number;
  /** ms since the current process connected (or started, for the master). */
  uptime: number | null;
  /** Resident set size in bytes at the last heartbeat. */
  rss: number | null;
  lastExit: ExitInfo | null;
  /** The CPU set servers.json binds the process to (`0-1`), or null when none is configured. */
  cpu: string | null;
  /** Whether it is restarted at all when it goes down (its restart type is not `temporary`). */
  autoRestart: boolean;
  /** Its restart type (`permanent`, `transient`, `temporary`); null for the master. */
  restart: RestartType | null;
  /** Why the server is `failed` or left down, when it is. */
  reason: string | null;
}
