/**
 * The client side of Pomelo's wire protocol (see docs/client.md): handshake, heartbeats,
 * requests matched by id, notifies, pushes, route dictionary, kick, reconnect. Browser-safe: it
 * only needs a {@link TransportFactory}, Uint8Array, TextEncoder/TextDecoder and timers (a
 * {@link ClientClock}, the global timers by default).
 */
import {
  decodePackages,
  encodePackage,
  MessageType,
  PackageReader,
  PackageType,
  ProtocolError,
  type Package,
} from '../transport/connector/protocol.ts';
import { globalClock } from './clock.ts';
import { isClosing, newConnection, type Connection } from './connection.ts';
import { RouteDictionary } from './dictionary.ts';
import { Listeners, type Listener } from './emitter.ts';
import { DisconnectedError, HandshakeError } from './errors.ts';
import { handshakePackage, type HandshakeReply } from './handshake.ts';
import { answerHeartbeat, stopHeartbeats, watchSilence } from './heartbeat.ts';
import { deliverMessage } from './messages.ts';
import { Reconnector } from './reconnect.ts';
import { RequestTable } from './requests.ts';
import type { DefaultRoutes, PushMap, RequestArgs, RouteMap, UntypedPushes } from './routes.ts';
import type { TransportFactory } from './transport.ts';
import type { ClientBaseOptions, ClientClock, ClientEvents, ConnectionState, ConnectResult, DisconnectReason, RequestOptions } from './types.ts';
import { isRecord, messagePackage, parseJson, toError } from './wire.ts';

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
  private readonly listeners = new Listeners();
  private readonly clock: ClientClock;
  private readonly requests: RequestTable;
  private readonly dictionary = new RouteDictionary();
  private lastResult: ConnectResult | undefined;
  private connecting: Promise<ConnectResult> | undefined;
  private readonly reconnector: Reconnector | undefined;

  constructor(
    /** Where the client connects: a name for messages (`ws://host:port`, `tcp://host:port`). */
    readonly target: string,
    private readonly openTransport: TransportFactory,
    private readonly options: ClientBaseOptions = {},
  ) {
    this.clock = options.clock ?? globalClock;
    this.requests = new RequestTable(this.clock);
    const reconnect = options.reconnect;
    this.reconnector = reconnect ? new Reconnector(reconnect, this.clock) : undefined;
  }

  /** `idle` (never connected), `connecting`, `connected`, `reconnecting` or `closed`. */
  get state(): ConnectionState {
    return this.status;
  }

  /** The route dictionary the server gave (route → code); empty when it uses none. */
  get dict(): Readonly<Record<string, number>> {
    return this.dictionary.toRecord();
  }

  /** The cached dictionary's version, sent in every handshake so the server can leave it out. */
  get dictVersion(): string | number | undefined {
    return this.dictionary.version;
  }

  /**
   * Opens the connection and completes the handshake. Rejects with a {@link HandshakeError} when
   * the server refuses it (code 500 or 501), or an Error when the connection fails or times out.
   */
  connect(): Promise<ConnectResult> {
    if (this.status === 'connected' && this.lastResult) return Promise.resolve(this.lastResult);
    if (this.connecting) return this.connecting;
    this.reconnector?.cancel();
    const previous = this.connection;
    if (previous && previous.state !== 'closing') {
      // A reconnect attempt in flight: replace it.
      previous.reason = 'client';
      previous.state = 'closing';
      stopHeartbeats(previous);
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
    this.reconnector?.cancel();
    const connection = this.connection;
    const wasConnected = this.status === 'connected';
    this.status = 'closed';
    if (!connection) return Promise.resolve();
    connection.reason = 'client';
    if (connection.state !== 'closing') {
      const working = connection.state === 'working';
      connection.state = 'closing';
      stopHeartbeats(connection);
      connection.handshake.reject(new Error(`connect to ${this.target} cancelled by disconnect()`));
      this.requests.rejectAll('the client disconnected');
      connection.transport.close();
      if (working && wasConnected) this.listeners.emit('disconnect', { reason: 'client', reconnecting: false });
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
    const id = this.requests.nextId();
    let bytes: Uint8Array;
    try {
      bytes = messagePackage(this.dictionary, MessageType.Request, id, route, msg);
    } catch (error) {
      return Promise.reject(toError(error));
    }
    return new Promise<R[K]['response']>((resolve, reject) => {
      const timeout = options?.timeout ?? this.options.requestTimeout ?? 10_000;
      this.requests.add(id, route, timeout, resolve as (value: unknown) => void, reject);
      connection.transport.send(bytes);
    });
  }

  /** Sends a notify: no id, no response. Throws a {@link DisconnectedError} when not connected. */
  notify<K extends keyof R & string>(route: K, msg?: R[K]['msg']): void {
    const connection = this.connection;
    if (this.status !== 'connected' || !connection || connection.state !== 'working') {
      throw new DisconnectedError(route, `not connected to ${this.target} (${this.status})`);
    }
    connection.transport.send(messagePackage(this.dictionary, MessageType.Notify, 0, route, msg));
  }

  /** Listens to a push route (`onChat`) or a client event (`kick`, `disconnect`, `reconnect`, `error`). */
  on<E extends keyof ClientEvents>(event: E, fn: (payload: ClientEvents[E]) => void): this;
  on<K extends keyof P & string>(route: K, fn: (body: P[K]) => void): this;
  on(event: string, fn: (payload: unknown) => void): this;
  on(event: string, fn: Listener): this {
    this.listeners.add(event, fn);
    return this;
  }

  /** Like {@link on}, for the next one only. */
  once<E extends keyof ClientEvents>(event: E, fn: (payload: ClientEvents[E]) => void): this;
  once<K extends keyof P & string>(route: K, fn: (body: P[K]) => void): this;
  once(event: string, fn: (payload: unknown) => void): this;
  once(event: string, fn: Listener): this {
    this.listeners.once(event, fn);
    return this;
  }

  /** Removes a listener (or every listener of `event` when `fn` is left out). */
  off(event: string, fn?: Listener): this {
    this.listeners.off(event, fn);
    return this;
  }

  /** Opens one connection and runs the handshake on it. */
  private open(): Promise<ConnectResult> {
    return new Promise<ConnectResult>((resolve, reject) => {
      const connectTimeout = this.options.connectTimeout ?? 10_000;
      const connection = newConnection(this.clock, connectTimeout, resolve, reject, (timedOut) => {
        this.fail(timedOut, 'error', new Error(`connect to ${this.target}: no handshake within ${connectTimeout} ms`));
      });
      this.connection = connection;
      try {
        connection.transport = this.openTransport({
          open: () => this.onOpen(connection),
          data: (bytes) => this.onData(connection, bytes),
          close: (error) => this.onClose(connection, error),
        });
      } catch (error) {
        this.clock.clearTimeout(connection.handshake.timer);
        this.connection = undefined;
        connection.markClosed();
        reject(toError(error));
        return;
      }
      if (connection.transport.framing === 'stream') connection.reader = new PackageReader();
    });
  }

  private onOpen(connection: Connection): void {
    if (connection.state !== 'opening') return;
    connection.state = 'handshaking';
    connection.transport.send(handshakePackage(this.dictionary.version, this.options.handshakeUser));
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
        return answerHeartbeat(connection);
      case PackageType.Data:
        if (connection.state !== 'working') throw new ProtocolError('data package before the handshake completed', 0);
        return deliverMessage(pkg.body, this.requests, this.dictionary, this.listeners);
      case PackageType.Kick: {
        const body = pkg.body.length ? parseJson(pkg.body, 0, 'kick') : {};
        const reason = isRecord(body) && typeof body.reason === 'string' ? body.reason : '';
        connection.reason = 'kick';
        this.listeners.emit('kick', { reason });
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
    this.dictionary.use(sys);
    const heartbeat = typeof sys.heartbeat === 'number' && sys.heartbeat > 0 ? sys.heartbeat : 0;
    connection.heartbeatMs = heartbeat * 1000;
    connection.state = 'working';
    connection.established = true;
    connection.transport.send(encodePackage(PackageType.HandshakeAck));
    // The server sends the first heartbeat once it has the ack; the client answers each one
    // `heartbeat` seconds later (Pomelo's rhythm), so only the silence watch starts here.
    if (heartbeat > 0) this.watchSilence(connection);
    const result: ConnectResult = { heartbeat, user: reply.user, dictVersion: this.dictionary.version };
    this.lastResult = result;
    connection.handshake.resolve(result);
  }

  private watchSilence(connection: Connection): void {
    watchSilence(connection, this.target, (error) => this.fail(connection, 'heartbeat', error));
  }

  /** Ends a connection on our side: the transport's close then finishes the job. */
  private fail(connection: Connection, reason: DisconnectReason, error: Error): void {
    if (connection.state === 'closing') return;
    connection.reason = reason;
    connection.error = error;
    if (reason === 'protocol') this.listeners.emit('error', error);
    connection.state = 'closing';
    stopHeartbeats(connection);
    connection.handshake.reject(error);
    connection.transport.close();
  }

  private onClose(connection: Connection, transportError: Error | undefined): void {
    connection.state = 'closing';
    stopHeartbeats(connection);
    connection.markClosed();
    if (this.connection !== connection) return;
    this.connection = undefined;
    const reason: DisconnectReason = connection.reason ?? (transportError ? 'error' : 'server');
    const error = connection.error ?? transportError;
    connection.handshake.reject(error ?? new Error(`connection to ${this.target} closed before the handshake completed`));
    if (reason === 'client') return; // disconnect() has done the rest
    this.requests.rejectAll(`the connection to ${this.target} closed (${reason}${error ? `: ${error.message}` : ''})`);
    if (!connection.established) return; // a failed connect or reconnect attempt: its caller handles it
    const reconnector = reason === 'server' || reason === 'heartbeat' || reason === 'error' ? this.reconnector : undefined;
    const reconnecting = reconnector !== undefined;
    this.status = reconnecting ? 'reconnecting' : 'closed';
    this.listeners.emit('disconnect', error ? { reason, error, reconnecting } : { reason, reconnecting });
    if (reconnector) {
      reconnector.reset();
      this.scheduleReconnect(reconnector);
    }
  }

  private scheduleReconnect(reconnector: Reconnector): void {
    if (reconnector.exhausted) {
      this.status = 'closed';
      this.listeners.emit('error', new Error(`gave up reconnecting to ${this.target} after ${reconnector.options.maxAttempts} attempt(s)`));
      return;
    }
    reconnector.schedule(() => {
      if (this.status !== 'reconnecting') return;
      this.open().then(
        (result) => {
          if (this.status !== 'reconnecting') return;
          this.status = 'connected';
          reconnector.reset();
          this.listeners.emit('reconnect', result);
        },
        (error: unknown) => {
          if (this.status !== 'reconnecting') return;
          if (error instanceof HandshakeError) {
            this.status = 'closed';
            this.listeners.emit('error', error);
            return;
          }
          this.scheduleReconnect(reconnector);
        },
      );
    });
  }
}
