import type { NatsConnection } from '@nats-io/transport-node';
import type { Registry } from 'prom-client';
import type { Logger } from '../../logger.ts';
import type { Subjects } from '../../transport/subjects.ts';
import type { BeforeStopHook, RemoteDefinition, RouteFunction } from '../../types.ts';
import type { ChannelService } from '../channel/channel.ts';
import type { GlobalChannelService } from '../channel/global-channel-service.ts';
import type { ConnectorConfig } from '../connector/connector.ts';
import type { BackendSessionService, SessionService } from '../connector/session.ts';
import type { Router } from '../rpc/router.ts';
import type { CallLayer } from '../server/call-layer.ts';
import type { ServerDirectory } from '../server/directory.ts';

/** Settings `app.enable()` knows about; any other string works too. */
export type Feature = 'masterHA' | 'globalChannel' | (string & {});

/** What a running process gives the app so that `app.rpc` and `getServers()` work. */
export interface AppRuntime extends CallLayer {
  nc: NatsConnection;
  subjects: Subjects;
  directory: ServerDirectory;
  router: Router;
}

/** The services an app fetches with `app.get(name)` once its server is starting. */
export interface ProvidedServices {
  channelService: ChannelService;
  sessionService: SessionService;
  backendSessionService: BackendSessionService;
  /** With `app.enable('globalChannel')`: channels in Redis. */
  globalChannelService: GlobalChannelService;
}

/**
 * What the master and server runtimes need from the app that started them, handed to their
 * constructors: what the user declared (remotes, routes, hooks, connector settings) and where to
 * put what the runtime makes (the running NATS side, the services). It is not on the public
 * `Application` type; `App` is the user's app object, which remotes, handlers and hooks receive.
 */
export interface AppHost<App = unknown> {
  /** The user's app object, given to remotes, handlers and hooks. */
  readonly app: App;
  /** Application directory (config/ and app/servers/). */
  readonly base: string;
  /** A NATS connection the app owns (`createApp({ nats: nc })`): used instead of one of Shaddock's, and never closed by it. */
  readonly natsConnection?: NatsConnection | undefined;
  readonly logger: Logger;
  /** Route functions by server type (`app.route`). */
  readonly routes: ReadonlyMap<string, RouteFunction>;
  readonly beforeStopHooks: readonly BeforeStopHook<App>[];
  readonly afterStartAllHooks: readonly ((app: App) => void | Promise<void>)[];
  /** Remotes registered in code for a server type (`app.remote`). */
  remotesOf(serverType: string): ReadonlyMap<string, RemoteDefinition<App>>;
  /** Whether `app.enable(feature)` was called (and not undone by `app.disable`). */
  enabled(feature: Feature): boolean;
  /** The frontend's client settings (`app.set('connectorConfig', ...)`). */
  connectorConfig(): ConnectorConfig;
  /** Master HA's election settings (`app.set('masterHAConfig', ...)`), unchecked. */
  masterHAConfig(): unknown;
  /** The Prometheus registry the app gave (`createApp({ metrics })`); without one the process makes its own. */
  readonly metricsRegistry: Registry | undefined;
  /** Global channels' Redis settings (`app.set('globalChannelConfig', ...)`), unchecked. */
  globalChannelConfig(): unknown;
  /** The process's NATS side is up (or, with `undefined`, going down). */
  attach(runtime: AppRuntime | undefined): void;
  /** Makes a service available to `app.get(name)`. */
  provide<K extends keyof ProvidedServices>(name: K, service: ProvidedServices[K]): void;
}
