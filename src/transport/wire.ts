/**
 * Every payload that crosses NATS, typed in one place beside the subjects they travel on
 * (subjects.ts builds `<prefix>.<cluster>.<kind>[.<id>]`). {@link WireMessages} maps each subject
 * kind to its types. docs/protocol.md is written from this file: one section per subject, its
 * fields with the types declared here, in this order; test/wire-doc.test.ts fails when a subject
 * or a field is missing from it.
 *
 * Every payload is msgpack (codec.ts: maps with string keys, arrays and scalars; `undefined` is
 * msgpackr's extension 0, a `Uint8Array` is `bin`). This file declares types only: none of it
 * exists at run time, and the decoders trust these shapes except where they say they check.
 */

/** A thrown error as it crosses the wire: in an `rpc` (or `session`) reply and in a `handled` answer. */
export interface WireError {
  name: string;
  message: string;
  /** The error's `code` property as a string; `REMOTE_ERROR` when it had none. */
  code: string;
}

// ---- rpc.<serverId> -------------------------------------------------------------------------

/**
 * `rpc.<serverId>` request: a call of one method of one of that server's remotes. Sent with a
 * NATS request by any process (`app.rpc` on a server or on the master; any NATS client); answered
 * by the server's RpcServer (rpc.ts), which checks that `remote` and `method` are strings.
 */
export interface RpcRequest {
  remote: string;
  method: string;
  /** The method's arguments in order (`app.rpc`'s route parameter is not sent); not an array: none. */
  args: unknown[];
}

/** `rpc.<serverId>` reply, and `session.<frontendId>`'s: the method's awaited result, or what it threw. */
export type RpcReply = { ok: true; result: unknown } | { ok: false; error: WireError };

// ---- sys.<serverId> -------------------------------------------------------------------------

/**
 * `sys.<serverId>` request: control of one server process, sent by the leading master: `stop`,
 * when it stops that server; `adopt`, when a new leader takes the running server over. Both carry
 * proof that they come from a master of the server's cluster (control.ts: an HMAC over server,
 * pid, command, time, nonce and the master's epoch); one without valid proof, or from a master
 * older than the newest the server has obeyed, is refused. `ping` needs none and changes nothing.
 */
export type SysCommand = { command: 'stop' | 'adopt'; at: number; nonce: string; epoch: number; mac: string } | { command: 'ping' };

/**
 * `sys.<serverId>` reply, from the server process: its lifecycle state when the request came, its
 * pid (the master's proof of life for that process) and the epoch of the newest master it obeys;
 * or why it refused.
 */
export type SysReply = { ok: true; state: string; pid: number; epoch: number } | { ok: false; error: string };

// ---- hb ---------------------------------------------------------------------------------------

/**
 * `hb` message: what a server process announces about itself. Published by every server every
 * `heartbeatInterval`, on every change of its lifecycle state, in answer to `discover`, and one
 * last time with `state: 'stopped'`; read by every process's ServerDirectory (the master's too).
 */
export interface ServerInfo {
  id: string;
  serverType: string;
  host: string;
  port?: number;
  clientHost?: string;
  /** The client port bound (a configured 0 becomes the real port), else the configured one. */
  clientPort?: number;
  frontend: boolean;
  pid: number;
  /** The process's lifecycle state (`starting`, `running`, `draining`, `stopping.hooks`, `stopped`, ...). */
  state: string;
  /** Remote name → method names this server serves. */
  remotes: Record<string, string[]>;
  /** Epoch ms the process started. */
  startedAt: number;
  /** Resident set size in bytes at this heartbeat. */
  rss: number;
  /** Malformed messages dropped so far by subject kind (`sys`, `rpc`, `handler`, ...); absent while none was. */
  dropped?: Record<string, number>;
}

// ---- discover --------------------------------------------------------------------------------

/**
 * `discover` message: "announce yourselves now". Published by every process's ServerDirectory
 * when it starts (each server's and the master's); servers answer with a heartbeat on `hb`. The
 * payload is not read.
 */
export type DiscoverMessage = Record<string, never>;

// ---- events ----------------------------------------------------------------------------------

/**
 * `events` message: a cluster-wide announcement, published by the leading master once every
 * configured server has connected; each server then runs its `afterStartAll` hooks.
 */
export interface ClusterEvent {
  type: 'allStarted';
}

// ---- admin -----------------------------------------------------------------------------------

/** The commands of `admin` (without the token): what the `shaddock` CLI asks the leading master. */
export type AdminCommand =
  | { command: 'list' }
  | { command: 'stop'; ids?: string[] }
  | { command: 'kill' }
  | { command: 'restart'; ids: string[] }
  | { command: 'add'; server: Record<string, unknown> };

/** `admin` request: sent by the `shaddock` CLI with a NATS request; answered by the master (once it has connected). */
export type AdminRequest = AdminCommand & { token: string };

/** `admin` reply, from the master: the command's result ({@link AdminResults}) or why it failed. */
export type AdminReply<T = unknown> = { ok: true; result: T } | { ok: false; error: string };

/** The `result` of an `admin` reply, by command. */
export interface AdminResults {
  list: ServerRow[];
  stop: { stopped: string[]; masterPid?: number };
  kill: { killed: number[]; masterPid: number };
  restart: { restarted: string[] };
  add: { added: string };
}

/** One row of an `admin` `list` result (`shaddock list`): one for the master, then one per server. */
export interface ServerRow {
  id: string;
  serverType: string;
  pid: number | null;
  /** The server's state (`connected`, `restarting`, `failed`, `crashed`, ...), or the master's. */
  state: string;
  host: string;
  clientPort: number | null;
  frontend: boolean;
  /** A frontend's connection limit, servers.json `max-connections` or its default; null for others. */
  maxConnections: number | null;
  restarts: number;
  /** ms since the current process connected (or started, for the master). */
  uptime: number | null;
  /** Resident set size in bytes at the last heartbeat. */
  rss: number | null;
  lastExit: ServerExit | null;
  /** The CPU set servers.json binds the process to (`0-1`), or null when none is configured. */
  cpu: string | null;
  /** Whether it is restarted at all when it goes down (its restart type is not `temporary`). */
  autoRestart: boolean;
  /** Its restart type (OTP's words, see config/child-spec.ts); null for the master. */
  restart: 'permanent' | 'transient' | 'temporary' | null;
  /** Why the server is `failed` or left down, when it is. */
  reason: string | null;
  /** Malformed NATS messages this process dropped, by subject kind, as of its last heartbeat ({} when none). */
  dropped: Record<string, number>;
  /** A master's role (`leading` or `standby`); null for servers. */
  role: 'leading' | 'standby' | null;
  /** A leading master's epoch (fencing token); null for standbys and servers. */
  epoch: number | null;
}

/**
 * How a server's last process ended, in a {@link ServerRow}: the server machine's `ExitInfo`
 * (src/machines/server.ts, which cannot import this file) as the master sends it.
 */
export interface ServerExit {
  /** The process that ended; undefined when the machine had no pid for it. */
  pid: number | undefined;
  code: number | null;
  signal: string | null;
  /** Epoch ms of the exit. */
  at: number;
}

// ---- handler.<serverId> and handled.<frontendId> --------------------------------------------

/**
 * One client request a frontend forwards, inside a {@link HandlerBatch}: the call's id (unique
 * among that frontend's calls in flight), the handler and method of the route, the client's
 * message and the session. The transport passes the session through untouched (`Session`).
 */
export type ForwardedCall<Session = unknown> = [id: number, handler: string, method: string, msg: unknown, session: Session];

/** One answer to a {@link ForwardedCall}, inside a {@link HandledBatch}: 1 and the handler's result, or 0 and its error. */
export type ForwardedReply = [id: number, ok: 1, result: unknown] | [id: number, ok: 0, error: WireError];

/**
 * `handler.<serverId>` message: the client requests a frontend forwards to that server's
 * handlers, batched per event-loop turn (256 calls at most). Published by the frontend's
 * ForwardClient, read by the server's ForwardServer (forwarding.ts), which checks `from` and
 * `calls` and drops a batch without them.
 */
export interface HandlerBatch {
  /** The frontend's server id: the answers go to `handled.<from>`. */
  from: string;
  calls: ForwardedCall<SessionSnapshot>[];
}

/**
 * `handled.<frontendId>` message: answers to calls that frontend forwarded, batched per turn
 * (256 at most). Published by the server that ran them, read by the frontend's ForwardClient.
 */
export interface HandledBatch {
  replies: ForwardedReply[];
}

// ---- session.<frontendId> ---------------------------------------------------------------------

/** A session as it travels: in a {@link ForwardedCall} and in a `getByUid` result. */
export interface SessionSnapshot {
  /** Unique on its frontend. */
  id: number;
  /** The frontend server holding the connection. */
  frontendId: string;
  /** The user bound to the session, if any. */
  uid?: string;
  settings: Record<string, unknown>;
}

/** The methods and arguments of a `session.<frontendId>` request. */
export type SessionOperation =
  | { method: 'bind'; args: [id: number, uid: string] }
  | { method: 'unbind'; args: [id: number, uid: string] }
  | { method: 'push'; args: [id: number, settings: Record<string, unknown>] }
  | { method: 'kick'; args: [id: number, reason: string] }
  | { method: 'kickByUid'; args: [uid: string, reason: string] }
  | { method: 'getByUid'; args: [uid: string] };

/**
 * `session.<frontendId>` request: a backend's operation on sessions of that frontend (a
 * BackendSession's `bind`, `push`, `kick`...; BackendSessionService's `getByUid`, `kickByUid`).
 * An RPC request to the remote `session`, answered by the frontend's RpcServer with an
 * {@link RpcReply} whose `result` is the operation's {@link SessionResults} entry.
 */
export type SessionRequest = { remote: 'session' } & SessionOperation;

/** The `result` of a `session.<frontendId>` reply, by method. */
export interface SessionResults {
  bind: undefined;
  unbind: undefined;
  push: true;
  kick: undefined;
  /** How many sessions were kicked. */
  kickByUid: number;
  getByUid: SessionSnapshot[];
}

// ---- push.<frontendId> ------------------------------------------------------------------------

/**
 * `push.<frontendId>` message: one push for clients of that frontend, a route and JSON body for
 * some users or for all. Published by any server's channel service (one message per frontend),
 * read by the frontend's connector.
 */
export interface PushMessage {
  route: string;
  /** UTF-8 JSON, what the clients receive. */
  body: Uint8Array;
  /** Users to deliver to (every session of each); absent with `all`. */
  uids?: string[];
  /** Every session (`binded`: only sessions bound to a user). */
  all?: boolean;
  binded?: boolean;
}

// ---- masters --------------------------------------------------------------------------------

/**
 * `masters` request: which masters does the cluster have? Every master answers, leader and
 * standbys: the leader gathers the answers for `shaddock list`, and a starting master asks before
 * it campaigns (without master HA it refuses to start next to a live one).
 */
export type MastersRequest = Record<string, never>;

/** `masters` reply: one master, as it is when it answers. */
export interface MasterInfo {
  id: string;
  host: string;
  port: number;
  pid: number;
  /** Its master machine's state (`electing`, `standby`, `leading.running`, `suspended`, ...). */
  state: string;
  /** `leading` while it leads (any `leading.*` state), else `standby`. */
  role: 'leading' | 'standby';
  /** Its term's epoch while it leads; null otherwise. */
  epoch: number | null;
  /** Whether it runs with master HA (in an election) or alone. */
  ha: boolean;
  /** Epoch ms at which it started. */
  startedAt: number;
}

// ---- watch.<serverId> and inspect.<serverId> ---------------------------------------------------

/**
 * `watch.<serverId>` request: a watcher (`shaddock inspect`, the web console) takes or renews its
 * lease on one process's inspection events (the master answers on its own id, like a server).
 * Sent with a NATS request every `ttlMs / 3` by the watcher (watcher.ts), answered by that
 * process's inspector (src/actors/inspect), which publishes on `inspect.<serverId>` while at least
 * one lease is alive. The lease ends `ttlMs` after the last request (clamped to 1 000–60 000 ms).
 */
export interface WatchRequest {
  /** The watcher's own id, unique per watcher: a renewal replaces its lease, it does not add one. */
  watcher: string;
  /** How long the lease lasts after this request, in ms. */
  ttlMs: number;
  /** An actor to show in full in the reply (a session, say), and whose transitions the batches then carry. */
  detail?: string;
}

/** One actor and the state it is in, in an {@link InspectSnapshot}. */
export interface ActorState {
  /** Unique in its process: `master-server-1`, `chat-server-1` (its server or supervisor machine), a session's id. */
  actor: string;
  /** Its machine's name, as src/machines/registry.ts and `shaddock machines` have it. */
  machine: string;
  /** Its dotted state (`live.connected`, `watching.up`). */
  state: string;
}

/** The actor a {@link WatchRequest} asked for, in full: its state and context (plain data: no functions, no live objects). */
export interface ActorDetail {
  actor: string;
  machine: string;
  state: string;
  context: unknown;
}

/**
 * `watch.<serverId>` reply: the process as it is when the request came. Every single-instance
 * actor (the master, supervisors and server machines in the master; the lifecycle in a server)
 * is in `actors`; many-instance machines (sessions, channels) only in `counts`.
 */
export interface InspectSnapshot {
  server: string;
  /** Epoch ms of the snapshot. */
  at: number;
  actors: ActorState[];
  /** Machine → state → how many of its actors are in it, for many-instance machines (sessions). */
  counts: Record<string, Record<string, number>>;
  /** Events this process could not publish (its buffer was full) since it started. */
  dropped: number;
  /** The actor the request named, when it exists. */
  detail?: ActorDetail;
}

/** `watch.<serverId>` reply to a request that is not a {@link WatchRequest}: what was wrong. */
export interface WatchRefusal {
  error: string;
}

/** One transition: an actor entered `state` on `event` (a transition that keeps the state, such as a heartbeat in `connected`, is not one). */
export interface InspectEvent {
  actor: string;
  machine: string;
  state: string;
  /** The event's type: `HEARTBEAT`, `EXITED`, `xstate.after.backoff.supervisor.backingOff`, `xstate.done.actor.connect`... */
  event: string;
  /** Epoch ms. */
  at: number;
}

/**
 * `inspect.<serverId>` message: that process's transitions since the last batch, published at most
 * every 50 ms, and only while a lease is alive. Its buffer holds 1 000 events; one more is dropped
 * and counted in `dropped`.
 */
export interface InspectBatch {
  server: string;
  events: InspectEvent[];
  /** Many-instance machines' counts per state, as in {@link InspectSnapshot}, when any of them changed since the last batch. */
  counts?: Record<string, Record<string, number>>;
  /** Events dropped since the process started (a watcher sees a gap when it grows). */
  dropped: number;
}

// ---- every subject ----------------------------------------------------------------------------

/**
 * Subject kind (the token after `<prefix>.<cluster>`) → its payloads: `request` and `reply` for
 * request/reply subjects (`results`: the reply's `result` by command or method), `message` for
 * publish-only ones.
 */
export interface WireMessages {
  rpc: { request: RpcRequest; reply: RpcReply };
  sys: { request: SysCommand; reply: SysReply };
  hb: { message: ServerInfo };
  discover: { message: DiscoverMessage };
  events: { message: ClusterEvent };
  admin: { request: AdminRequest; reply: AdminReply; results: AdminResults };
  handler: { message: HandlerBatch };
  handled: { message: HandledBatch };
  session: { request: SessionRequest; reply: RpcReply; results: SessionResults };
  push: { message: PushMessage };
  masters: { request: MastersRequest; reply: MasterInfo };
  watch: { request: WatchRequest; reply: InspectSnapshot | WatchRefusal };
  inspect: { message: InspectBatch };
}
