import zookeeper from 'node-zookeeper-client';
import type { Client, Stat } from 'node-zookeeper-client';

/**
 * A small promise wrapper over one node-zookeeper-client client (one ZooKeeper session): the
 * calls the master election needs, errors with a ZooKeeper code, and state changes by name.
 * No election logic here (that is `ZooKeeperLeadership`).
 *
 * Unlike the bare client, no call is left hanging once the connection is closed: node-zookeeper-client
 * keeps a request queued while it reconnects and may never answer it after `close()`; here every
 * pending call then rejects with `CONNECTION_CLOSED`. And `close()` is safe at any moment: the bare
 * client's `close()` throws when called in the tick `connect()` was, and when called while a
 * connect is under way it writes its close request ahead of the connect answer, then reads that
 * answer as the close's reply and throws `Unknown code: …` from its socket handler (an uncaught
 * exception). Here a client without a live session is closed by dropping its socket instead.
 */

/** How a node is created. */
export type CreateMode = 'PERSISTENT' | 'PERSISTENT_SEQUENTIAL' | 'EPHEMERAL' | 'EPHEMERAL_SEQUENTIAL';

/** Who may use a node this session creates: `own` = its authenticated user when it has `auth`, anyone otherwise. */
export type NodeAccess = 'own' | 'open';

/** The session as node-zookeeper-client reports it. */
export type ZooKeeperState = 'connected' | 'connected-read-only' | 'disconnected' | 'expired' | 'auth-failed';

/** A ZooKeeper error code (the client's `Exception` names), or `CONNECTION_CLOSED` after `close()`. */
export type ZooKeeperErrorCode =
  | 'NO_NODE'
  | 'NODE_EXISTS'
  | 'NOT_EMPTY'
  | 'BAD_VERSION'
  | 'NO_AUTH'
  | 'AUTH_FAILED'
  | 'CONNECTION_LOSS'
  | 'SESSION_EXPIRED'
  | 'OPERATION_TIMEOUT'
  | 'CONNECTION_CLOSED'
  | (string & {});

export class ZooKeeperError extends Error {
  override readonly name = 'ZooKeeperError';
  constructor(
    readonly code: ZooKeeperErrorCode,
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/** What a node looks like: the parts of its stat the election reads. */
export interface NodeStat {
  /** The zxid of the transaction that created the node: grows with every change to the ensemble. */
  czxid: bigint;
  version: number;
  /** The session owning an ephemeral node (hex), or `0` for a persistent one. */
  ephemeralOwner: string;
  numChildren: number;
}

/** A watch fired once: the node was created, deleted, changed, or its children changed. */
export interface WatchEvent {
  type: 'created' | 'deleted' | 'data-changed' | 'children-changed';
  path: string;
}

export interface ZooKeeperConnectionOptions {
  /** `host:port[,host:port…]` (an optional chroot path after the last port is allowed). */
  servers: string;
  /** The session timeout asked of the ensemble, ms (it may grant another within 2–20 ticks). */
  sessionTimeout: number;
  /** `user:password` for the `digest` scheme, sent first on every connection. */
  auth?: string;
  /** Max ms between two rounds over every server when none answers (node-zookeeper-client's spinDelay). */
  spinDelay?: number;
}

const WATCH_TYPES: Record<number, WatchEvent['type']> = {
  [zookeeper.Event.NODE_CREATED]: 'created',
  [zookeeper.Event.NODE_DELETED]: 'deleted',
  [zookeeper.Event.NODE_DATA_CHANGED]: 'data-changed',
  [zookeeper.Event.NODE_CHILDREN_CHANGED]: 'children-changed',
};

const CREATE_MODES: Record<CreateMode, number> = {
  PERSISTENT: zookeeper.CreateMode.PERSISTENT,
  PERSISTENT_SEQUENTIAL: zookeeper.CreateMode.PERSISTENT_SEQUENTIAL,
  EPHEMERAL: zookeeper.CreateMode.EPHEMERAL,
  EPHEMERAL_SEQUENTIAL: zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL,
};

/** Full rights for the session's authenticated user(s) (ZooKeeper's CREATOR_ALL_ACL). */
const CREATOR_ALL = [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('auth', ''))];
const OPEN = [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('world', 'anyone'))];

function toStat(stat: Stat): NodeStat {
  return {
    czxid: stat.czxid.readBigUInt64BE(0),
    version: stat.version,
    ephemeralOwner: stat.ephemeralOwner.toString('hex'),
    numChildren: stat.numChildren,
  };
}

function toError(error: unknown, path: string, op: string): ZooKeeperError {
  const code =
    error !== null && typeof error === 'object' && 'getName' in error && typeof error.getName === 'function'
      ? String(error.getName())
      : 'SYSTEM_ERROR';
  const text = error instanceof Error ? error.message : String(error);
  return new ZooKeeperError(code, path, `ZooKeeper ${op} ${path}: ${code}${text && !text.includes(code) ? ` (${text})` : ''}`);
}

/**
 * node-zookeeper-client's connection manager (1.1.3, pinned), as far as closing it needs: its
 * state numbers are its `ConnectionManager.STATES`.
 */
interface ConnectionManager {
  state: number;
  socket?: { destroy(): void };
  connectTimeoutHandler?: ReturnType<typeof setTimeout> | null;
  setState(state: number): void;
  on(event: 'state', listener: (state: number) => void): void;
  off(event: 'state', listener: (state: number) => void): void;
}
const MANAGER = { DISCONNECTED: 0, CONNECTED: 2, CONNECTED_READ_ONLY: 3, CLOSING: -1, CLOSED: -2 } as const;

/** How long a live session's close request may go unanswered before the socket is dropped, ms. */
export const CLOSE_GRACE_MS = 1_000;
/** How often a client being closed has its socket dropped again, until it reports CLOSED, ms. */
const CLOSE_RETRY_MS = 100;

function closeClient(client: Client): Promise<void> {
  const manager = (client as unknown as { connectionManager: ConnectionManager }).connectionManager;
  return new Promise((resolve) => {
    if (manager.state === MANAGER.CLOSED) return resolve();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onState = (state: number): void => {
      if (state !== MANAGER.CLOSED) return;
      clearTimeout(timer);
      manager.off('state', onState);
      resolve();
    };
    manager.on('state', onState);
    // Closing without a close request: a socket that closes in CLOSING ends in CLOSED, with no
    // reconnect. A socket opened later (the client was between two attempts) is dropped by the
    // next round, or by the client itself when the connect answer comes (nothing is pending).
    const drop = (): void => {
      if (manager.state !== MANAGER.CLOSING) {
        if (manager.socket === undefined && manager.state === MANAGER.DISCONNECTED) return manager.setState(MANAGER.CLOSED);
        manager.setState(MANAGER.CLOSING);
      }
      if (manager.connectTimeoutHandler) clearTimeout(manager.connectTimeoutHandler);
      manager.socket?.destroy();
      timer = setTimeout(drop, CLOSE_RETRY_MS);
    };
    if (manager.state === MANAGER.CONNECTED || manager.state === MANAGER.CONNECTED_READ_ONLY) {
      client.close();
      timer = setTimeout(drop, CLOSE_GRACE_MS);
    } else {
      drop();
    }
  });
}

/** True when `error` is a {@link ZooKeeperError} with this code. */
export function isZooKeeperError(error: unknown, code: ZooKeeperErrorCode): boolean {
  return error instanceof ZooKeeperError && error.code === code;
}

/**
 * One ZooKeeper session: created connecting, closed once. A lost session is not revived: open a
 * fresh connection.
 *
 * @example
 * const zk = ZooKeeperConnection.open({ servers: '127.0.0.1:2181', sessionTimeout: 4000 });
 * zk.onState((state) => console.log(state));
 * await zk.mkdirp('/shaddock/chat/master');
 */
export class ZooKeeperConnection {
  private readonly client: Client;
  private readonly pending = new Set<(error: ZooKeeperError) => void>();
  private closed = false;
  private closing: Promise<void> | undefined;

  private constructor(private readonly options: ZooKeeperConnectionOptions) {
    this.client = zookeeper.createClient(options.servers, {
      sessionTimeout: options.sessionTimeout,
      spinDelay: options.spinDelay ?? 250,
      // Reconnecting is node-zookeeper-client's job; retries here are for a request's own failure.
      retries: 0,
    });
    // Before connecting: the client keeps it and sends it first on every connection it makes.
    if (options.auth !== undefined) this.client.addAuthInfo('digest', Buffer.from(options.auth));
  }

  /** A fresh session, connecting; its state changes come through {@link onState}. */
  static open(options: ZooKeeperConnectionOptions): ZooKeeperConnection {
    const connection = new ZooKeeperConnection(options);
    connection.client.connect();
    return connection;
  }

  /** Calls `listener` on each state change of the session (not for the state it is in now). */
  onState(listener: (state: ZooKeeperState) => void): void {
    this.client.on('state', (state) => {
      if (this.closed) return;
      const named = this.stateName(state.code);
      if (named !== undefined) listener(named);
    });
  }

  /** The session id (hex) once connected; all zeros before. */
  get sessionId(): string {
    return this.client.getSessionId().toString('hex');
  }

  /** The session timeout the ensemble granted (the asked one before connecting). */
  get sessionTimeout(): number {
    return this.client.getSessionTimeout();
  }

  /**
   * Creates `path` and every missing parent, persistent; no error when it exists. With `auth`,
   * new nodes are the session user's only, unless `access` is `'open'` (e.g. for shared parents).
   */
  mkdirp(path: string, access: NodeAccess = 'own'): Promise<void> {
    return this.call(path, 'mkdirp', (done) => this.client.mkdirp(path, this.acl(access), zookeeper.CreateMode.PERSISTENT, (e) => done(e, undefined)));
  }

  /** Creates a node and returns its path (with the sequence number, for a sequential mode). */
  create(path: string, data: Buffer | undefined, mode: CreateMode): Promise<string> {
    return this.call(path, 'create', (done) =>
      data === undefined
        ? this.client.create(path, this.acl(), CREATE_MODES[mode], done)
        : this.client.create(path, data, this.acl(), CREATE_MODES[mode], done),
    );
  }

  /** The names (not paths) of `path`'s children. */
  getChildren(path: string): Promise<string[]> {
    return this.call(path, 'getChildren', (done) => this.client.getChildren(path, (e, children) => done(e, children)));
  }

  /** The node's stat, or undefined when there is none. With `watch`: told once when it is created, deleted or changed. */
  exists(path: string, watch?: (event: WatchEvent) => void): Promise<NodeStat | undefined> {
    return this.call(path, 'exists', (done) => {
      const callback = (e: unknown, stat: Stat | null | undefined): void => done(e, stat ? toStat(stat) : undefined);
      if (watch) this.client.exists(path, this.watcher(watch), callback);
      else this.client.exists(path, callback);
    });
  }

  /** The node's data and stat. With `watch`: told once when it changes or goes. Rejects `NO_NODE` when there is none. */
  getData(path: string, watch?: (event: WatchEvent) => void): Promise<{ data: Buffer; stat: NodeStat }> {
    return this.call(path, 'getData', (done) => {
      const callback = (e: unknown, data: Buffer | null | undefined, stat: Stat): void =>
        done(e, e ? undefined : { data: data ?? Buffer.alloc(0), stat: toStat(stat) });
      if (watch) this.client.getData(path, this.watcher(watch), callback);
      else this.client.getData(path, callback);
    });
  }

  /** Replaces the node's data (any version). */
  setData(path: string, data: Buffer): Promise<NodeStat> {
    return this.call(path, 'setData', (done) => this.client.setData(path, data, -1, (e, stat) => done(e, e ? undefined : toStat(stat))));
  }

  /** Sets `path`'s data only if `guard` exists, in one transaction (a deposed owner of `guard` writes nothing). */
  setDataIfExists(guard: string, path: string, data: Buffer): Promise<void> {
    return this.call(path, 'setData', (done) =>
      this.client
        .transaction()
        .check(guard)
        .setData(path, data, -1)
        .commit((e) => done(e, undefined)),
    );
  }

  /** Deletes the node (any version). */
  remove(path: string): Promise<void> {
    return this.call(path, 'remove', (done) => this.client.remove(path, -1, (e) => done(e, undefined)));
  }

  /**
   * Closes the session and rejects every pending call with `CONNECTION_CLOSED`; resolves once the
   * client has let go of its socket. With a live session the ensemble is asked to close it (its
   * ephemeral nodes go at once); one that does not answer within {@link CLOSE_GRACE_MS} is dropped.
   * Mid-connect (first connect or reconnect) the socket is dropped at once: there is no session to
   * close yet, or none that can be reached. Settles in every state; idempotent.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    const closedError = (path: string): ZooKeeperError =>
      new ZooKeeperError('CONNECTION_CLOSED', path, `ZooKeeper connection to ${this.options.servers} closed`);
    for (const reject of [...this.pending]) reject(closedError(''));
    this.pending.clear();
    this.closing = closeClient(this.client);
    return this.closing;
  }

  private acl(access: NodeAccess = 'own'): typeof OPEN {
    return this.options.auth === undefined || access === 'open' ? OPEN : CREATOR_ALL;
  }

  private watcher(watch: (event: WatchEvent) => void): (event: { getType(): number; getPath(): string }) => void {
    return (event) => {
      const type = WATCH_TYPES[event.getType()];
      if (type !== undefined && !this.closed) watch({ type, path: event.getPath() });
    };
  }

  private stateName(code: number): ZooKeeperState | undefined {
    switch (code) {
      case zookeeper.State.SYNC_CONNECTED.code:
        return 'connected';
      case zookeeper.State.CONNECTED_READ_ONLY.code:
        return 'connected-read-only';
      case zookeeper.State.DISCONNECTED.code:
        return 'disconnected';
      case zookeeper.State.EXPIRED.code:
        return 'expired';
      case zookeeper.State.AUTH_FAILED.code:
        return 'auth-failed';
      default:
        return undefined;
    }
  }

  private call<T>(path: string, op: string, start: (done: (error: unknown, value?: T) => void) => void): Promise<T> {
    if (this.closed) {
      return Promise.reject(new ZooKeeperError('CONNECTION_CLOSED', path, `ZooKeeper ${op} ${path}: connection closed`));
    }
    return new Promise<T>((resolve, reject) => {
      const fail = (error: ZooKeeperError): void => {
        this.pending.delete(fail);
        reject(error);
      };
      this.pending.add(fail);
      start((error, value) => {
        if (!this.pending.delete(fail)) return; // closed meanwhile: already rejected
        if (error) reject(toError(error, path, op));
        else resolve(value as T);
      });
    });
  }
}
