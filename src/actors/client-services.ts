import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { ServerEntry } from '../config/types.ts';
import { UnknownRouteError } from '../errors.ts';
import { decode, encode } from '../transport/codec.ts';
import { ForwardClient, ForwardServer } from '../transport/forwarding.ts';
import { RpcServer } from '../transport/rpc.ts';
import type { Subjects } from '../transport/subjects.ts';
import type { Application } from './application.ts';
import { ChannelService } from './channel.ts';
import type { Connector, ConnectorConfig, ParsedRoute, PushMessage } from './connector.ts';
import type { ServerDirectory } from './directory.ts';
import { instantiate, loadDefinitions, RemoteTable } from './remotes.ts';
import { BackendSessionService, type FrontendSession, type SessionSnapshot } from './session.ts';

/**
 * Everything a server does for clients, wired to NATS: its handlers (served locally by a frontend,
 * or on `<base>.handler.<id>` for requests other frontends forward), the channel and session
 * services, and on a frontend the connector with its session and push subjects.
 *
 * The services exist from construction (remotes and handlers may fetch them with `app.get` in
 * their constructors); `start()` loads handlers and opens the client port last, once everything a
 * client could reach is ready.
 */
export class ClientServices {
  readonly channelService: ChannelService;
  readonly backendSessionService: BackendSessionService;
  private readonly handlers: RemoteTable;
  private connector: Connector | undefined;
  private handlerServer: ForwardServer | undefined;
  private forwarder: ForwardClient | undefined;
  private sessionRpc: RpcServer | undefined;
  private pushSubscription: Subscription | undefined;

  constructor(
    private readonly app: Application,
    private readonly entry: ServerEntry,
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly directory: ServerDirectory,
    private readonly rpcTimeout: number,
  ) {
    this.handlers = new RemoteTable(entry.id);
    this.channelService = new ChannelService(
      (frontendId, push) => this.push(frontendId, push),
      (type) => directory.ofType(type).filter((server) => server.frontend).map((server) => server.id),
    );
    this.backendSessionService = new BackendSessionService(() => ({ nc, subjects, timeout: rpcTimeout }));
    app.set('channelService', this.channelService);
    app.set('backendSessionService', this.backendSessionService);
  }

  /** The client port bound, on a frontend. */
  get clientPort(): number | undefined {
    return this.connector?.port;
  }

  /** Handler names → method names this server serves. */
  manifest(): Record<string, string[]> {
    return this.handlers.manifest();
  }

  async start(): Promise<void> {
    const { app, entry, nc, subjects } = this;
    for (const [name, definition] of await loadDefinitions(app.base, entry.serverType, 'handler')) {
      this.handlers.add(name, instantiate(definition, app));
    }
    this.handlerServer = new ForwardServer(
      nc,
      subjects,
      entry.id,
      (handler, method, msg, snapshot) => {
        const session = this.backendSessionService.create(snapshot as SessionSnapshot);
        return this.handle({ route: `${entry.serverType}.${handler}.${method}`, serverType: entry.serverType, handler, method }, msg, session);
      },
      (error) => app.logger.warn({ err: error }, 'malformed forwarded calls dropped'),
    );
    this.handlerServer.start();
    if (!entry.frontend) return;

    const forwarder = new ForwardClient(nc, subjects, entry.id);
    forwarder.start();
    this.forwarder = forwarder;
    this.directory.on('down', (server, why) => {
      if (why === 'silent') forwarder.serverGone(server.id);
    });

    // Only frontends load the connector (and `ws`, `http`): backends restart faster without them.
    const [{ Connector }, { buildDictionary }] = await Promise.all([import('./connector.ts'), import('./dictionary.ts')]);
    const connector = new Connector({
      frontendId: entry.id,
      host: entry.host,
      port: entry.clientPort ?? 0,
      ...(entry.maxConnections !== undefined ? { maxConnections: entry.maxConnections } : {}),
      config: app.get<ConnectorConfig>('connectorConfig') ?? {},
      dictionary: await buildDictionary(app.base),
      route: (route, msg, session) => this.route(route, msg, session),
      logger: app.logger,
    });
    this.connector = connector;
    app.set('sessionService', connector);
    this.sessionRpc = new RpcServer(nc, subjects.session(entry.id), (request) => connector.operate(request.method, request.args));
    this.sessionRpc.start();
    this.pushSubscription = nc.subscribe(subjects.push(entry.id), {
      callback: (error, msg) => {
        if (error) return;
        try {
          connector.deliver(decode<PushMessage>(msg.data));
        } catch (e) {
          app.logger.warn({ err: e }, 'malformed push message dropped');
        }
      },
    });
    const port = await connector.listen();
    app.logger.info({ clientPort: port }, `accepting clients on ${entry.host}:${port}`);
  }

  /** Draining: a frontend takes no new clients; in-flight client requests and forwarded ones finish. */
  async drain(): Promise<void> {
    await Promise.all([this.connector?.drain(), this.handlerServer?.drain()]);
  }

  /** Closes every client session (their `closed` listeners run), then the session and push subjects. */
  async stop(): Promise<void> {
    await this.connector?.close();
    this.pushSubscription?.unsubscribe();
    await this.sessionRpc?.drain();
    await this.handlerServer?.drain();
    this.forwarder?.stop();
  }

  /** A client request on this frontend: handled here when the route's type is ours, else forwarded. */
  private route(route: ParsedRoute, msg: unknown, session: FrontendSession): Promise<unknown> {
    if (route.serverType === this.entry.serverType) return this.handle(route, msg, session);
    try {
      const server = this.app.serverFor(route.serverType, session);
      return this.forwarder!.call(server.id, route.handler, route.method, msg, session.toJSON(), this.rpcTimeout);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private async handle(route: ParsedRoute, msg: unknown, session: unknown): Promise<unknown> {
    if (!this.handlers.has(route.handler, route.method)) throw new UnknownRouteError(route.route);
    return this.handlers.dispatch({ remote: route.handler, method: route.method, args: [msg, session] });
  }

  private push(frontendId: string, push: PushMessage): void {
    if (frontendId === this.entry.id && this.connector) {
      this.connector.deliver(push);
      return;
    }
    try {
      this.nc.publish(this.subjects.push(frontendId), encode(push));
    } catch (error) {
      this.app.logger.warn({ err: error, frontendId }, 'push not sent');
    }
  }
}
