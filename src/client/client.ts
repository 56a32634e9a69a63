/**
 * The client side of Pomelo's wire protocol (see docs/client.md): handshake, heartbeats,
 * requests matched by id, notifies, pushes, route dictionary, kick, reconnect. Browser-safe: it
 * only needs a {@link TransportFactory}, Uint8Array, TextEncoder/TextDecoder and timers.
 */
import {
  decodeMessage,
  decodePackages,
  encodeDataPackage,
  encodePackage,
  MessageType,
  PackageReader,
  PackageType,
  ProtocolError,
  type Package,
} from '../transport/connector/protocol.ts';
import type { DefaultRoutes, PushMap, RequestArgs, RouteMap, UntypedPushes } from './routes.ts';
import type { Transport, TransportFactory } from './transport.ts';

/** Sent in the handshake's `sys.type` and `sys.version`. */
export const CLIENT_TYPE = 'shaddock-js';
export const CLIENT_VERSION = '0.1.0';

/** A JSON value, for what the client sends in its handshake. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export interface ReconnectOptions {
  /** Attempts after a connection is lost before giving up (default 10). */
  maxAttempts?: number;
  /** Delay before the first attempt, in ms (default 500); doubled after every failed one. */
  initialDelay?: number;
  /** Longest delay between attempts, in ms (default 10000). */
  maxDelay?: number;
}

export interface ClientBaseOptions {
  /** `user` of the handshake, given to the server as is. */
  handshakeUser?: Json;
  /** Default timeout of a request in ms (default 10000; 0: none). */
  requestTimeout?: number;
  /** Time allowed to open the connection and complete the handshake, in ms (default 10000). */
  connectTimeout?: number;
  /** Reconnect when a working connection is lost (not after a kick or `disconnect()`); off by default. */
  reconnect?: boolean | ReconnectOptions;
}

export interface RequestOptions {
  /** This request's timeout in ms (0: none); defaults to the client's `requestTimeout`. */
  timeout?: number;
}

/** What `connect()` resolves with (and the `reconnect` event carries): the server's handshake. */
export interface ConnectResult {
  /** Heartbeat interval in seconds (0: no heartbeats). */
  heartbeat: number;
  /** The `user` part of the server's handshake answer. */
  user: unknown;
  /** Version of the route dictionary in use (cached by the client across reconnects). */
  dictVersion: string | number | undefined;
}

export type DisconnectReason = 'client' | 'server' | 'kick' | 'heartbeat' | 'protocol' | 'error';

export interface DisconnectEvent {
  /** `client`: `disconnect()`; `server`: the server closed; `kick`: after a kick; `heartbeat`: the server went silent; `protocol`: it sent malformed bytes; `error`: the transport failed. */
  reason: DisconnectReason;
  error?: Error;
  /** Whether the client is going to try to reconnect. */
  reconnecting: boolean;
}

/** The client's own events, next to push routes in `on()`. */
export interface ClientEvents {
  /** The server kicked this client (the connection closes next). */
  kick: { reason: string };
  /** A connection that had completed its handshake is gone. */
  disconnect: DisconnectEvent;
  /** A lost connection is back, handshake done. */
  reconnect: ConnectResult;
  /** Malformed input from the server (a {@link ProtocolError}), a failed reconnect, ... */
  error: Error;
}

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** The handshake was refused: 500 (bad handshake) or 501 (client too old). */
export class HandshakeError extends Error {
  constructor(readonly code: number) {
    super(`handshake refused by the server with code ${code}${code === 501 ? ' (client version too old)' : code === 500 ? ' (bad handshake)' : ''}`);
    this.name = 'HandshakeError';
  }
}

/** A request that cannot complete because the client is not (or no longer) connected. */
export class DisconnectedError extends Error {
  constructor(
    readonly route: string,
    detail: string,
  ) {
    super(`request "${route}" failed: ${detail}`);
    this.name = 'DisconnectedError';
  }
}

/** No response in time. */
export class RequestTimeoutError extends Error {
  constructor(
    readonly route: string,
    readonly timeout: number,
  ) {
    super(`request "${route}" got no response within ${timeout} ms`);
    this.name = 'RequestTimeoutError';
  }
}

interface Pending {
  route: string;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

interface HandshakeReply {
  code?: number;
  sys?: {
    heartbeat?: number;
    dict?: Record<string, number>;
    routeToCode?: Record<string, number>;
    codeToRoute?: Record<string, string>;
    dictVersion?: string | number;
    useDict?: boolean;
  };
  user?: unknown;
}

type Listener = (payload: never) => void;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** One transport connection and its timers. */
interface Connection {
  transport: Transport;
  reader: PackageReader | undefined;
  state: 'opening' | 'handshaking' | 'working' | 'closing';
  heartbeatMs: number;
  nextHeartbeat: ReturnType<typeof setTimeout> | undefined;
  silence: ReturnType<typeof setTimeout> | undefined;
  /** The handshake completed: losing it is a disconnect (else a failed attempt). */
  established: boolean;
  /** Why it is closing, when we know better than the transport. */
  reason: DisconnectReason | undefined;
  error: Error | undefined;
  /** Settles the handshake (connect or reconnect attempt). */
  handshake: { resolve(result: ConnectResult): void; reject(error: Error): void; timer: ReturnType<typeof setTimeout> };
  closed: Promise<void>;
  markClosed(): void;
}

/**
 * A client of one Shaddock (or Pomelo) frontend. `R` types requests by route, `P` pushes by route.
 *
 * @example
 * const client = createClient({ url: 'ws://127.0.0.1:3014' });
 * await client.connect();
 * const entry = await client.request('gate.gateHandler.queryEntry', { uid: 'alice' });
 * client.on('onChat', (msg) => console.log(msg));
 */
export class ShaddockClient<R extends RouteMap = DefaultRoutes, P extends PushMap = UntypedPushes> {
  private connection: Connection | undefined;
  private status: ConnectionState = 'idle';
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly pending = new Map<number, Pending>();
  private lastId = 0;
  private routeToCode = new Map<string, number>();
  private codeToRoute = new Map<number, string>();
  private cachedDict: Record<string, number> | undefined;
  private cachedDictVersion: string | number | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private reconnectAttempt = 0;
  private lastResult: ConnectResult | undefined;
  private connecting: Promise<ConnectResult> | undefined;
  private readonly reconnectOptions: Required<ReconnectOptions> | undefined;

  constructor(
    /** Where the client connects: a name for messages (`ws://host:port`, `tcp://host:port`). */
    readonly target: string,
    private readonly openTransport: TransportFactory,
    private readonly options: ClientBaseOptions = {},
  ) {
    const reconnect = options.reconnect;
    this.reconnectOptions = reconnect
      ? { maxAttempts: 10, initialDelay: 500, maxDelay: 10_000, ...(reconnect === true ? {} : reconnect) }
      : undefined;
  }

  /** `idle` (never connected), `connecting`, `connected`, `reconnecting` or `closed`. */
  get state(): ConnectionState {
    return this.status;
  }

  /** The route dictionary the server gave (route → code); empty when it uses none. */
  get dict(): Readonly<Record<string, number>> {
    return Object.fromEntries(this.routeToCode);
  }

  /** The cached dictionary's version, sent in every handshake so the server can leave it out. */
  get dictVersion(): string | number | undefined {
    return this.cachedDictVersion;
  }

  /**
   * Opens the connection and completes the handshake. Rejects with a {@link HandshakeError} when
   * the server refuses it (code 500 or 501), or an Error when the connection fails or times out.
   */
  connect(): Promise<ConnectResult> {
    if (this.status === 'connected' && this.lastResult) return Promise.resolve(this.lastResult);
    if (this.connecting) return this.connecting;
    this.cancelReconnect();
    const previous = this.connection;
    if (previous && previous.state !== 'closing') {
      // A reconnect attempt in flight: replace it.
      previous.reason = 'client';
      previous.state = 'closing';
      this.stopTimers(previous);
      previous.handshake.reject(new Error(`reconnect to ${this.target} superseded by connect()`));
      previous.transport.close();
    }
    this.connection = undefined;
    this.status = 'connecting';
    const attempt = this.open().then(
      (result) => {
        this.connecting = undefined;
        this.status = 'connected';
        return result;
      },
      (error: unknown) => {
        this.connecting = undefined;
        this.status = 'closed';
        throw error;
      },
    );
    this.connecting = attempt;
    return attempt;
  }

  /**
   * Closes the connection for good (no reconnect). Pending requests reject with a
   * {@link DisconnectedError}. Resolves once the transport has closed.
   */
  disconnect(): Promise<void> {
    this.cancelReconnect();
    const connection = this.connection;
    const wasConnected = this.status === 'connected';
    this.status = 'closed';
    if (!connection) return Promise.resolve();
    connection.reason = 'client';
    if (connection.state !== 'closing') {
      const working = connection.state === 'working';
      connection.state = 'closing';
      this.stopTimers(connection);
      connection.handshake.reject(new Error(`connect to ${this.target} cancelled by disconnect()`));
      this.rejectPending('the client disconnected');
      connection.transport.close();
      if (working && wasConnected) this.emit('disconnect', { reason: 'client', reconnecting: false });
    }
    return connection.closed;
  }

  /** Sends a request; resolves with the response body (a `{code: 500, ...}` body is data, not an error). */
  request<K extends keyof R & string>(route: K, ...args: RequestArgs<R[K]['msg'], RequestOptions>): Promise<R[K]['response']> {
    const [msg, options] = args;
    const connection = this.connection;
    if (this.status !== 'connected' || !connection || connection.state !== 'working') {
      return Promise.reject(new DisconnectedError(route, `not connected to ${this.target} (${this.status})`));
    }
    this.lastId = this.lastId >= 0xffffffff ? 1 : this.lastId + 1;
    const id = this.lastId;
    let bytes: Uint8Array;
    try {
      bytes = this.encode(MessageType.Request, id, route, msg);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return new Promise<R[K]['response']>((resolve, reject) => {
      const timeout = options?.timeout ?? this.options.requestTimeout ?? 10_000;
      const timer =
        timeout > 0
          ? setTimeout(() => {
              this.pending.delete(id);
              reject(new RequestTimeoutError(route, timeout));
            }, timeout)
          : undefined;
      this.pending.set(id, { route, resolve: resolve as (value: unknown) => void, reject, timer });
      connection.transport.send(bytes);
    });
  }

  /** Sends a notify: no id, no response. Throws a {@link DisconnectedError} when not connected. */
  notify<K extends keyof R & string>(route: K, msg?: R[K]['msg']): void {
    const connection = this.connection;
    if (this.status !== 'connected' || !connection || connection.state !== 'working') {
      throw new DisconnectedError(route, `not connected to ${this.target} (${this.status})`);
    }
    connection.transport.send(this.encode(MessageType.Notify, 0, route, msg));
  }

  /** Listens to a push route (`onChat`) or a client event (`kick`, `disconnect`, `reconnect`, `error`). */
  on<E extends keyof ClientEvents>(event: E, fn: (payload: ClientEvents[E]) => void): this;
  on<K extends keyof P & string>(route: K, fn: (body: P[K]) => void): this;
  on(event: string, fn: (payload: unknown) => void): this;
  on(event: string, fn: (payload: never) => void): this {
    return this.addListener(event, fn);
  }

  private addListener(event: string, fn: Listener): this {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn);
    return this;
  }

  /** Like {@link on}, for the next one only. */
  once<E extends keyof ClientEvents>(event: E, fn: (payload: ClientEvents[E]) => void): this;
  once<K extends keyof P & string>(route: K, fn: (body: P[K]) => void): this;
  once(event: string, fn: (payload: unknown) => void): this;
  once(event: string, fn: (payload: never) => void): this {
    const wrapper = Object.assign(
      (payload: never): void => {
        this.off(event, wrapper);
        fn(payload);
      },
      { listener: fn },
    );
    return this.addListener(event, wrapper);
  }

  /** Removes a listener (or every listener of `event` when `fn` is left out). */
  off(event: string, fn?: (payload: never) => void): this {
    if (!fn) {
      this.listeners.delete(event);
      return this;
    }
    const set = this.listeners.get(event);
    for (const listener of set ?? []) {
      if (listener === fn || (listener as Listener & { listener?: Listener }).listener === fn) set?.delete(listener);
    }
    return this;
  }

  private emit(event: string, payload: unknown): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        (fn as (payload: unknown) => void)(payload);
      } catch (error) {
        // A throwing listener must not break the connection; report it on a later tick.
        setTimeout(() => {
          throw error;
        });
      }
    }
  }

  private encode(type: MessageType, id: number, route: string, msg: unknown): Uint8Array {
    const code = this.routeToCode.get(route);
    const body = encoder.encode(JSON.stringify(msg === undefined ? {} : msg));
    return code === undefined
      ? encodeDataPackage({ type, id, route, compressRoute: false, body })
      : encodeDataPackage({ type, id, route: code, compressRoute: true, body });
  }

  /** Opens one connection and runs the handshake on it. */
  private open(): Promise<ConnectResult> {
    return new Promise<ConnectResult>((resolve, reject) => {
      let markClosed!: () => void;
      const closed = new Promise<void>((done) => (markClosed = done));
      const connectTimeout = this.options.connectTimeout ?? 10_000;
      let settled = false;
      const handshake = {
        resolve: (result: ConnectResult) => {
          if (settled) return;
          settled = true;
          clearTimeout(handshake.timer);
          resolve(result);
        },
        reject: (error: Error) => {
          if (settled) return;
          settled = true;
          clearTimeout(handshake.timer);
          reject(error);
        },
        timer: setTimeout(() => {
          if (settled) return;
          this.fail(connection, 'error', new Error(`connect to ${this.target}: no handshake within ${connectTimeout} ms`));
        }, connectTimeout),
      };
      const connection: Connection = {
        transport: undefined as unknown as Transport,
        reader: undefined,
        state: 'opening',
        heartbeatMs: 0,
        nextHeartbeat: undefined,
        silence: undefined,
        established: false,
        reason: undefined,
        error: undefined,
        handshake,
        closed,
        markClosed,
      };
      this.connection = connection;
      try {
        connection.transport = this.openTransport({
          open: () => this.onOpen(connection),
          data: (bytes) => this.onData(connection, bytes),
          close: (error) => this.onClose(connection, error),
        });
      } catch (error) {
        clearTimeout(handshake.timer);
        this.connection = undefined;
        markClosed();
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      if (connection.transport.framing === 'stream') connection.reader = new PackageReader();
    });
  }

  private onOpen(connection: Connection): void {
    if (connection.state !== 'opening') return;
    connection.state = 'handshaking';
    const sys: Record<string, Json> = { type: CLIENT_TYPE, version: CLIENT_VERSION };
    if (this.cachedDictVersion !== undefined) sys.dictVersion = this.cachedDictVersion;
    const hello: Record<string, Json> = { sys };
    if (this.options.handshakeUser !== undefined) hello.user = this.options.handshakeUser;
    connection.transport.send(encodePackage(PackageType.Handshake, encoder.encode(JSON.stringify(hello))));
  }

  private onData(connection: Connection, bytes: Uint8Array): void {
    if (connection.state === 'closing' || this.connection !== connection) return;
    let packages: Package[];
    try {
      packages = connection.reader ? connection.reader.push(bytes) : decodePackages(bytes);
    } catch (error) {
      this.fail(connection, 'protocol', toError(error));
      return;
    }
    if (connection.heartbeatMs > 0) this.watchSilence(connection);
    for (const pkg of packages) {
      if (isClosing(connection)) return;
      try {
        this.onPackage(connection, pkg);
      } catch (error) {
        this.fail(connection, 'protocol', toError(error));
        return;
      }
    }
  }

  private onPackage(connection: Connection, pkg: Package): void {
    switch (pkg.type) {
      case PackageType.Handshake:
        return this.onHandshake(connection, pkg.body);
      case PackageType.Heartbeat:
        if (connection.state === 'working' && connection.heartbeatMs > 0 && connection.nextHeartbeat === undefined) {
          connection.nextHeartbeat = setTimeout(() => {
            connection.nextHeartbeat = undefined;
            if (connection.state === 'working') connection.transport.send(encodePackage(PackageType.Heartbeat));
          }, connection.heartbeatMs);
        }
        return;
      case PackageType.Data:
        if (connection.state !== 'working') throw new ProtocolError('data package before the handshake completed', 0);
        return this.onMessage(pkg.body);
      case PackageType.Kick: {
        const body = pkg.body.length ? parseJson(pkg.body, 0, 'kick') : {};
        const reason = isRecord(body) && typeof body.reason === 'string' ? body.reason : '';
        connection.reason = 'kick';
        this.emit('kick', { reason });
        connection.transport.close(); // the server closes too; no reconnect after a kick
        return;
      }
      case PackageType.HandshakeAck:
        throw new ProtocolError('unexpected handshake-ack package from the server', 0);
    }
  }

  private onHandshake(connection: Connection, body: Uint8Array): void {
    if (connection.state !== 'handshaking') throw new ProtocolError('unexpected handshake package', 0);
    const reply = parseJson(body, 0, 'handshake') as HandshakeReply;
    if (!isRecord(reply)) throw new ProtocolError('handshake answer is not a JSON object', 4);
    if (reply.code !== 200) {
      this.fail(connection, 'server', new HandshakeError(typeof reply.code === 'number' ? reply.code : 500));
      return;
    }
    const sys = isRecord(reply.sys) ? reply.sys : {};
    this.useDict(sys);
    const heartbeat = typeof sys.heartbeat === 'number' && sys.heartbeat > 0 ? sys.heartbeat : 0;
    connection.heartbeatMs = heartbeat * 1000;
    connection.state = 'working';
    connection.established = true;
    connection.transport.send(encodePackage(PackageType.HandshakeAck));
    // The server sends the first heartbeat once it has the ack; the client answers each one
    // `heartbeat` seconds later (Pomelo's rhythm), so only the silence watch starts here.
    if (heartbeat > 0) this.watchSilence(connection);
    const result: ConnectResult = { heartbeat, user: reply.user, dictVersion: this.cachedDictVersion };
    this.lastResult = result;
    connection.handshake.resolve(result);
  }

  /** Takes the server's dictionary, or keeps the cached one when the server left it out as current. */
  private useDict(sys: NonNullable<HandshakeReply['sys']>): void {
    const dict = isRecord(sys.dict) ? sys.dict : isRecord(sys.routeToCode) ? sys.routeToCode : undefined;
    if (dict) {
      this.cachedDict = dict;
      this.cachedDictVersion = sys.dictVersion;
    } else if (sys.useDict === false || (sys.dictVersion !== undefined && sys.dictVersion !== this.cachedDictVersion)) {
      this.cachedDict = undefined;
      this.cachedDictVersion = undefined;
    }
    this.routeToCode = new Map();
    this.codeToRoute = new Map();
    for (const [route, code] of Object.entries(this.cachedDict ?? {})) {
      if (typeof code !== 'number') continue;
      this.routeToCode.set(route, code);
      this.codeToRoute.set(code, route);
    }
  }

  private onMessage(bytes: Uint8Array): void {
    const message = decodeMessage(bytes);
    const bodyAt = bytes.length - message.body.length;
    if (message.gzip) throw new ProtocolError('gzip-compressed message bodies are not supported', 0);
    if (message.type === MessageType.Response) {
      const pending = this.pending.get(message.id);
      if (!pending) return; // timed out already
      const body = message.body.length ? parseJson(message.body, bodyAt, 'response') : {};
      this.pending.delete(message.id);
      clearTimeout(pending.timer);
      pending.resolve(body);
      return;
    }
    if (message.type !== MessageType.Push) throw new ProtocolError(`unexpected message type ${message.type} from the server`, 0);
    let route: string;
    if (typeof message.route === 'number') {
      const known = this.codeToRoute.get(message.route);
      if (known === undefined) {
        this.emit('error', new ProtocolError(`push with route code ${message.route}, which is not in the dictionary`, 1));
        return;
      }
      route = known;
    } else {
      route = message.route;
    }
    this.emit(route, message.body.length ? parseJson(message.body, bodyAt, `push "${route}"`) : {});
  }

  private watchSilence(connection: Connection): void {
    clearTimeout(connection.silence);
    connection.silence = setTimeout(() => {
      this.fail(connection, 'heartbeat', new Error(`nothing from ${this.target} for ${(2 * connection.heartbeatMs) / 1000} s`));
    }, 2 * connection.heartbeatMs);
  }

  private stopTimers(connection: Connection): void {
    clearTimeout(connection.nextHeartbeat);
    clearTimeout(connection.silence);
    connection.nextHeartbeat = undefined;
    connection.silence = undefined;
  }

  /** Ends a connection on our side: the transport's close then finishes the job. */
  private fail(connection: Connection, reason: DisconnectReason, error: Error): void {
    if (connection.state === 'closing') return;
    connection.reason = reason;
    connection.error = error;
    if (reason === 'protocol') this.emit('error', error);
    connection.state = 'closing';
    this.stopTimers(connection);
    connection.handshake.reject(error);
    connection.transport.close();
  }

  private onClose(connection: Connection, transportError: Error | undefined): void {
    connection.state = 'closing';
    this.stopTimers(connection);
    connection.markClosed();
    if (this.connection !== connection) return;
    this.connection = undefined;
    const reason: DisconnectReason = connection.reason ?? (transportError ? 'error' : 'server');
    const error = connection.error ?? transportError;
    connection.handshake.reject(error ?? new Error(`connection to ${this.target} closed before the handshake completed`));
    if (reason === 'client') return; // disconnect() has done the rest
    this.rejectPending(`the connection to ${this.target} closed (${reason}${error ? `: ${error.message}` : ''})`);
    if (!connection.established) return; // a failed connect or reconnect attempt: its caller handles it
    const reconnecting = this.reconnectOptions !== undefined && (reason === 'server' || reason === 'heartbeat' || reason === 'error');
    this.status = reconnecting ? 'reconnecting' : 'closed';
    this.emit('disconnect', error ? { reason, error, reconnecting } : { reason, reconnecting });
    if (reconnecting) {
      this.reconnectAttempt = 0;
      this.scheduleReconnect();
    }
  }

  private rejectPending(detail: string): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const entry of pending) {
      clearTimeout(entry.timer);
      entry.reject(new DisconnectedError(entry.route, detail));
    }
  }

  private scheduleReconnect(): void {
    const options = this.reconnectOptions!;
    if (this.reconnectAttempt >= options.maxAttempts) {
      this.status = 'closed';
      this.emit('error', new Error(`gave up reconnecting to ${this.target} after ${options.maxAttempts} attempt(s)`));
      return;
    }
    const delay = Math.min(options.initialDelay * 2 ** this.reconnectAttempt, options.maxDelay);
    this.reconnectAttempt++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.status !== 'reconnecting') return;
      this.open().then(
        (result) => {
          if (this.status !== 'reconnecting') return;
          this.status = 'connected';
          this.reconnectAttempt = 0;
          this.emit('reconnect', result);
        },
        (error: unknown) => {
          if (this.status !== 'reconnecting') return;
          if (error instanceof HandshakeError) {
            this.status = 'closed';
            this.emit('error', error);
            return;
          }
          this.scheduleReconnect();
        },
      );
    }, delay);
  }

  private cancelReconnect(): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }
}

/** Read through a call, so that TypeScript does not narrow a state that callbacks change. */
function isClosing(connection: Connection): boolean {
  return connection.state === 'closing';
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(bytes: Uint8Array, offset: number, what: string): unknown {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new ProtocolError(`${what} body is not valid UTF-8`, offset);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ProtocolError(`${what} body is not valid JSON`, offset);
  }
}
