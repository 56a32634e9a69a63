import { createHash } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { createActor, fromPromise } from 'xstate';
import { childSpecOf, inStopOrder } from '../../config/child-spec.ts';
import { parseServerEntry } from '../../config/index.ts';
import type { ClusterConfig, NatsSettings, ServerEntry } from '../../config/types.ts';
import { masterMachine, type MasterContext, type MasterEvent } from '../../machines/master.ts';
import { stateName } from '../../machines/state-name.ts';
import { decode, encode } from '../../transport/codec.ts';
import { startMastersBroker, type EmbeddedNats } from './embedded-broker.ts';
import { borrowConnection } from '../../transport/borrowed.ts';
import { connectNats } from '../../transport/nats.ts';
import type { PendingCalls } from '../../transport/pending-calls.ts';
import { subjects as buildSubjects, type Subjects } from '../../transport/subjects.ts';
import type { ClusterEvent, MasterInfo, ServerInfo, ServerRow, SysCommand, SysReply } from '../../transport/wire.ts';
import { ControlVerifier, newControlKey, signControl } from '../../transport/control.ts';
import { subscribeGuarded } from '../../transport/inbound.ts';
import { checkSysCommand } from '../../transport/wire-check.ts';
import { AdminServer, type ClusterControl } from './admin-server.ts';
import { describeMaster, MastersSubject } from './masters.ts';
import { notify } from './notice.ts';

export type { MasterNotice } from './notice.ts';
import { LivenessProbe } from './liveness.ts';
import { BusHealth } from './bus-health.ts';
import { reportDropsTo } from '../runtime/drops.ts';
import { guardOf } from '../../transport/inbound.ts';
import type { AppHost } from '../app/host.ts';
import { Router } from '../rpc/router.ts';
import { openCallLayer } from '../server/call-layer.ts';
import { ServerDirectory } from '../server/directory.ts';
import { LeadImmediately, leadershipEvents, type Leadership } from './leadership.ts';
import { SupervisedServer } from './supervised-server.ts';
import { systemClock, type Clock } from '../../clock.ts';
import { reported } from '../runtime/process-guard.ts';
import { stopOnSignals, watchState, whenDone } from '../runtime/watch.ts';
import { HangupRelay } from './hangup-relay.ts';
import { MasterGlobalChannels } from './master-global-channels.ts';
import { inspectorOfProcess } from '../inspect/inspector.ts';
import { serveInspection } from '../inspect/serve.ts';
import { removeRunFile, writeRunFile } from './run-file.ts';
import { consoleAddress } from '../../config/console.ts';
import { MasterConsole } from './console/master-console.ts';
import { natsInspection } from './console/inspect-source.ts';
import type { SpawnServerOptions } from './spawn.ts';
import { WarmSpares } from './spares.ts';
import type { MicroService } from '../../transport/micro.ts';
import { masterService } from './master-service.ts';
import { ProcessMetrics } from '../runtime/metrics.ts';
import { countRestarts, metricsHandler, type ClusterMetricsSource } from './metrics.ts';

export interface MasterOptions {
  /** The app entry each server process runs. */
  entry: string;
  /** What the master and its supervised servers time and stamp with (default: Node's clocks). */
  clock?: Clock;
  /** Who decides that this master leads (default: it does, at once). */
  leadership?: Leadership;
}

/**
 * Runs the master: resolves once it leads and has spawned every server. The process exits when
 * the master machine reaches `stopped` (after `shaddock stop`, SIGINT or SIGTERM).
 */
export async function runMaster<App>(host: AppHost<App>, config: ClusterConfig, options: MasterOptions): Promise<Master<App>> {
  const master = new Master(host, config, options);
  await master.start();
  return master;
}

export class Master<App = unknown> {
  private nc: NatsConnection | undefined;
  private embedded: EmbeddedNats | undefined;
  /** With `app.enable('globalChannel')`: its Redis (maybe embedded) and the cleanup of dead frontends. */
  private globalChannels: MasterGlobalChannels | undefined;
  private nats: NatsSettings | undefined;
  private directory: ServerDirectory | undefined;
  private admin: AdminServer | undefined;
  private masters: MastersSubject | undefined;
  /** This master as a NATS micro service (`$SRV.*`), with the admin subject as its endpoint. */
  private micro: MicroService | undefined;
  private probe: LivenessProbe | undefined;
  private bus: BusHealth | undefined;
  private calls: PendingCalls | undefined;
  private readonly subjects: Subjects;
  /** master.json's, or derived from the control key (so that every master of an HA cluster has the same). */
  private adminToken = '';
  /**
   * Signs the leader's control commands; given to each server at spawn, never sent over NATS.
   * The cluster's, from the leadership (shared by every master of an HA cluster); set on connect.
   */
  private controlKey = '';
  private readonly servers = new Map<string, SupervisedServer>();
  /**
   * Server id → the last process heard running (also while standby), and whether it then said it
   * was stopping: how a new leader tells a server that went down in a gap from one stopped on purpose.
   */
  private readonly heard = new Map<string, { pid: number; stopped: boolean; restarts?: number }>();
  /** The warm spares of the servers with `warm-spare: true` (never listed, never supervised). */
  private readonly spares: WarmSpares;
  /** Passes SIGHUP (reopen the log file) on to the servers. */
  private readonly hangups = new HangupRelay(() => this.servers.values());
  private readonly actor;
  private readonly leadership: Leadership;
  private stopping: Promise<void> | undefined;
  /** A stop may come while connecting; it must wait, or an embedded broker started late is orphaned. */
  private connecting: Promise<void> | undefined;
  private readonly clock: Clock;
  private readonly startedAt: number;
  /** The master's own metrics: its NATS reconnects, its servers' restarts. */
  private readonly metrics: ProcessMetrics;
  /** The web console, served while this master leads; mount more routes on `webConsole.routes`. */
  readonly webConsole: MasterConsole;

  constructor(
    private readonly host: AppHost<App>,
    private readonly config: ClusterConfig,
    private readonly options: MasterOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.startedAt = this.clock.wall();
    this.subjects = buildSubjects(config.master.prefix, config.master.cluster);
    this.leadership = options.leadership ?? new LeadImmediately();
    this.metrics = new ProcessMetrics(host.metricsRegistry);
    this.spares = new WarmSpares(host.logger);
    countRestarts(this.metrics.registry, () => [...this.servers.values()].map((server) => ({ ...server.row(this.clock.wall(), undefined), id: server.id })));
    this.webConsole = new MasterConsole(consoleAddress(config.master), { logger: host.logger, clock: this.clock, rows: () => this.rows(), masterId: config.master.id });
    // Every server's metrics, gathered at each scrape; behind the admin token like the rest of the console.
    const metrics = metricsHandler(this.metricsSource);
    this.webConsole.routes.add('/metrics', ({ req, res }) => metrics(req, res));
    const machine = masterMachine.provide({
      actors: {
        connect: fromPromise<void, MasterContext>(() => (this.connecting = this.connect())),
        adoptServers: fromPromise<void, MasterContext>(async () => this.adoptServers()),
        stopServers: fromPromise<void, MasterContext>(() => this.shutdown()),
      },
      actions: {
        // The time of an election is read here, not in the machine.
        campaign: () => this.leadership.campaign({ id: config.master.id, host: config.master.host, port: config.master.port ?? 0, pid: process.pid }, leadershipEvents((event) => this.onLeadership(event), () => this.clock.wall())),
        announceAllStarted: () => this.announceAllStarted(),
        release: () => this.release(),
      },
    });
    this.actor = createActor(machine, { input: { masterId: config.master.id } });
    inspectorOfProcess().register(this.actor, config.master.id);
  }

  get state(): string {
    return stateName(this.actor.getSnapshot().value);
  }

  /** What the master's `/metrics` gathers from (master/metrics.ts: `metricsHandler(master.metricsSource)`). */
  get metricsSource(): ClusterMetricsSource {
    return {
      nc: () => this.nc,
      subjects: this.subjects,
      servers: () => this.directory?.all() ?? [],
      self: { id: this.config.master.id, registry: this.metrics.registry },
      timeout: Math.min(2_000, this.config.master.rpcTimeout),
    };
  }

  /** Stops every server, then the master; resolves when the master machine has stopped. */
  stop(): Promise<void> {
    this.actor.send({ type: 'STOP' });
    return whenDone(this.actor);
  }

  start(): Promise<void> {
    if (this.host.enabled('masterHA') && !this.options.leadership) {
      const error = new Error("masterHA is enabled but this master was given no election: start it with app.start() or shaddock start");
      notify({ type: 'shaddock:failed', error: error.message });
      return Promise.reject(error);
    }
    const log = this.host.logger;
    const removeStopSignals = stopOnSignals(() => this.actor.send({ type: 'STOP' }));
    // This process reopens its own log on SIGHUP (process-guard.ts); its servers are told here.
    const hangUp = (): void => this.hangups.hangUp();
    process.on('SIGHUP', hangUp);
    const removeSignals = (): void => {
      removeStopSignals();
      process.off('SIGHUP', hangUp);
    };
    return new Promise((resolve, reject) => {
      watchState(this.actor, (state, snapshot) => {
        log.info({ state }, `master ${state}`);
        if (snapshot.matches('leading')) resolve();
        if (snapshot.matches('standby')) {
          notify({ type: 'shaddock:standby', masterId: this.config.master.id });
          resolve();
        }
        if (snapshot.status !== 'done') return;
        removeSignals();
        const failed = snapshot.matches('failed');
        if (failed) {
          const error = snapshot.context.error ?? 'unknown error';
          log.error({ error }, 'master failed');
          notify({ type: 'shaddock:failed', error });
          reject(reported(new Error(error)));
        }
        setImmediate(() => process.exit(failed ? 1 : 0));
      });
      this.actor.start();
    });
  }

  private onLeadership(event: MasterEvent): void {
    const log = this.host.logger;
    if (event.type === 'LEADERSHIP_LOST') log.warn({ reason: event.reason }, `leadership lost: ${event.reason}`);
    if (event.type === 'SUSPENDED') log.warn({ reason: event.reason }, `leadership suspended: ${event.reason}; issuing no command until it is confirmed`);
    if (event.type === 'ELECTED') log.info({ epoch: event.epoch }, `elected leader (epoch ${event.epoch})`);
    this.actor.send(event);
  }

  /** The epoch of the current term, which every command carries. */
  private get epoch(): number {
    return this.actor.getSnapshot().context.epoch ?? 0;
  }

  private async connect(): Promise<void> {
    const { master } = this.config;
    const own = this.host.natsConnection;
    if (own) {
      // The app's own connection: the servers (running the same entry) bring theirs; the run file
      // gets the server it is connected to, for the CLI.
      this.nats = { ...master.nats, servers: [own.getServer()] };
    } else if (master.nats) {
      this.nats = master.nats;
    } else {
      this.embedded = await startMastersBroker();
      this.nats = { servers: [this.embedded.url] };
      this.host.logger.info({ url: this.embedded.url, natsPid: this.embedded.pid }, 'started embedded nats-server');
    }
    const nc = (this.nc = own ? borrowConnection(own) : await connectNats(this.nats, master.id));
    void this.metrics.followReconnects(nc);
    this.globalChannels = await MasterGlobalChannels.open(this.host, this.config);
    this.controlKey = await this.leadership.controlKey(newControlKey);
    this.adminToken = master.adminToken ?? createHash('sha256').update(`shaddock admin token|${this.controlKey}`).digest('hex').slice(0, 32);
    reportDropsTo(nc, this.host.logger);
    this.webConsole.useInspection(natsInspection(nc, this.subjects, this.clock));
    serveInspection(nc, this.subjects, master.id);
    this.directory = new ServerDirectory(nc, this.subjects, master.heartbeatTimeout, undefined, this.clock);
    const probe = (this.probe = new LivenessProbe(
      nc,
      this.subjects,
      this.clock,
      master.heartbeatInterval,
      master.heartbeatTimeout,
      () => [...this.servers.values()].filter((server) => server.live),
      (id, pid) => this.servers.get(id)?.heartbeat(pid),
    ));
    this.directory.on('heartbeat', (info) => {
      if (info.state === 'running') this.heard.set(info.id, { pid: info.pid, stopped: false, ...(info.restarts !== undefined ? { restarts: info.restarts } : {}) });
      const server = this.servers.get(info.id);
      if (server) this.hangups.heartbeat(server, info.pid);
      // Only a server that is serving counts as connected; `starting` is still on its way.
      if (info.state !== 'running') return;
      if (!server) return;
      // A live one counts once it answers a ping (liveness.ts); one that is down is adopted.
      if (server.live) probe.probe(info.id);
      else server.heartbeat(info.pid);
    });
    this.directory.on('down', (info, why) => {
      if (why === 'stopped') this.heard.set(info.id, { pid: info.pid, stopped: true });
      if (info.frontend && this.actor.getSnapshot().matches('leading')) this.globalChannels?.frontendGone(info.id, () => this.directory?.get(info.id) !== undefined);
    });
    this.directory.start();
    probe.start();
    const bus = new BusHealth(this.clock, master.heartbeatTimeout, this.host.logger, () => [...this.servers.values()].filter((s) => s.live).length, () => probe.lastAnswer, () => this.retryAfterOutage());
    this.bus = bus;
    void bus.watch(nc);
    const router = new Router(this.directory, this.host.routes, () => this.config.servers.map((server) => server.serverType));
    const callLayer = openCallLayer(nc, this.directory, this.clock);
    this.calls = callLayer.calls;
    this.host.attach({ nc, subjects: this.subjects, directory: this.directory, router, ...callLayer });
    // Leader or standby, a NATS micro service; only the leader answers its endpoint `admin` (adoptServers).
    const discovery = masterService(nc, this.config.master, this.config.dir, this.subjects.admin, this.startedAt);
    this.micro = discovery.service;
    this.micro.start();
    this.admin = new AdminServer(nc, this.subjects.admin, this.adminToken, this.control(), this.host.logger, discovery.admin);
    this.masters = new MastersSubject(nc, this.subjects, () => this.info());
    this.refuseNextTo(await this.masters.others());
    this.masters.answer();
    this.answerSys(nc);
    await nc.flush();
  }

  /** Whether this master runs with master HA (in an election), not alone. */
  private get ha(): boolean {
    return this.host.enabled('masterHA');
  }

  /**
   * Without master HA a master runs alone: it refuses to start next to a live master of its
   * cluster on the same NATS, naming it. With master HA it refuses next to one that runs alone, or
   * one with its own id.
   */
  private refuseNextTo(others: readonly MasterInfo[]): void {
    const { master } = this.config;
    const where = `cluster "${master.cluster}" (prefix "${master.prefix}") on this NATS`;
    if (!this.ha && others.length > 0) {
      throw new Error(`another master already runs ${where}: ${others.map(describeMaster).join(', ')}; stop it first, or enable masterHA to run standby masters`);
    }
    const alone = others.find((other) => !other.ha);
    if (alone) throw new Error(`a master without masterHA already runs ${where}: ${describeMaster(alone)}; stop it first`);
    const twin = others.find((other) => other.id === master.id);
    if (twin) throw new Error(`a master with this id already runs ${where}: ${describeMaster(twin)}; give each master its own id (masterha.json)`);
  }

  /** This master as the `masters` subject tells it. */
  private info(): MasterInfo {
    const snapshot = this.actor.getSnapshot();
    const leading = snapshot.matches('leading');
    const { master } = this.config;
    return {
      id: master.id,
      host: master.host,
      port: master.port ?? 0,
      pid: process.pid,
      state: this.state,
      role: leading ? 'leading' : 'standby',
      epoch: leading ? (snapshot.context.epoch ?? null) : null,
      ha: this.ha,
      startedAt: this.startedAt,
    };
  }

  /** The leader's run file, which the CLI finds the cluster by. Written when it starts to lead. */
  private writeRunFile(): void {
    const { master } = this.config;
    if (!this.nats) return;
    writeRunFile(this.config.dir, {
      masterId: master.id,
      masterPid: process.pid,
      env: this.config.env,
      nats: this.nats.servers,
      adminToken: this.adminToken,
      controlKey: this.controlKey,
      prefix: master.prefix,
      cluster: master.cluster,
      startedAt: this.startedAt,
      ...(this.embedded ? { embeddedNatsPid: this.embedded.pid } : {}),
      ...(this.globalChannels?.embedded ? { embeddedRedis: this.globalChannels.embedded.url, embeddedRedisPid: this.globalChannels.embedded.pid } : {}),
      ...(this.webConsole.url ? { console: this.webConsole.url } : {}),
    });
  }

  /**
   * Takes charge of the cluster as it is: every configured server already running (left by a
   * master that died, or led by the one before) is adopted from its heartbeats and told the new
   * epoch (`adopt`); the others are started.
   */
  private async adoptServers(): Promise<void> {
    this.writeRunFile();
    this.admin?.start();
    // The run file names the console once it listens (its port may be any free one).
    void this.webConsole.lead(this.adminToken).then((url) => url && this.actor.getSnapshot().matches('leading') && this.writeRunFile());
    await this.discoverRunning();
    for (const entry of this.config.servers) {
      if (this.servers.has(entry.id)) continue;
      const running = this.directory?.get(entry.id);
      const adopted = running?.state === 'running' ? running : undefined;
      const last = adopted ? undefined : this.heard.get(entry.id);
      // One this master heard from that is gone now went down while no master led; one that said it
      // was stopping was stopped on purpose, and stays so.
      this.addServer(entry, adopted, last && !last.stopped ? last.pid : undefined, last?.stopped === true);
      if (adopted) this.sendAdopt(entry.id, adopted.pid);
    }
    // Only now is "all servers" the whole list: an adopted server is connected at once.
    this.allAdded = true;
    this.checkSettled();
  }

  /**
   * Asks running servers to announce themselves (the directory published `discover` when it
   * started) and gives them a moment to answer: a round trip on the same NATS, well under 200 ms.
   */
  private discoverRunning(): Promise<void> {
    const wait = Math.min(200, this.config.master.heartbeatInterval);
    return new Promise((resolve) => this.clock.setTimeout(resolve, wait));
  }

  /** Creates the machines of one server and starts its process, or adopts the one already running. */
  private addServer(entry: ServerEntry, running?: ServerInfo, gone?: number, stopped = false): void {
    const server = new SupervisedServer(
      entry,
      childSpecOf(entry, this.config.master),
      {
        spawn: (server) => this.spares.spawn(server.entry, this.spawnOptions(server.restarts)),
        requestStop: (server) => this.requestStop(server),
        logger: this.host.logger,
        changed: () => {
          this.checkSettled();
          this.keepSpare(entry.id);
        },
        busHealthy: () => this.bus?.healthy() ?? true,
      },
      this.clock,
      running?.restarts ?? (gone !== undefined ? this.heard.get(entry.id)?.restarts : undefined),
    );
    this.servers.set(entry.id, server);
    this.webConsole.track(server);
    if (stopped) server.startStopped();
    else server.start(running, gone);
  }

  /** How a server process (or its warm spare) is spawned now: this term's epoch, the NATS the master uses. */
  private spawnOptions(restarts: number): SpawnServerOptions {
    return {
      entry: this.options.entry,
      dir: this.config.dir,
      env: this.config.env,
      config: { ...this.config, master: { ...this.config.master, ...(this.nats ? { nats: this.nats } : {}) } },
      controlKey: this.controlKey,
      epoch: this.epoch,
      restarts,
      warn: (message) => this.host.logger.warn(message),
    };
  }

  /**
   * A `warm-spare` server has one spare ready while it is connected (spawned only then, so that
   * it never competes with the server's own start), and none once it will not be restarted.
   */
  private keepSpare(id: string): void {
    const server = this.servers.get(id);
    if (!server?.entry.warmSpare) return;
    if (!server.restartable || !this.actor.getSnapshot().matches('leading')) this.spares.drop(id);
    else if (server.state === 'connected') this.spares.keep(server.entry, this.spawnOptions(server.restarts));
  }

  /**
   * This master no longer leads (suspended, or leadership lost): it stops supervising at once,
   * without touching a process, and stops answering the CLI. The next leader (maybe this one
   * again) adopts the servers as they are.
   */
  private release(): void {
    this.admin?.stop();
    void this.webConsole.release();
    this.spares.dropAll();
    for (const server of this.servers.values()) server.release();
    const released = [...this.servers.keys()];
    this.servers.clear();
    this.allAdded = false;
    this.allStartedSent = false;
    if (released.length > 0) this.host.logger.warn({ servers: released }, 'no longer leading: supervision released, every server keeps running');
  }

  /**
   * Sends `command` to the process `pid` on `sys.<id>` (a server's, or a standby master's), signed
   * with the cluster's control key and this term's epoch; resolves when it is taken, rejects with
   * the reason when it is refused, unanswered or NATS is away.
   */
  private async command(id: string, pid: number, command: 'stop' | 'adopt', timeout: number): Promise<void> {
    const nc = this.nc;
    if (!nc || nc.isClosed()) throw new Error('no NATS');
    const signed: SysCommand = { command, ...signControl(this.controlKey, id, pid, command, this.clock.wall(), this.epoch) };
    const reply = decode<SysReply>((await nc.request(this.subjects.sys(id), encode(signed), { timeout })).data);
    if (!reply || reply.ok !== true) throw new Error(`${command} refused: ${(reply as { error?: string } | null)?.error ?? 'no reason'}`);
  }

  /** Tells a running server that this master leads now: from then on it obeys no older master. */
  private sendAdopt(id: string, pid: number): void {
    this.command(id, pid, 'adopt', 1_000).catch((error: unknown) => this.host.logger.warn({ server: id, err: error }, `server ${id} did not take adoption: ${(error as Error).message}`));
  }

  /**
   * The whole cluster stops (`shaddock stop` or `kill`): every standby master is told to stop
   * first, on its `sys.<masterId>`, signed like any command, so that none leads once this one is
   * gone and starts the cluster again.
   */
  private async stopStandbys(): Promise<void> {
    this.clusterStopping = true;
    const standbys = (await this.masters?.others()) ?? [];
    await Promise.all(
      standbys.map(async (standby) => {
        try {
          await this.command(standby.id, standby.pid, 'stop', 2_000);
          this.host.logger.info({ master: standby.id, masterPid: standby.pid }, `standby master ${standby.id} stopping`);
        } catch (error) {
          this.host.logger.warn({ master: standby.id, err: error }, `standby master ${standby.id} did not take the stop: ${(error as Error).message}`);
        }
      }),
    );
  }

  /**
   * A master's own `sys.<masterId>`: `ping`, and `stop` from the leader when the whole cluster stops
   * (signed with the cluster's control key, checked like a server checks its commands).
   */
  private answerSys(nc: NatsConnection): void {
    const verifier = new ControlVerifier(this.controlKey, this.config.master.id, process.pid, () => this.clock.wall());
    subscribeGuarded(nc, this.subjects.sys(this.config.master.id), {
      kind: 'sys',
      check: checkSysCommand,
      authorize: (request) => (request.command === 'ping' ? undefined : request.command === 'stop' ? verifier.refuse('stop', request) : 'a master takes no adopt'),
      handle: (request, msg) => {
        msg.respond(encode({ ok: true, state: this.state, pid: process.pid, epoch: verifier.epoch } satisfies SysReply));
        if (request.command === 'stop') {
          this.clusterStopping = true;
          this.actor.send({ type: 'STOP' });
        }
      },
      malformed: (problem): SysReply => ({ ok: false, error: problem }),
    });
  }

  /** NATS is back: servers given up during the outage start again. */
  private retryAfterOutage(): void {
    const retried = [...this.servers.values()].filter((server) => server.retryAfterOutage()).map((server) => server.id);
    if (retried.length > 0) this.host.logger.info({ servers: retried }, 'NATS is back: starting again the servers that failed during the outage');
  }

  private requestStop(server: SupervisedServer): void {
    const pid = server.pid;
    // A server this master did not start (adopted, with another master's key) refuses: signal it.
    const ask = pid === undefined ? Promise.reject(new Error('no pid')) : this.command(server.id, pid, 'stop', 1_000);
    // A server that does not answer on NATS still gets a graceful stop through its signal handler;
    // but not one that refused because a newer master leads it (fencing): that one is not ours.
    ask.catch((error: unknown) => {
      if (/deposed master/.test((error as Error)?.message ?? '')) {
        this.host.logger.error({ server: server.id, err: error }, `server ${server.id} follows a newer master: this one is deposed and does not stop it`);
        return;
      }
      const pid = server.pid;
      try {
        if (pid !== undefined) process.kill(pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
    });
  }

  private announceAllStarted(): void {
    this.host.logger.info({ servers: this.servers.size }, 'all servers started');
    try {
      this.nc?.publish(this.subjects.events, encode({ type: 'allStarted' } satisfies ClusterEvent));
    } catch {
      // Closed in the meantime: nobody left to tell.
    }
  }

  /** The whole cluster is stopping (`shaddock stop`/`kill`, or a standby told so by the leader). */
  private clusterStopping = false;
  private allAdded = false;
  private allStartedSent = false;
  private settledSent = false;

  private checkSettled(): void {
    if (!this.allAdded) return;
    const servers = [...this.servers.values()];
    if (!this.allStartedSent && servers.every((server) => server.state === 'connected')) {
      this.allStartedSent = true;
      this.actor.send({ type: 'ALL_STARTED' });
    }
    if (!this.settledSent && this.actor.getSnapshot().matches('leading') && servers.every((server) => server.settled)) {
      this.settledSent = true;
      notify({ type: 'shaddock:settled', servers: servers.map((server) => ({ id: server.id, state: server.state })) });
    }
  }

  /**
   * Stops servers on purpose (never restarted), group by group in the child specs' stop order
   * (frontends, then backends), and waits until each process has exited.
   */
  async stopServers(ids?: readonly string[]): Promise<void> {
    const chosen = [...this.servers.values()].filter((server) => !ids || ids.includes(server.id));
    for (const group of inStopOrder(chosen)) await Promise.all(group.map((server) => server.stop()));
  }

  /** The master's own stop: servers first, then its connections, the embedded broker and the run file. */
  private shutdown(): Promise<void> {
    this.stopping ??= (async () => {
      try {
        await this.connecting?.catch(() => undefined);
        // With master HA, a master stopped on its own (a signal) leaves its servers running: the
        // standby that leads next adopts them. The whole cluster stops through `shaddock stop`.
        if (this.ha && !this.clusterStopping) this.release();
        else {
          this.spares.dropAll();
          await this.stopServers();
        }
        // Only once its servers are down, so that no new leader starts them while this one stops them.
        await this.leadership.resign().catch((error: unknown) => this.host.logger.warn({ err: error }, 'resigning leadership failed'));
        this.admin?.stop();
        await this.webConsole.release();
        this.masters?.stop();
        this.micro?.stop();
        this.probe?.stop();
        this.directory?.stop();
        this.host.attach(undefined);
        // Each step runs even if one before it failed (NATS may be gone already).
        if (this.nc && !this.nc.isClosed()) await this.nc.drain().catch((error: unknown) => this.host.logger.warn({ err: error }, 'closing NATS failed'));
        this.calls?.stop();
        await this.globalChannels?.stop();
        await this.embedded?.stop();
      } finally {
        removeRunFile(this.config.dir, this.config.env, process.pid);
      }
    })();
    return this.stopping;
  }

  /** What the admin commands do, on this master's servers. */
  private control(): ClusterControl {
    return {
      rows: () => this.rows(),
      serverIds: () => [...this.servers.keys()],
      stopServers: (ids) => this.stopServers(ids),
      killServers: async () => {
        const servers = [...this.servers.values()];
        const killed = servers.flatMap((server) => (server.pid === undefined ? [] : [server.pid]));
        await Promise.all(servers.map((server) => server.kill()));
        return killed;
      },
      restartServers: async (ids) => {
        await Promise.all(ids.map((id) => this.servers.get(id)!.restart()));
      },
      addServer: (raw) => {
        const entry = parseServerEntry(raw, this.config);
        if (this.servers.has(entry.id)) throw new Error(`server "${entry.id}" already exists`);
        this.config.servers.push(entry);
        this.addServer(entry);
        return entry.id;
      },
      stopMaster: () => this.actor.send({ type: 'STOP' }),
      stopStandbys: () => this.stopStandbys(),
    };
  }

  private async rows(): Promise<ServerRow[]> {
    const now = this.clock.wall();
    const self = this.info();
    const standbys = (await this.masters?.others()) ?? [];
    const masterRow = (info: MasterInfo): ServerRow => ({
      id: info.id,
      serverType: 'master',
      pid: info.pid,
      state: info.state,
      host: info.host,
      clientPort: null,
      frontend: false,
      maxConnections: null,
      restarts: 0,
      uptime: now - info.startedAt,
      rss: null,
      lastExit: null,
      cpu: null,
      autoRestart: false,
      restart: null,
      reason: null,
      dropped: {},
      role: info.role,
      epoch: info.epoch,
    });
    const master: ServerRow = {
      id: self.id,
      serverType: 'master',
      pid: process.pid,
      state: this.state,
      host: self.host,
      clientPort: null,
      frontend: false,
      maxConnections: null,
      restarts: 0,
      uptime: now - this.startedAt,
      rss: process.memoryUsage.rss(),
      lastExit: null,
      cpu: null,
      autoRestart: false,
      restart: null,
      reason: null,
      dropped: this.nc ? guardOf(this.nc).dropped() : {},
      role: self.role,
      epoch: self.epoch,
    };
    const servers = [...this.servers.values()].map((server) => server.row(now, this.directory?.get(server.id)));
    return [master, ...standbys.map(masterRow), ...servers];
  }
}
