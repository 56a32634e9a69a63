import { resolve } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Registry } from 'prom-client';
import type { ClusterConfig, NatsOptions } from '../../config/types.ts';
import { UnknownRemoteError } from '../../errors.ts';
import { createLogger, type Logger } from '../../logger.ts';
import type { BeforeStopHook, RemoteDefinition, RouteFunction, RpcClient, ServerInfo } from '../../types.ts';
import type { ChannelService } from '../channel/channel.ts';
import type { GlobalChannelService } from '../channel/global-channel-service.ts';
import type { ConnectorConfig } from '../connector/connector.ts';
import type { BackendSessionService, SessionService } from '../connector/session.ts';
import { createRpcProxy, type Invoke } from '../rpc/proxy.ts';
import { guardProcess, isReported, reported } from '../runtime/process-guard.ts';
import { bootConfig, chooseRole, serverTypeInConfig, startRole } from './boot.ts';
import type { AppHost, AppRuntime, Feature, ProvidedServices } from './host.ts';

/** Options of `createApp`; each falls back to the environment the master gives a server process. */
export interface CreateAppOptions {
  /** Application directory, holding `config/` and `app/servers/` (default `SHADDOCK_DIR`, else cwd). */
  base?: string;
  /** Environment key of the config files (default `SHADDOCK_ENV`, else `development`). */
  env?: string;
  /** Server to run as (default `SHADDOCK_SERVER_ID`); none means "run the master". */
  serverId?: string;
  /** Type of that server (default `SHADDOCK_SERVER_TYPE`; looked up in servers.json when absent). */
  serverType?: string;
  /** A prom-client registry for Shaddock's `shaddock_*` metrics, next to the app's own (default: one of the process's own). */
  metrics?: Registry;
  /**
   * The NATS to use, instead of master.json `nats` (or the embedded broker): an open
   * `NatsConnection` of your own, which Shaddock uses and leaves open when it stops (it ends only
   * its own subscriptions), or connection settings with the fields of master.json `nats`
   * (servers, token, user/pass, nkeyFile, credsFile, tls, ping and reconnect), checked at `start()`.
   */
  nats?: NatsConnection | NatsOptions;
}

/** An open connection, told apart from settings (a URL string, a list or a plain object). */
function isConnection(nats: NatsConnection | NatsOptions): nats is NatsConnection {
  return typeof nats === 'object' && !Array.isArray(nats) && typeof (nats as Partial<NatsConnection>).publish === 'function';
}

type ConfigureFn = (app: Application) => void;
type StartAllHook = (app: Application) => void | Promise<void>;

export type { Feature } from './host.ts';

/**
 * A Shaddock application: Pomelo's `app`, typed. The same entry file runs as the master and as
 * every server; `app.start()` decides which from how the process was started.
 *
 * @example
 * const app = createApp({ base: import.meta.dirname });
 * app.configure('production|development', 'chat', (app) => app.set('roomLimit', 50));
 * await app.start();
 */
export class Application {
  readonly base: string;
  readonly env: string;
  /** Typed calls to remotes of other servers: `await app.rpc.chat.chatRemote.add(routeParam, ...)`. */
  readonly rpc: RpcClient;
  /** This process's logger, bound to its server id. */
  logger: Logger;

  private serverId: string;
  private serverType: string;
  private readonly natsOption: NatsOptions | undefined;
  private config: ClusterConfig | undefined;
  private runtime: AppRuntime | undefined;
  private stopRole: (() => Promise<void>) | undefined;
  private readonly settings = new Map<string, unknown>();
  private readonly services = new Map<string, unknown>();
  private readonly routes = new Map<string, RouteFunction>();
  private readonly remoteDefinitions = new Map<string, Map<string, RemoteDefinition<Application>>>();
  private readonly stopHooks: BeforeStopHook<Application>[] = [];
  private readonly startAllHooks: StartAllHook[] = [];
  /** What the master or server runtime is given: the declarations above, and where to put what it makes. */
  private readonly host: AppHost<Application>;

  constructor(options: CreateAppOptions = {}) {
    if (options.metrics !== undefined && !isRegistry(options.metrics)) throw new TypeError('createApp: `metrics` must be a prom-client Registry');
    this.base = resolve(options.base ?? process.env.SHADDOCK_DIR ?? process.cwd());
    this.env = options.env ?? process.env.SHADDOCK_ENV ?? 'development';
    this.serverId = options.serverId ?? process.env.SHADDOCK_SERVER_ID ?? '';
    this.serverType =
      options.serverType ?? process.env.SHADDOCK_SERVER_TYPE ?? (this.serverId ? serverTypeInConfig(this.base, this.env, this.serverId) : 'master');
    this.logger = createLogger(this.serverId || 'master', { serverType: this.serverType || undefined });
    // This process's own failures (uncaught errors, unhandled rejections) and SIGHUP go through its logger.
    guardProcess(() => this.logger);
    this.rpc = createRpcProxy(this.invoke);
    const connection = options.nats !== undefined && isConnection(options.nats) ? options.nats : undefined;
    this.natsOption = options.nats !== undefined && !isConnection(options.nats) ? options.nats : undefined;
    const app = this;
    this.host = {
      app,
      base: this.base,
      natsConnection: connection,
      get logger() {
        return app.logger;
      },
      routes: this.routes,
      beforeStopHooks: this.stopHooks,
      afterStartAllHooks: this.startAllHooks,
      remotesOf: (serverType) => this.remoteDefinitions.get(serverType) ?? new Map(),
      enabled: (feature) => this.enabled(feature),
      connectorConfig: () => (this.settings.get('connectorConfig') as ConnectorConfig | undefined) ?? {},
      masterHAConfig: () => this.settings.get('masterHAConfig'),
      metricsRegistry: options.metrics,
      globalChannelConfig: () => this.settings.get('globalChannelConfig'),
      attach: (runtime) => {
        this.runtime = runtime;
      },
      provide: (name, service) => {
        this.services.set(name, service);
      },
    };
  }

  /**
   * Runs `fn` now when this process matches: `env` and `serverType` default to all and accept
   * `'a|b'` lists (Pomelo's `app.configure`).
   */
  configure(fn: ConfigureFn): this;
  configure(env: string, fn: ConfigureFn): this;
  configure(env: string, serverType: string, fn: ConfigureFn): this;
  configure(...args: [ConfigureFn] | [string, ConfigureFn] | [string, string, ConfigureFn]): this {
    const fn = args[args.length - 1] as ConfigureFn;
    const env = args.length >= 2 ? (args[0] as string) : undefined;
    const type = args.length === 3 ? (args[1] as string) : undefined;
    if (matches(env, this.env) && matches(type, this.serverType)) fn(this);
    return this;
  }

  set(key: string, value: unknown): this {
    this.settings.set(key, value);
    return this;
  }

  /** Channels of this server (set once the server is starting, before remotes and handlers are made). */
  get(key: 'channelService'): ChannelService;
  /** Sessions of this frontend's clients (frontends only). */
  get(key: 'sessionService'): SessionService | undefined;
  /** Sessions on other frontends, from a backend (Pomelo's `backendSessionService`). */
  get(key: 'backendSessionService'): BackendSessionService;
  /** Channels in Redis, shared by every server (with `app.enable('globalChannel')`). */
  get(key: 'globalChannelService'): GlobalChannelService | undefined;
  get<T = unknown>(key: string): T | undefined;
  get(key: string): unknown {
    return this.services.has(key as keyof ProvidedServices) ? this.services.get(key) : this.settings.get(key);
  }

  enable(feature: Feature): this {
    return this.set(feature, true);
  }

  disable(feature: Feature): this {
    return this.set(feature, false);
  }

  enabled(feature: Feature): boolean {
    return this.settings.get(feature) === true;
  }

  disabled(feature: Feature): boolean {
    return !this.enabled(feature);
  }

  /** This process's server id (`master`'s id for the master). */
  getServerId(): string {
    return this.serverId;
  }

  getServerType(): string {
    return this.serverType;
  }

  /** Every server that is running now, as announced in heartbeats. */
  getServers(): ServerInfo[] {
    return this.runtime?.directory.all() ?? [];
  }

  /** Running servers of one type, sorted by id. */
  getServersByType(serverType: string): readonly ServerInfo[] {
    return this.runtime?.directory.ofType(serverType) ?? [];
  }

  /** The loaded configuration (after `start()`). */
  getConfig(): ClusterConfig | undefined {
    return this.config;
  }

  /** Chooses which server of `serverType` handles a call; the default hashes the route parameter. */
  route(serverType: string, fn: RouteFunction): this {
    this.routes.set(serverType, fn);
    return this;
  }

  /** Registers a remote in code, alongside those found in `app/servers/<type>/remote/`. */
  remote(serverType: string, name: string, definition: RemoteDefinition<Application>): this {
    let table = this.remoteDefinitions.get(serverType);
    if (!table) this.remoteDefinitions.set(serverType, (table = new Map()));
    table.set(name, definition);
    return this;
  }

  /** Runs before this server's components stop, in registration order, each bounded by a timeout. */
  beforeStopHook(fn: BeforeStopHook<Application>): this {
    this.stopHooks.push(fn);
    return this;
  }

  /** Runs on every server once all configured servers have started (Pomelo's `afterStartAll`). */
  afterStartAll(fn: StartAllHook): this {
    this.startAllHooks.push(fn);
    return this;
  }

  /**
   * Starts this process's role: the master (no server id) or one server. Resolves once it is up;
   * the process then runs until stopped. A failure is logged (once) and rejects; left unhandled at
   * the top of the entry (`await app.start()`), it ends the process with code 1 and no second report.
   */
  async start(): Promise<void> {
    try {
      const config = await bootConfig(this.base, this.env);
      if (this.natsOption !== undefined) {
        // Loaded only here: a server given no settings does without the validator.
        const { parseNatsOption } = await import('../../config/nats.ts');
        config.master.nats = parseNatsOption(this.natsOption, this.base, this.env);
      }
      this.config = config;
      const role = chooseRole(config, this.base, this.env, this.serverId, this.serverType);
      this.serverId = role.serverId;
      this.serverType = role.serverType;
      this.logger = createLogger(this.serverId, { serverType: this.serverType });
      const running = await startRole(role, this.host, config);
      this.stopRole = () => running.stop();
    } catch (error) {
      // Logged once, here or where it happened; the rejection then ends the process quietly.
      if (!isReported(error)) this.logger.error({ err: error }, `${this.serverId || 'master'} did not start: ${error instanceof Error ? error.message : String(error)}`);
      throw reported(error);
    }
  }

  /**
   * Stops this process gracefully, as `shaddock stop` would: a server drains, runs its
   * before-stop hooks and closes; the master stops every server first. The process then exits.
   */
  async stop(): Promise<void> {
    if (!this.stopRole) throw new Error('the app is not started');
    await this.stopRole();
  }

  /**
   * One remote call: pick the server, check its manifest, send the request. Deliberately not
   * `async` (the call's own promise is the only one on the hot path); a failure before sending
   * is still a rejection.
   */
  private readonly invoke: Invoke = (serverType, target, remote, method, args, options) => {
    try {
      const runtime = this.runtime;
      if (!runtime) throw new Error(`app.rpc.${serverType}.${remote}.${method}: the app is not started`);
      const server = runtime.router.pick(serverType, target);
      const methods = server.remotes[remote];
      if (!methods || !methods.includes(method)) {
        const known = Object.entries(server.remotes).flatMap(([r, ms]) => ms.map((m) => `${r}.${m}`));
        throw new UnknownRemoteError(server.id, remote, method, known);
      }
      const timeout = options.timeout ?? this.config?.master.rpcTimeout ?? 10_000;
      return runtime.rpc.call(runtime.subjects.rpc(server.id), server.id, { remote, method, args }, timeout);
    } catch (error) {
      return Promise.reject(error);
    }
  };
}

function matches(list: string | undefined, value: string): boolean {
  if (list === undefined || list === '' || list === 'all') return true;
  return list.split('|').map((item) => item.trim()).includes(value);
}

/**
 * Creates the application object. Call it once per process, configure it, then `await app.start()`.
 *
 * @example
 * import { createApp } from 'shaddock';
 * const app = createApp({ base: import.meta.dirname });
 * await app.start();
 */
export function createApp(options: CreateAppOptions = {}): Application {
  return new Application(options);
}

/** A prom-client Registry, also one from another copy of prom-client. */
function isRegistry(value: unknown): value is Registry {
  const registry = value as Partial<Registry> | null;
  return typeof registry === 'object' && registry !== null && typeof registry.getMetricsAsJSON === 'function' && typeof registry.registerMetric === 'function';
}
