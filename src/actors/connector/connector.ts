import type { ConnectorSettings } from '../../config/connector.ts';
import type { Logger } from '../../logger.ts';
import { HybridServer, type ClientLink, type LinkHandler } from '../../transport/connector/hybrid-server.ts';
import { encodeDataPackage, MessageType } from '../../transport/connector/protocol.ts';
import { systemClock, type Clock } from '../../clock.ts';
import { TimerWheel } from '../runtime/timer-wheel.ts';
import { Connection, type ConnectionOwner } from './connection.ts';
import type { RouteDictionary } from './dictionary.ts';
import { Handshake } from './handshake.ts';
import { Requests } from './requests.ts';
import { FrontendSession, type SessionOwner, type SessionSnapshot } from './session.ts';
import type { ConnectorConfig, PushMessage, RouteRequest } from './types.ts';
import { UidIndex } from './uid-index.ts';
import { sessionMachine } from '../../machines/session.ts';
import { inspectorOfProcess } from '../inspect/inspector.ts';

export type { ConnectorConfig, HandshakeRequest, ParsedRoute, PushMessage, RouteRequest } from './types.ts';

/**
 * A frontend's client connector: Pomelo's protocol on `clientPort`, one {@link sessionMachine}
 * actor per connection. It answers handshakes and heartbeats, turns requests into calls of
 * `route` (which the caller wires to local handlers or to another server over NATS) and delivers
 * pushes. A client that misbehaves is closed; nothing a client sends can stop the server.
 */

export interface ConnectorOptions {
  frontendId: string;
  host: string;
  port: number;
  /** Connections held at once (servers.json `max-connections`, or its default); more are refused at accept. */
  maxConnections: number;
  /** The app's `connectorConfig`: its hooks (`checkClient`, `handshake`) are called from here. */
  config: ConnectorConfig;
  /** Its numbers and flags, validated with the defaults applied (config/connector.ts). */
  settings: ConnectorSettings;
  dictionary: RouteDictionary;
  route: RouteRequest;
  logger: Logger;
  /** Client silence and session timeouts run on it (default: Node's clocks and the process's shared timer wheel). */
  clock?: Clock;
}

export class Connector implements SessionOwner, ConnectionOwner {
  private readonly server: HybridServer;
  private readonly connections = new Map<number, Connection>();
  private readonly byUid = new UidIndex<Connection>();
  private readonly closing = new Set<Promise<unknown>>();
  private nextId = 1;
  private emptied: (() => void) | undefined;
  private boundPort: number | undefined;
  /** Takes the sessions out of the process's inspector. */
  private unwatched: (() => void) | undefined;
  private readonly handshake: Handshake;
  private readonly requests: Requests;
  /** Machine input shared by every session (one object, not one per connection). */
  readonly timing: { idleTimeout: number; handshakeTimeout: number; closeTimeout: number };
  readonly heartbeatSeconds: number;
  readonly useDict: boolean;
  readonly clock: Clock;
  /** The wheel the session machines wait on: the process's shared one unless a clock is given. */
  readonly wheel: TimerWheel | undefined;

  constructor(readonly options: ConnectorOptions) {
    const { config } = options;
    this.clock = options.clock ?? systemClock;
    this.wheel = options.clock ? new TimerWheel(options.clock) : undefined;
    const { settings } = options;
    this.heartbeatSeconds = settings.heartbeatSeconds;
    this.useDict = settings.useDict;
    this.timing = { idleTimeout: settings.idleTimeout, handshakeTimeout: settings.handshakeTimeout, closeTimeout: settings.closeTimeout };
    this.handshake = new Handshake(config, options.dictionary, this.heartbeatSeconds, this.useDict);
    this.requests = new Requests(options.route, this.useDict ? options.dictionary : undefined, options.logger);
    this.server = new HybridServer({
      host: options.host,
      port: options.port,
      maxPackageSize: settings.maxPackageSize,
      maxConnections: options.maxConnections,
      setupTimeout: this.timing.handshakeTimeout,
      maxHeaderSize: settings.maxHeaderSize,
      maxBufferedBytes: settings.maxBufferedBytes,
      accept: (link) => this.accept(link),
      refused: (remote, reason) => options.logger.debug({ remote, reason }, 'connection refused'),
    });
  }

  /** Starts listening; resolves with the port bound (the configured one, or a free one for 0). */
  async listen(): Promise<number> {
    this.boundPort = await this.server.listen();
    // Sessions are counted per state by the process's inspector, one shown in full on demand.
    this.unwatched = inspectorOfProcess().addSource({
      machine: sessionMachine.id,
      states: () => mapIterable(this.connections.values(), (connection) => connection.machine.value),
      find: (actor) => {
        const machine = this.connections.get(Number(actor))?.machine;
        return machine && { value: machine.value, context: machine.snapshot.context };
      },
    });
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
    await this.requests.settle();
  }

  /** Closes every session (their `closed` listeners run), then whatever sockets are left. */
  async close(): Promise<void> {
    this.unwatched?.();
    await this.server.stopAccepting();
    if (this.connections.size > 0) {
      // Each session closes politely and is destroyed after closeTimeout if its peer lingers.
      const emptied = new Promise<void>((resolve) => (this.emptied = resolve));
      for (const connection of [...this.connections.values()]) connection.machine.send({ type: 'SHUTDOWN' });
      let timer: unknown;
      await Promise.race([emptied, new Promise((resolve) => (timer = this.clock.setTimeout(() => resolve(undefined), this.timing.closeTimeout + 500)))]);
      this.clock.clearTimeout(timer);
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

  /** @internal ConnectionOwner: checks a handshake and tells the session machine the outcome. */
  verify(connection: Connection, body: Uint8Array): void {
    this.handshake.verify(connection, body);
  }

  /** @internal ConnectionOwner: one data package from a working client. */
  dispatch(connection: Connection, body: Uint8Array): void {
    this.requests.dispatch(connection, body);
  }
}

function* mapIterable<T, U>(items: Iterable<T>, map: (item: T) => U): Iterable<U> {
  for (const item of items) yield map(item);
}
