import { subscribeGuarded } from '../../transport/inbound.ts';
import { checkPushMessage } from '../../transport/wire-check.ts';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { maxConnectionsOf } from '../../config/defaults.ts';
import type { ServerEntry } from '../../config/types.ts';
import { UnknownRouteError } from '../../errors.ts';
import { decode, encode } from '../../transport/codec.ts';
import { ForwardClient, ForwardServer } from '../../transport/forwarding.ts';
import { RpcServer } from '../../transport/rpc.ts';
import { systemClock, type Clock } from '../../clock.ts';
import { connectorSettings, type ConnectorSettings } from '../../config/connector.ts';
import type { AppHost, AppRuntime } from '../app/host.ts';
import { ChannelService } from '../channel/channel.ts';
import type { GlobalChannelService } from '../channel/global-channel-service.ts';
import type { Connector, ParsedRoute, PushMessage } from '../connector/connector.ts';
import { instantiate, loadDefinitions, RemoteTable } from '../rpc/remotes.ts';
import type { ServerObservability } from './observability.ts';
import { inSpan, SpanKind } from '../runtime/tracing.ts';
import type { TraceCarrier } from '../../transport/trace.ts';
import { BackendSessionService, type FrontendSession, type SessionSnapshot } from '../connector/session.ts';
import { inspectorOfProcess } from '../inspect/inspector.ts';

/**
 * Everything a server does for clients, wired to NATS: its handlers (served locally by a frontend,
 * or on `<base>.handler.<id>` for requests other frontends forward), the channel and session
 * services, and on a frontend the connector with its session and push subjects.
 *
 * The services exist from construction (remotes and handlers may fetch them with `app.get` in
 * their constructors); `start()` loads handlers and opens the client port last, once everything a
 * client could reach is ready.
 */
export class ClientServices<App = unknown> {
  readonly channelService: ChannelService;
  readonly backendSessionService: BackendSessionService;
  private readonly handlers: RemoteTable;
  private connector: Connector | undefined;
  private handlerServer: ForwardServer | undefined;
  private forwarder: ForwardClient | undefined;
  private sessionRpc: RpcServer | undefined;
  private pushSubscription: Subscription | undefined;

  private readonly nc: NatsConnection;

  constructor(
    private readonly host: AppHost<App>,
    private readonly entry: ServerEntry,
    private readonly runtime: AppRuntime,
    private readonly rpcTimeout: number,
    private readonly clock: Clock = systemClock,
    /** A frontend's client settings, validated when the server started. */
    private readonly connectorSettings?: ConnectorSettings,
    /** Measures and traces the handlers' calls, counts pushes and connections. */
    private readonly observability?: ServerObservability,
    /** With `app.enable('globalChannel')`: a user whose last session closes leaves its global channels. */
    private readonly globalChannels?: GlobalChannelService,
  ) {
    const { nc, subjects, directory, rpc } = runtime;
    this.nc = nc;
    this.handlers = new RemoteTable(entry.id);
    this.channelService = new ChannelService(
      (frontendId, push) => this.push(frontendId, push),
      (type) => directory.ofType(type).filter((server) => server.frontend).map((server) => server.id),
    );
    this.backendSessionService = new BackendSessionService(() => ({ rpc, subjects, timeout: rpcTimeout }));
    host.provide('channelService', this.channelService);
    inspectorOfProcess().addSource(this.channelService.inspectionSource());
    host.provide('backendSessionService', this.backendSessionService);
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
    const { host, entry, nc } = this;
    const { subjects, calls } = this.runtime;
    for (const [name, definition] of await loadDefinitions(host.base, entry.serverType, 'handler')) {
      this.handlers.add(name, instantiate(definition, host.app));
    }
    this.handlerServer = new ForwardServer(
      nc,
      subjects,
      entry.id,
      (handler, method, msg, snapshot, trace) => {
        const session = this.backendSessionService.create(snapshot as SessionSnapshot);
        return this.handle({ route: `${entry.serverType}.${handler}.${method}`, serverType: entry.serverType, handler, method }, msg, session, trace);
      },
    );
    this.handlerServer.start();
    if (!entry.frontend) return;

    // Its calls wait in the process's one table, next to its RPC calls (timeouts, silent servers).
    this.forwarder = new ForwardClient(nc, subjects, entry.id, calls);
    this.forwarder.start();

    // Only frontends load the connector (and `ws`, `http`): backends restart faster without them.
    const [{ Connector }, { buildDictionary }] = await Promise.all([import('../connector/connector.ts'), import('../connector/dictionary.ts')]);
    const connector = new Connector({
      frontendId: entry.id,
      host: entry.host,
      port: entry.clientPort ?? 0,
      maxConnections: maxConnectionsOf(entry),
      config: host.connectorConfig(),
      settings: this.connectorSettings ?? connectorSettings({}, { env: '', serverId: entry.id }),
      dictionary: await buildDictionary(host.base),
      route: (route, msg, session) => this.route(route, msg, session),
      logger: host.logger,
      clock: this.clock,
      ...(this.globalChannels ? { userGone: (uid: string) => this.globalChannels!.userGone(uid) } : {}),
    });
    this.connector = connector;
    this.observability?.metrics.countConnections(() => connector.size);
    host.provide('sessionService', connector);
    this.sessionRpc = new RpcServer(nc, subjects.session(entry.id), (request) => connector.operate(request.method, request.args), 'session');
    this.sessionRpc.start();
    this.pushSubscription = subscribeGuarded(nc, subjects.push(entry.id), { kind: 'push', check: checkPushMessage, handle: (push) => connector.deliver(push) });
    const port = await connector.listen();
    host.logger.info({ clientPort: port }, `accepting clients on ${entry.host}:${port}`);
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
      const server = this.runtime.router.serverFor(route.serverType, session);
      // The client request's span: the forwarded call carries it, so the handler's span is its child.
      return inSpan(`request ${route.route}`, undefined, () => this.forwarder!.call(server.id, route.handler, route.method, msg, session.toJSON(), this.rpcTimeout), { 'shaddock.route': route.route, 'shaddock.server_id': this.entry.id }, SpanKind.SERVER) as Promise<unknown>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private async handle(route: ParsedRoute, msg: unknown, session: unknown, trace: TraceCarrier = {}): Promise<unknown> {
    if (!this.handlers.has(route.handler, route.method)) throw new UnknownRouteError(route.route);
    const run = () => this.handlers.dispatch({ remote: route.handler, method: route.method, args: [msg, session] });
    return this.observability ? this.observability.wrap({ kind: 'handler', name: route.handler, method: route.method, trace }, run) : run();
  }

  private push(frontendId: string, push: PushMessage): void {
    this.observability?.metrics.pushes.inc();
    if (frontendId === this.entry.id && this.connector) {
      this.connector.deliver(push);
      return;
    }
    try {
      this.nc.publish(this.runtime.subjects.push(frontendId), encode(push));
    } catch (error) {
      this.host.logger.warn({ err: error, frontendId }, 'push not sent');
    }
  }
}
