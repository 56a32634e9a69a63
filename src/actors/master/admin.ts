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
  /** CPUs the process is bound to (`0-1`), or null when unbound. */
  cpu: string | null;
  autoRestart: boolean;
  /** Why the server is `failed` or left down, when it is. */
  reason: string | null;
}
