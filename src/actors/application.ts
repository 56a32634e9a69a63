import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { loadConfig } from '../config/lazy.ts';
import type { ClusterConfig, ServerEntry } from '../config/types.ts';
import { NoServerAvailableError, RouteError, ServerUnavailableError, UnknownRemoteError, UnknownServerTypeError } from '../errors.ts';
import { createLogger, type Logger } from '../logger.ts';
import { callRemote } from '../transport/rpc.ts';
import type { Subjects } from '../transport/subjects.ts';
import type {
  BeforeStopHook,
  RemoteDefinition,
  RouteFunction,
  RouteParam,
  RpcClient,
  ServerInfo,
} from '../types.ts';
import type { ChannelService } from './channel.ts';
import type { ServerDirectory } from './directory.ts';
import type { BackendSessionService, SessionService } from './session.ts';
import { defaultRoute } from './route.ts';
import { createRpcProxy, type Invoke } from './rpc-proxy.ts';

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
}

/** What a running process gives the app so that `app.rpc` and `getServers()` work. */
export interface AppRuntime {
  nc: NatsConnection;
  subjects: Subjects;
  directory: ServerDirectory;
}

type ConfigureFn = (app: Application) => void;
type StartAllHook = (app: Application) => void | Promise<void>;

/** Settings `app.enable()` knows about; any other string works too. */
export type Feature = 'masterHA' | 'globalChannel' | (string & {});

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
  private config: ClusterConfig | undefined;
  private runtime: AppRuntime | undefined;
  private stopRole: (() => Promise<void>) | undefined;
  private readonly settings = new Map<string, unknown>();
  private readonly routes = new Map<string, RouteFunction>();
  private readonly remoteDefinitions = new Map<string, Map<string, RemoteDefinition<Application>>>();
  private readonly stopHooks: BeforeStopHook<Application>[] = [];
  private readonly startAllHooks: StartAllHook[] = [];

  constructor(options: CreateAppOptions = {}) {
    this.base = resolve(options.base ?? process.env.SHADDOCK_DIR ?? process.cwd());
    this.env = options.env ?? process.env.SHADDOCK_ENV ?? 'development';
    this.serverId = options.serverId ?? process.env.SHADDOCK_SERVER_ID ?? '';
    this.serverType =
      options.serverType ?? process.env.SHADDOCK_SERVER_TYPE ?? (this.serverId ? typeInConfig(this.base, this.env, this.serverId) : 'master');
    this.logger = createLogger(this.serverId || 'master', { serverType: this.serverType || undefined });
    this.rpc = createRpcProxy(this.invoke);
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
  get<T = unknown>(key: string): T | undefined;
  get(key: string): unknown {
    return this.settings.get(key);
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

  /** Remotes registered in code for a server type. */
  remotesOf(serverType: string): ReadonlyMap<string, RemoteDefinition<Application>> {
    return this.remoteDefinitions.get(serverType) ?? new Map();
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

  get beforeStopHooks(): readonly BeforeStopHook<Application>[] {
    return this.stopHooks;
  }

  get afterStartAllHooks(): readonly StartAllHook[] {
    return this.startAllHooks;
  }

  /**
   * Starts this process's role: the master (no server id) or one server. Resolves once it is up;
   * the process then runs until stopped.
   */
  async start(): Promise<void> {
    const config = configFromMaster() ?? (await loadConfig({ dir: this.base, env: this.env }));
    this.config = config;
    if (!this.serverId) {
      this.serverId = config.master.id;
      this.logger = createLogger(this.serverId, { serverType: 'master' });
      const { runMaster } = await import('./master.ts');
      const master = await runMaster(this, config, { entry: findEntry(this.base) });
      this.stopRole = () => master.stop();
      return;
    }
    const entry = config.servers.find((server) => server.id === this.serverId) ?? entryFromMaster(this.serverId);
    if (!entry) {
      throw new Error(`server "${this.serverId}" is not in ${this.base}/config/servers.json [${this.env}]`);
    }
    if (!this.serverType) this.serverType = entry.serverType;
    this.logger = createLogger(this.serverId, { serverType: this.serverType });
    const { runServer } = await import('./server-process.ts');
    const server = await runServer(this, config, entry);
    this.stopRole = () => server.stop();
  }

  /**
   * Stops this process gracefully, as `shaddock stop` would: a server drains, runs its
   * before-stop hooks and closes; the master stops every server first. The process then exits.
   */
  async stop(): Promise<void> {
    if (!this.stopRole) throw new Error('the app is not started');
    await this.stopRole();
  }

  /** @internal Connects `app.rpc` and `getServers()` to a running process. */
  attach(runtime: AppRuntime | undefined): void {
    this.runtime = runtime;
  }

  /** @internal The master-assigned role became known late (e.g. `shaddock add`). */
  setConfig(config: ClusterConfig): void {
    this.config = config;
  }

  /**
   * One remote call: pick the server, check its manifest, send the request. Deliberately not
   * `async` (one promise and one frame fewer on the hot path: nats.js captures a stack trace per
   * request, and a deeper stack costs more); a failure before sending is still a rejection.
   */
  private readonly invoke: Invoke = (serverType, target, remote, method, args, options) => {
    try {
      const runtime = this.runtime;
      if (!runtime) throw new Error(`app.rpc.${serverType}.${remote}.${method}: the app is not started`);
      const server = this.pickServer(runtime, serverType, target);
      const methods = server.remotes[remote];
      if (!methods || !methods.includes(method)) {
        const known = Object.entries(server.remotes).flatMap(([r, ms]) => ms.map((m) => `${r}.${m}`));
        throw new UnknownRemoteError(server.id, remote, method, known);
      }
      const timeout = options.timeout ?? this.config?.master.rpcTimeout ?? 10_000;
      return callRemote(runtime.nc, runtime.subjects.rpc(server.id), server.id, { remote, method, args }, timeout);
    } catch (error) {
      return Promise.reject(error);
    }
  };

  /** @internal The server of `serverType` that `routeParam` routes to (the type's route function). */
  serverFor(serverType: string, routeParam: RouteParam): ServerInfo {
    const runtime = this.runtime;
    if (!runtime) throw new Error(`route to "${serverType}": the app is not started`);
    return this.pickServer(runtime, serverType, { routeParam });
  }

  private pickServer(runtime: AppRuntime, serverType: string, target: { routeParam: RouteParam } | { serverId: string }): ServerInfo {
    const servers = runtime.directory.ofType(serverType);
    if (servers.length === 0) {
      const configured = this.config?.servers.some((s) => s.serverType === serverType) ?? false;
      if (!configured && !runtime.directory.types().includes(serverType)) {
        const known = new Set([...(this.config?.servers.map((s) => s.serverType) ?? []), ...runtime.directory.types()]);
        throw new UnknownServerTypeError(serverType, [...known]);
      }
      if (!('serverId' in target)) throw new NoServerAvailableError(serverType);
    }
    if ('serverId' in target) {
      const server = runtime.directory.get(target.serverId);
      if (!server || server.serverType !== serverType || server.state !== 'running') throw new ServerUnavailableError(target.serverId);
      return server;
    }
    const route = this.routes.get(serverType) ?? defaultRoute;
    const chosen = route(target.routeParam, servers, serverType);
    const server = typeof chosen === 'string' ? servers.find((s) => s.id === chosen) : chosen;
    if (!server || server.serverType !== serverType) {
      throw new RouteError(serverType, `returned ${JSON.stringify(typeof chosen === 'string' ? chosen : chosen?.id)}, which is not a running "${serverType}" server`);
    }
    return server;
  }
}

/**
 * The config the master validated and handed to this server process (`SHADDOCK_CONFIG`), if any:
 * a server then starts without loading and validating the files again (and without the validator).
 */
function configFromMaster(): ClusterConfig | undefined {
  const text = process.env.SHADDOCK_CONFIG;
  return text ? (JSON.parse(text) as ClusterConfig) : undefined;
}

/**
 * The type of a server given only by id (`shaddock start -i chat-server-1`). `configure()` runs
 * before `start()` and filters by type, so it has to be known now: a quick look in servers.json.
 * Any problem with the file is left for `start()`, which validates it properly and says what is wrong.
 */
function typeInConfig(base: string, env: string, serverId: string): string {
  const fromMaster = entryFromMaster(serverId);
  if (fromMaster) return fromMaster.serverType;
  try {
    const servers = JSON.parse(readFileSync(resolve(base, 'config', 'servers.json'), 'utf8')) as Record<string, Record<string, { id?: unknown }[]>>;
    for (const [type, entries] of Object.entries(servers[env] ?? {})) {
      if (Array.isArray(entries) && entries.some((entry) => entry?.id === serverId)) return type;
    }
  } catch {
    // Reported by start().
  }
  return '';
}

/** The entry the master passed in `SHADDOCK_SERVER` (for servers added at runtime), if it is this server's. */
function entryFromMaster(serverId: string): ServerEntry | undefined {
  const text = process.env.SHADDOCK_SERVER;
  if (!text) return undefined;
  const entry = JSON.parse(text) as ServerEntry;
  return entry.id === serverId ? entry : undefined;
}

function matches(list: string | undefined, value: string): boolean {
  if (list === undefined || list === '' || list === 'all') return true;
  return list.split('|').map((item) => item.trim()).includes(value);
}

/** The entry the master spawns for each server: `SHADDOCK_ENTRY`, else `app.ts` or `app.js` in the app directory. */
function findEntry(base: string): string {
  const fromEnv = process.env.SHADDOCK_ENTRY;
  if (fromEnv) return resolve(fromEnv);
  for (const name of ['app.ts', 'app.mts', 'app.js', 'app.mjs']) {
    const candidate = resolve(base, name);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`no app entry in ${base}: expected app.ts or app.js (or set SHADDOCK_ENTRY)`);
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
