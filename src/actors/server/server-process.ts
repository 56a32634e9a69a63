import { guardOf, subscribeGuarded } from '../../transport/inbound.ts';
import { ControlVerifier } from '../../transport/control.ts';
import { readRunFile } from '../master/run-file.ts';
import { reportDropsTo } from '../runtime/drops.ts';
import { checkClusterEvent, checkSysCommand } from '../../transport/wire-check.ts';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { createActor, fromPromise } from 'xstate';
import type { ClusterConfig, ServerEntry } from '../../config/types.ts';
import { lifecycleMachine, type LifecycleInput } from '../../machines/lifecycle.ts';
import { stateName } from '../../machines/state-name.ts';
import { decode, encode } from '../../transport/codec.ts';
import { borrowConnection } from '../../transport/borrowed.ts';
import { connectNats } from '../../transport/nats.ts';
import type { PendingCalls } from '../../transport/pending-calls.ts';
import { RpcServer } from '../../transport/rpc.ts';
import { subjects as buildSubjects } from '../../transport/subjects.ts';
import type { ClusterEvent, ServerInfo, SysCommand, SysReply } from '../../transport/wire.ts';
import type { BeforeStopHook } from '../../types.ts';
import type { GlobalChannelSettings } from '../../config/global-channel.ts';
import type { GlobalChannelService } from '../channel/global-channel-service.ts';
import { globalChannelsOf, openGlobalChannels } from '../channel/open-global-channels.ts';
import type { AppHost } from '../app/host.ts';
import { Router } from '../rpc/router.ts';
import { systemClock, type Clock } from '../../clock.ts';
import { connectorSettings, type ConnectorSettings } from '../../config/connector.ts';
import { announced } from './announced.ts';
import { openCallLayer } from './call-layer.ts';
import { ClientServices } from './client-services.ts';
import { ServerDirectory } from './directory.ts';
import { ServerObservability } from './observability.ts';
import { reported } from '../runtime/process-guard.ts';
import { stopOnSignals, watchState, whenDone } from '../runtime/watch.ts';
import { instantiate, loadDefinitions, RemoteTable } from '../rpc/remotes.ts';
import { inspectorOfProcess } from '../inspect/inspector.ts';
import { serveInspection } from '../inspect/serve.ts';

/**
 * Runs one server process: its `lifecycle` machine with real effects (NATS, remotes, heartbeats).
 * Resolves once the server is `running`; the process exits when the lifecycle ends
 * (0 after `stopped`, 1 after `failed`). SIGTERM and SIGINT stop it gracefully.
 */
export async function runServer<App>(host: AppHost<App>, config: ClusterConfig, entry: ServerEntry, clock: Clock = systemClock): Promise<ServerProcess<App>> {
  const server = new ServerProcess(host, config, entry, clock);
  await server.start();
  return server;
}

export class ServerProcess<App = unknown> {
  private nc: NatsConnection | undefined;
  private rpc: RpcServer | undefined;
  private calls: PendingCalls | undefined;
  private directory: ServerDirectory | undefined;
  private clients: ClientServices<App> | undefined;
  private observability: ServerObservability | undefined;
  private connectorSettings: ConnectorSettings | undefined;
  private globalChannelSettings: GlobalChannelSettings | undefined;
  private globalChannels: GlobalChannelService | undefined;
  private readonly control: ControlVerifier;
  private startAllRan = false;
  private subscriptions: Subscription[] = [];
  private heartbeat: unknown;
  private readonly remotes: RemoteTable;
  private readonly startedAt: number;
  private readonly subjects;
  private readonly actor;

  constructor(
    private readonly host: AppHost<App>,
    private readonly config: ClusterConfig,
    private readonly entry: ServerEntry,
    /** Heartbeats, hook and drain timeouts, client silence and call deadlines run on it. */
    private readonly clock: Clock = systemClock,
  ) {
    this.startedAt = clock.wall();
    this.control = new ControlVerifier(controlKeyOf(config), entry.id, process.pid, () => clock.wall(), epochOf());
    this.subjects = buildSubjects(config.master.prefix, config.master.cluster);
    this.remotes = new RemoteTable(entry.id);
    const machine = lifecycleMachine.provide({
      actors: {
        boot: fromPromise<void, LifecycleInput>(() => this.boot()),
        start: fromPromise<void, LifecycleInput>(() => this.startComponents()),
        drain: fromPromise<void, LifecycleInput>(async () => {
          await Promise.all([this.rpc?.drain(), this.clients?.drain()]);
        }),
        runStopHooks: fromPromise<void, LifecycleInput>(() => this.runStopHooks()),
        stopComponents: fromPromise<void, LifecycleInput>(() => this.stopComponents()),
      },
    });
    this.actor = createActor(machine, {
      clock,
      input: { serverId: entry.id, drainTimeout: (entry.shutdownTimeout ?? config.master.stopTimeout) / 2 },
    });
    inspectorOfProcess().register(this.actor, entry.id);
  }

  /** The lifecycle state as a dotted name (`running`, `stopping.hooks`, ...). */
  get state(): string {
    return stateName(this.actor.getSnapshot().value);
  }

  async start(): Promise<void> {
    this.globalChannelSettings = await globalChannelsOf(this.host, this.config);
    // A frontend's client settings are checked before anything starts: a bad one names its field.
    if (this.entry.frontend) {
      this.connectorSettings = connectorSettings(this.host.connectorConfig() as Record<string, unknown>, { env: this.config.env, serverId: this.entry.id });
    }
    const log = this.host.logger;
    const removeSignals = stopOnSignals(() => this.actor.send({ type: 'STOP' }));
    return new Promise((resolve, reject) => {
      watchState(this.actor, (state, snapshot) => {
        log.info({ state }, `lifecycle ${state}`);
        // Peers learn at once that this server is draining or stopping and route around it.
        if (this.nc && !this.nc.isClosed() && state !== 'booting') this.announce();
        if (state === 'running') resolve();
        if (snapshot.status !== 'done') return;
        removeSignals();
        const failed = snapshot.matches('failed');
        if (failed) {
          log.error({ error: snapshot.context.error }, 'server failed to start');
          reject(reported(new Error(`server "${this.entry.id}" failed: ${snapshot.context.error}`)));
        }
        process.exitCode = failed ? 1 : 0;
        // Let pino flush, then leave even if a user's timer would keep the loop alive.
        setImmediate(() => process.exit(failed ? 1 : 0));
      });
      this.actor.start();
    });
  }

  /** Asks for a graceful stop; resolves when the lifecycle has ended (just before the process exits). */
  stop(): Promise<void> {
    this.actor.send({ type: 'STOP' });
    return whenDone(this.actor);
  }

  private async boot(): Promise<void> {
    const nats = this.config.master.nats;
    if (this.host.natsConnection) {
      // The app's own connection: used, and left open for it when this server stops.
      this.nc = borrowConnection(this.host.natsConnection);
      reportDropsTo(this.nc, this.host.logger);
      return;
    }
    if (!nats) {
      throw new Error('no NATS to connect to: start servers through the master (shaddock start), or set SHADDOCK_NATS_URL');
    }
    // NATS may be away as the server starts (an outage, a broker restarting): keep trying for as
    // long as the master waits for this server to register.
    this.nc = await connectNats(nats, this.entry.id, { firstConnectTimeout: this.config.master.startTimeout });
    reportDropsTo(this.nc, this.host.logger);
    serveInspection(this.nc, this.subjects, this.entry.id);
  }

  private async startComponents(): Promise<void> {
    const nc = this.nc!;
    const { master } = this.config;
    const directory = new ServerDirectory(nc, this.subjects, master.heartbeatTimeout, () => this.announce(), this.clock);
    this.directory = directory;
    directory.start();
    const router = new Router(directory, this.host.routes, () => this.config.servers.map((server) => server.serverType));
    const callLayer = openCallLayer(nc, directory, this.clock);
    this.calls = callLayer.calls;
    const runtime = { nc, subjects: this.subjects, directory, router, ...callLayer };
    this.host.attach(runtime);
    const place = { entry: this.entry, prefix: master.prefix, cluster: master.cluster, base: this.host.base, startedAt: this.startedAt };
    const observability = new ServerObservability(nc, this.subjects, place, this.host.metricsRegistry);
    this.observability = observability;
    // Before any remote or handler is made: their constructors may ask for the channel services.
    if (this.globalChannelSettings) this.globalChannels = await openGlobalChannels(this.host, this.globalChannelSettings, this.entry, runtime, master.startTimeout);
    this.clients = new ClientServices(this.host, this.entry, runtime, master.rpcTimeout, this.clock, this.connectorSettings, observability, this.globalChannels);

    const definitions = new Map(await loadDefinitions(this.host.base, this.entry.serverType, 'remote'));
    for (const [name, definition] of this.host.remotesOf(this.entry.serverType)) definitions.set(name, definition);
    for (const [name, definition] of definitions) this.remotes.add(name, instantiate(definition, this.host.app));

    this.rpc = new RpcServer(nc, this.subjects.rpc(this.entry.id), this.remotes.dispatch, 'rpc', observability.wrap);
    this.rpc.start();
    observability.declare('remote', this.remotes.manifest());
    this.subscriptions.push(
      subscribeGuarded(nc, this.subjects.sys(this.entry.id), {
        kind: 'sys',
        check: checkSysCommand,
        // Only the leading master may stop or adopt this server (docs/protocol.md, sys).
        authorize: (request) => (request.command === 'ping' ? undefined : this.control.refuse(request.command, request)),
        handle: (request, msg) => {
          msg.respond(encode({ ok: true, state: this.state, pid: process.pid, epoch: this.control.epoch } satisfies SysReply));
          if (request.command === 'adopt') this.host.logger.info({ epoch: request.epoch }, `adopted by the master of epoch ${request.epoch}`);
          if (request.command === 'stop') this.actor.send({ type: 'STOP' });
        },
        malformed: (problem): SysReply => ({ ok: false, error: problem }),
      }),
      subscribeGuarded(nc, this.subjects.events, {
        kind: 'events',
        check: checkClusterEvent,
        handle: (event) => {
          if (event.type === 'allStarted') void this.runStartAllHooks();
        },
      }),
    );
    // Last: the client port opens once everything a client could reach is ready.
    await this.clients.start();
    observability.declare('handler', this.clients.manifest());
    observability.start();
    this.heartbeat = this.clock.setInterval(() => this.announce(), master.heartbeatInterval);
    await nc.flush();
  }

  private info(): ServerInfo {
    const { entry } = this;
    return {
      id: entry.id,
      serverType: entry.serverType,
      host: entry.host,
      ...(entry.port !== undefined ? { port: entry.port } : {}),
      ...(entry.clientHost !== undefined ? { clientHost: entry.clientHost } : {}),
      ...(this.clientPort !== undefined ? { clientPort: this.clientPort } : {}),
      frontend: entry.frontend,
      pid: process.pid,
      state: this.state,
      remotes: this.remotes.manifest(),
      startedAt: this.startedAt,
      rss: process.memoryUsage.rss(),
      ...this.droppedSoFar(),
      ...announced(entry),
    };
  }

  /** The connection's drop counters, for the heartbeat: nothing while no message was dropped. */
  private droppedSoFar(): { dropped?: Record<string, number> } {
    const dropped = this.nc ? guardOf(this.nc).dropped() : {};
    return Object.keys(dropped).length > 0 ? { dropped } : {};
  }

  /** The port clients connect to: the one bound, which differs from the configured one when that is 0. */
  private get clientPort(): number | undefined {
    return this.clients?.clientPort ?? this.entry.clientPort;
  }

  private announce(): void {
    try {
      this.nc?.publish(this.subjects.heartbeat, encode(this.info()));
    } catch {
      // Closed or closing: the next heartbeat (or the master's exit watch) tells the truth.
    }
  }

  private async runStartAllHooks(): Promise<void> {
    // Once per process: a new leader announces `allStarted` again when it has adopted the cluster.
    if (this.startAllRan) return;
    this.startAllRan = true;
    for (const hook of this.host.afterStartAllHooks) {
      try {
        await hook(this.host.app);
      } catch (error) {
        this.host.logger.error({ err: error }, 'afterStartAll hook failed');
      }
    }
  }

  private async runStopHooks(): Promise<void> {
    for (const [index, hook] of this.host.beforeStopHooks.entries()) {
      try {
        await withTimeout(this.clock, callHook(hook, this.host.app), this.config.master.stopHookTimeout, `beforeStop hook #${index + 1}`);
      } catch (error) {
        this.host.logger.error({ err: error }, `beforeStop hook #${index + 1} failed; stopping anyway`);
      }
    }
  }

  private async stopComponents(): Promise<void> {
    // Clients first, while NATS is up: their sessions' `closed` listeners may call other servers.
    await this.clients?.stop();
    await this.globalChannels?.stop();
    if (this.heartbeat !== undefined) this.clock.clearInterval(this.heartbeat);
    this.directory?.stop();
    this.observability?.stop();
    this.host.attach(undefined);
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    this.subscriptions = [];
    const nc = this.nc;
    try {
      if (!nc || nc.isClosed()) return;
      // The last word: peers and the master drop this server now rather than after a timeout.
      nc.publish(this.subjects.heartbeat, encode({ ...this.info(), state: 'stopped' } satisfies ServerInfo));
      await nc.drain();
    } finally {
      // Calls still waiting will not be answered on a closed connection.
      this.calls?.stop();
    }
  }
}

/** Runs Pomelo's `fn(app, cb)` or an async `fn(app)` as one promise. */
function callHook<App>(hook: BeforeStopHook<App>, app: App): Promise<void> {
  if (hook.length >= 2) {
    return new Promise((resolve, reject) => {
      (hook as (app: App, done: (error?: unknown) => void) => void)(app, (error) => (error ? reject(error) : resolve()));
    });
  }
  return Promise.resolve((hook as (app: App) => Promise<void> | void)(app));
}

function withTimeout<T>(clock: Clock, promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: unknown;
  const timeout = new Promise<never>((_, reject) => {
    timer = clock.setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clock.clearTimeout(timer));
}

/**
 * The control key this server checks `stop` commands with: the one its master gave it at spawn,
 * else (a server started by hand next to a running master) the one in the master's run file.
 */
/** The epoch of the master that spawned this process (0 for a server started by hand). */
function epochOf(): number {
  const epoch = Number(process.env.SHADDOCK_EPOCH ?? 0);
  return Number.isSafeInteger(epoch) && epoch >= 0 ? epoch : 0;
}

function controlKeyOf(config: ClusterConfig): string | undefined {
  const fromMaster = process.env.SHADDOCK_CONTROL_KEY;
  if (fromMaster) return fromMaster;
  return readRunFile(config.dir, config.env)?.controlKey;
}
