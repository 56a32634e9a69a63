import { gunzipSync } from 'node:zlib';
import type { Logger } from '../logger.ts';
import { sessionMachine, type SessionPort } from '../machines/session.ts';
import { HybridServer, type ClientLink, type LinkHandler } from '../transport/connector/hybrid-server.ts';
import {
  encodeDataPackage,
  encodePackage,
  decodeMessage,
  MessageType,
  PackageType,
  ProtocolError,
  type Message,
  type Package,
} from '../transport/connector/protocol.ts';
import type { RouteDictionary } from './dictionary.ts';
import { MachineRunner } from './machine-runner.ts';
import { FrontendSession, type SessionOwner, type SessionSnapshot } from './session.ts';

/**
 * A frontend's client connector: Pomelo's protocol on `clientPort`, one {@link sessionMachine}
 * actor per connection. It answers handshakes and heartbeats, turns requests into calls of
 * `route` (which the caller wires to local handlers or to another server over NATS) and delivers
 * pushes. A client that misbehaves is closed; nothing a client sends can stop the server.
 */

/** `app.set('connectorConfig', {...})`: Pomelo's connector settings. */
export interface ConnectorConfig {
  /** Seconds between client heartbeats, told to clients in the handshake (default 10; 0 = none). */
  heartbeat?: number;
  /** Seconds of silence after which a client is dropped (default 2 × heartbeat). */
  heartbeatTimeout?: number;
  /** Send the route dictionary in the handshake and accept compressed routes (default true). */
  useDict?: boolean;
  /** Largest package body a client may send, in bytes (default 65536); a bigger one closes it. */
  maxPackageSize?: number;
  /** ms a client has to complete the handshake (default 10000). */
  handshakeTimeout?: number;
  /** Bytes queued towards a client beyond which it is dropped as too slow (default 4 MiB). */
  maxBufferedBytes?: number;
  /** Pomelo's `checkClient(type, version)`: false answers the handshake with code 501. */
  checkClient?: (type: string, version: string) => boolean;
  /**
   * The app's own handshake step: gets the client's handshake (`{sys, user}`) and the session;
   * what it returns is sent back as `user`; a throw answers code 500.
   */
  handshake?: (request: HandshakeRequest, session: FrontendSession) => unknown;
}

/** A client's handshake body. */
export interface HandshakeRequest {
  sys: { type?: string; version?: string; dictVersion?: string; protoVersion?: unknown; rsa?: unknown; [key: string]: unknown };
  user?: unknown;
}

/** One push for clients of this frontend: a route and JSON body for some users, or for all. */
export interface PushMessage {
  route: string;
  /** UTF-8 JSON. */
  body: Uint8Array;
  /** Users to deliver to (every session of each); absent with `all`. */
  uids?: string[];
  /** Every session (`binded`: only sessions bound to a user). */
  all?: boolean;
  binded?: boolean;
}

/** Handles one request or notify: resolves with the response body (ignored for notifies). */
export type RouteRequest = (route: ParsedRoute, msg: unknown, session: FrontendSession) => Promise<unknown>;

export interface ParsedRoute {
  route: string;
  serverType: string;
  handler: string;
  method: string;
}

export interface ConnectorOptions {
  frontendId: string;
  host: string;
  port: number;
  maxConnections?: number;
  config: ConnectorConfig;
  dictionary: RouteDictionary;
  route: RouteRequest;
  logger: Logger;
}

const CODE_OK = 200;
const CODE_BAD_HANDSHAKE = 500;
const CODE_OLD_CLIENT = 501;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const json = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value ?? {}));
const HEARTBEAT = encodePackage(PackageType.Heartbeat);

/** The Pomelo error response a client gets when its request could not be served. */
export function errorResponse(error: unknown): { code: 500; message: string } {
  return { code: 500, message: error instanceof Error ? error.message : String(error) };
}

export class Connector implements SessionOwner {
  private readonly server: HybridServer;
  private readonly connections = new Map<number, Connection>();
  private readonly byUid = new UidIndex();
  private readonly closing = new Set<Promise<unknown>>();
  private nextId = 1;
  private inFlight = 0;
  private idle: (() => void) | undefined;
  private emptied: (() => void) | undefined;
  private boundPort: number | undefined;
  private readonly answers: { withDict?: Uint8Array; withoutDict?: Uint8Array } = {};
  /** Machine input shared by every session (one object, not one per connection). */
  readonly timing: { idleTimeout: number; handshakeTimeout: number; closeTimeout: number };
  readonly heartbeatSeconds: number;
  readonly useDict: boolean;

  constructor(readonly options: ConnectorOptions) {
    const { config } = options;
    this.heartbeatSeconds = config.heartbeat ?? 10;
    this.useDict = config.useDict ?? true;
    const timeoutSeconds = config.heartbeatTimeout ?? this.heartbeatSeconds * 2;
    this.timing = {
      idleTimeout: Math.round(timeoutSeconds * 1000),
      handshakeTimeout: config.handshakeTimeout ?? 10_000,
      closeTimeout: 1_000,
    };
    this.server = new HybridServer({
      host: options.host,
      port: options.port,
      maxPackageSize: config.maxPackageSize ?? 64 * 1024,
      ...(options.maxConnections !== undefined ? { maxConnections: options.maxConnections } : {}),
      firstByteTimeout: this.timing.handshakeTimeout,
      maxBufferedBytes: config.maxBufferedBytes ?? 4 * 1024 * 1024,
      accept: (link) => this.accept(link),
      refused: (remote, reason) => options.logger.debug({ remote, reason }, 'connection refused'),
    });
  }

  /** Starts listening; resolves with the port bound (the configured one, or a free one for 0). */
  async listen(): Promise<number> {
    this.boundPort = await this.server.listen();
    return this.boundPort;
  }

  get port(): number | undefined {
    return this.boundPort;
  }

  /** Connected sessions (handshake done or not). */
  get size(): number {
    return this.connections.size;
  }

  /** Draining: no new connections; resolves when no request is being handled. */
  async drain(): Promise<void> {
    await this.server.stopAccepting();
    if (this.inFlight === 0) return;
    await new Promise<void>((resolve) => (this.idle = resolve));
  }

  /** Closes every session (their `closed` listeners run), then whatever sockets are left. */
  async close(): Promise<void> {
    await this.server.stopAccepting();
    if (this.connections.size > 0) {
      // Each session closes politely and is destroyed after closeTimeout if its peer lingers.
      const emptied = new Promise<void>((resolve) => (this.emptied = resolve));
      for (const connection of [...this.connections.values()]) connection.machine.send({ type: 'SHUTDOWN' });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([emptied, new Promise((resolve) => (timer = setTimeout(resolve, this.timing.closeTimeout + 500)))]);
      clearTimeout(timer);
    }
    this.server.destroyAll();
    await Promise.allSettled([...this.closing]);
  }

  get(id: number): FrontendSession | undefined {
    return this.connections.get(id)?.session;
  }

  getByUid(uid: string): FrontendSession[] {
    return this.byUid.get(uid).map((connection) => connection.session);
  }

  /** Kicks every session of `uid`; returns how many. */
  kickByUid(uid: string, reason = 'kicked'): number {
    const connections = [...this.byUid.get(uid)];
    for (const connection of connections) connection.machine.send({ type: 'KICK', reason });
    return connections.length;
  }

  /** @internal SessionOwner: keeps the uid index in step with `bind`/`unbind`. */
  bound(session: FrontendSession, uid: string | undefined, previous: string | undefined): void {
    const connection = this.connections.get(session.id);
    if (!connection) return;
    if (previous !== undefined) this.byUid.delete(previous, connection);
    if (uid !== undefined) this.byUid.add(uid, connection);
  }

  /** @internal SessionOwner */
  kick(session: FrontendSession, reason: string): void {
    this.connections.get(session.id)?.machine.send({ type: 'KICK', reason });
  }

  /** Applies a backend's session operation (see `SessionOperation`). */
  operate(method: string, args: unknown[]): unknown {
    if (method === 'getByUid') return this.getByUid(String(args[0])).map((session): SessionSnapshot => session.toJSON());
    if (method === 'kickByUid') return this.kickByUid(String(args[0]), String(args[1] ?? 'kicked'));
    const id = Number(args[0]);
    const session = this.get(id);
    if (!session) throw Object.assign(new Error(`no session ${id} on ${this.options.frontendId} (the client is gone)`), { code: 'NO_SESSION' });
    switch (method) {
      case 'bind':
        return session.bind(String(args[1]));
      case 'unbind':
        return session.unbind(String(args[1]));
      case 'push':
        session.merge(args[1] as Record<string, unknown>);
        return true;
      case 'kick':
        return session.kick(String(args[1] ?? 'kicked'));
      default:
        throw new Error(`unknown session operation "${method}"`);
    }
  }

  /** Delivers a push: the package is encoded once and written to every matching session. */
  deliver(push: PushMessage): number {
    const code = this.useDict ? this.options.dictionary.code(push.route) : undefined;
    const bytes = encodeDataPackage({ type: MessageType.Push, id: 0, route: code ?? push.route, compressRoute: code !== undefined, body: push.body });
    let sent = 0;
    if (push.all) {
      for (const connection of this.connections.values()) {
        if (push.binded && connection.session.uid === undefined) continue;
        if (connection.working) {
          connection.link.send(bytes);
          sent++;
        }
      }
      return sent;
    }
    const send = (connection: Connection): void => {
      if (!connection.working) return;
      connection.link.send(bytes);
      sent++;
    };
    for (const uid of push.uids ?? []) this.byUid.each(uid, send);
    return sent;
  }

  private accept(link: ClientLink): LinkHandler {
    const id = this.nextId++;
    const connection = new Connection(this, link, new FrontendSession(id, this.options.frontendId, this));
    this.connections.set(id, connection);
    connection.start();
    return connection;
  }

  /** @internal A session reached `closed`. */
  removed(connection: Connection, reason: string): void {
    this.connections.delete(connection.session.id);
    if (this.connections.size === 0) this.emptied?.();
    const uid = connection.session.uid;
    if (uid !== undefined) this.byUid.delete(uid, connection);
    this.options.logger.debug({ session: connection.session.id, uid, reason }, 'session closed');
    const pending = connection.session.emitClosed(reason);
    if (pending) {
      this.closing.add(pending);
      void pending.finally(() => this.closing.delete(pending));
    }
  }

  /**
   * @internal Checks a handshake and tells the session machine the outcome: at once, unless the
   * app's own handshake function returns a promise.
   */
  verify(connection: Connection, body: Uint8Array): void {
    const { config } = this.options;
    const reject = (code: number, reason: string): void => {
      connection.machine.send({ type: 'REJECTED', response: json({ code }), reason });
    };
    let request: HandshakeRequest;
    try {
      request = JSON.parse(decoder.decode(body)) as HandshakeRequest;
    } catch (error) {
      return reject(CODE_BAD_HANDSHAKE, `handshake is not JSON: ${(error as Error).message}`);
    }
    if (!request || typeof request !== 'object' || !request.sys || typeof request.sys !== 'object') {
      return reject(CODE_BAD_HANDSHAKE, 'handshake without "sys"');
    }
    if (config.checkClient && !config.checkClient(String(request.sys.type ?? ''), String(request.sys.version ?? ''))) {
      return reject(CODE_OLD_CLIENT, `client ${request.sys.type} ${request.sys.version} refused by checkClient`);
    }
    const hasDict = request.sys.dictVersion === this.options.dictionary.version;
    const accept = (user: unknown): void => connection.machine.send({ type: 'ACCEPTED', response: this.handshakeAnswer(hasDict, user) });
    if (!config.handshake) return accept(undefined);
    const refused = (error: unknown): void => reject(CODE_BAD_HANDSHAKE, `handshake refused: ${(error as Error)?.message ?? String(error)}`);
    let user: unknown;
    try {
      user = config.handshake(request, connection.session);
    } catch (error) {
      return refused(error);
    }
    if (user instanceof Promise) user.then(accept, refused);
    else accept(user);
  }

  /** The code-200 answer; without a `user` part it is the same bytes for every client, made once. */
  private handshakeAnswer(clientHasDict: boolean, user: unknown): Uint8Array {
    if (user === undefined) {
      const cached = clientHasDict ? this.answers.withoutDict : this.answers.withDict;
      if (cached) return cached;
    }
    const sys: Record<string, unknown> = { heartbeat: this.heartbeatSeconds };
    if (this.useDict) {
      const dictionary = this.options.dictionary;
      if (!clientHasDict) {
        sys.dict = dictionary.routeToCode;
        sys.routeToCode = dictionary.routeToCode;
        sys.codeToRoute = dictionary.codeToRoute;
        sys.dictVersion = dictionary.version;
      }
      sys.useDict = true;
    }
    const answer = json(user === undefined ? { code: CODE_OK, sys } : { code: CODE_OK, sys, user });
    if (user === undefined) this.answers[clientHasDict ? 'withoutDict' : 'withDict'] = answer;
    return answer;
  }

  /** @internal One data package from a working client. */
  dispatch(connection: Connection, body: Uint8Array): void {
    let message: Message;
    try {
      message = decodeMessage(body);
      if (message.type !== MessageType.Request && message.type !== MessageType.Notify) {
        throw new ProtocolError(`clients send requests and notifies, not message type ${message.type}`, 0);
      }
    } catch (error) {
      connection.machine.send({ type: 'INVALID', reason: (error as Error).message });
      return;
    }
    const isRequest = message.type === MessageType.Request;
    let route: ParsedRoute;
    let msg: unknown;
    try {
      route = this.parseRoute(message);
      msg = parseBody(message);
    } catch (error) {
      if (isRequest) this.respond(connection, message.id, errorResponse(error));
      else this.options.logger.debug({ err: error, session: connection.session.id }, 'notify dropped');
      return;
    }
    this.inFlight++;
    let outcome: Promise<unknown>;
    try {
      outcome = this.options.route(route, msg, connection.session);
    } catch (error) {
      outcome = Promise.reject(error);
    }
    outcome.then(
      (response) => {
        if (isRequest) this.respond(connection, message.id, response);
        this.settled();
      },
      (error: unknown) => {
        if (isRequest) this.respond(connection, message.id, errorResponse(error));
        else this.options.logger.warn({ err: error, route: route.route }, 'notify handler failed');
        this.settled();
      },
    );
  }

  private settled(): void {
    this.inFlight--;
    if (this.inFlight === 0 && this.idle) {
      this.idle();
      this.idle = undefined;
    }
  }

  private respond(connection: Connection, id: number, response: unknown): void {
    if (!connection.working) return;
    let bytes: Uint8Array;
    try {
      bytes = encodeDataPackage({ type: MessageType.Response, id, route: '', compressRoute: false, body: json(response) });
    } catch (error) {
      // A response that cannot be encoded (a handler's cyclic object, a body over 16 MiB): the
      // client gets the error instead, and the server goes on.
      this.options.logger.error({ err: error, session: connection.session.id }, 'response not sent');
      bytes = encodeDataPackage({ type: MessageType.Response, id, route: '', compressRoute: false, body: json(errorResponse(error)) });
    }
    connection.link.send(bytes);
  }

  private parseRoute(message: Message): ParsedRoute {
    let route: string;
    if (message.compressRoute) {
      const found = this.useDict ? this.options.dictionary.route(message.route as number) : undefined;
      if (found === undefined) throw new Error(`unknown route code ${String(message.route)}`);
      route = found;
    } else {
      route = message.route as string;
    }
    const parts = route.split('.');
    if (parts.length !== 3 || parts.some((part) => part === '')) {
      throw new Error(`bad route "${route}": expected serverType.handler.method`);
    }
    return { route, serverType: parts[0]!, handler: parts[1]!, method: parts[2]! };
  }
}

function parseBody(message: Message): unknown {
  let bytes = message.body;
  if (message.gzip) {
    try {
      bytes = gunzipSync(bytes);
    } catch (error) {
      throw new Error(`body flagged gzip does not decompress: ${(error as Error).message}`);
    }
  }
  if (bytes.length === 0) return {};
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch (error) {
    throw new Error(`malformed JSON body: ${(error as Error).message}`);
  }
}

/**
 * uid → its connections. One connection per uid is by far the usual case, and is stored as itself:
 * a Set per bound user would cost more than the rest of an idle session.
 */
class UidIndex {
  private readonly map = new Map<string, Connection | Connection[]>();

  add(uid: string, connection: Connection): void {
    const entry = this.map.get(uid);
    if (entry === undefined) this.map.set(uid, connection);
    else if (Array.isArray(entry)) {
      if (!entry.includes(connection)) entry.push(connection);
    } else if (entry !== connection) this.map.set(uid, [entry, connection]);
  }

  delete(uid: string, connection: Connection): void {
    const entry = this.map.get(uid);
    if (entry === connection) this.map.delete(uid);
    else if (Array.isArray(entry)) {
      const rest = entry.filter((c) => c !== connection);
      if (rest.length === 1) this.map.set(uid, rest[0]!);
      else this.map.set(uid, rest);
    }
  }

  get(uid: string): readonly Connection[] {
    const entry = this.map.get(uid);
    return entry === undefined ? [] : Array.isArray(entry) ? entry : [entry];
  }

  /** Calls `visit` for each connection of `uid`, allocating nothing. */
  each(uid: string, visit: (connection: Connection) => void): void {
    const entry = this.map.get(uid);
    if (entry === undefined) return;
    if (Array.isArray(entry)) for (const connection of entry) visit(connection);
    else visit(entry);
  }
}

/**
 * One client: its link, its session, and its session machine, which decides what its packages may
 * do. The machine runs on a {@link MachineRunner} (no actor per connection: they are thousands).
 * Data packages and heartbeats of a working session take the machine's own `working` transitions
 * (`dispatch`, `answerHeartbeat`) without running it: they are the hot paths, and one step of
 * the machine allocates about 10 KB (a resolved snapshot and xstate's transition), which every
 * heartbeat of every connection would otherwise cost. Everything else, and these packages in any
 * other state, goes through the machine.
 */
class Connection implements SessionPort, LinkHandler {
  machine!: MachineRunner<typeof sessionMachine>;
  /** When the last package from the client came (`performance.now()`: a monotonic clock, which a change of the system time does not move). */
  private lastSeen = performance.now();

  constructor(
    private readonly connector: Connector,
    readonly link: ClientLink,
    readonly session: FrontendSession,
  ) {}

  start(): void {
    this.machine = new MachineRunner(sessionMachine, { port: this, ...this.connector.timing });
  }

  get working(): boolean {
    return this.machine.value === 'working';
  }

  // LinkHandler: packages up from the transport.
  packages(packages: Package[]): void {
    this.lastSeen = performance.now();
    for (const { type, body } of packages) {
      switch (type) {
        case PackageType.Data:
          if (this.working) this.connector.dispatch(this, body);
          else this.machine.send({ type: 'DATA', body });
          break;
        case PackageType.Handshake:
          this.machine.send({ type: 'HANDSHAKE', body });
          break;
        case PackageType.HandshakeAck:
          this.machine.send({ type: 'HANDSHAKE_ACK' });
          break;
        case PackageType.Heartbeat:
          if (this.working) this.answerHeartbeat();
          else this.machine.send({ type: 'HEARTBEAT' });
          break;
        default:
          this.machine.send({ type: 'INVALID', reason: `clients do not send package type ${type}` });
      }
    }
  }

  invalid(error: ProtocolError): void {
    this.machine.send({ type: 'INVALID', reason: error.message });
  }

  closed(reason: string): void {
    this.machine.send({ type: 'LINK_CLOSED', reason });
  }

  // SessionPort: effects the machine asks for.
  verifyHandshake(body: Uint8Array): void {
    this.connector.verify(this, body);
  }

  sendHandshake(body: Uint8Array): void {
    this.link.send(encodePackage(PackageType.Handshake, body));
  }

  answerHeartbeat(): void {
    this.link.send(HEARTBEAT);
  }

  startHeartbeat(): void {
    if (this.connector.heartbeatSeconds > 0) this.link.send(HEARTBEAT);
  }

  silentFor(): number {
    return performance.now() - this.lastSeen;
  }

  dispatch(body: Uint8Array): void {
    this.connector.dispatch(this, body);
  }

  sendKick(reason: string): void {
    this.link.send(encodePackage(PackageType.Kick, json({ reason })));
  }

  close(): void {
    this.link.close();
  }

  destroy(): void {
    this.link.destroy();
  }

  ended(reason: string): void {
    this.connector.removed(this, reason);
  }
}
