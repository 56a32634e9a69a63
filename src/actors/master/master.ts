import { randomBytes } from 'node:crypto';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { createActor, fromPromise } from 'xstate';
import { parseServerEntry } from '../../config/index.ts';
import type { ClusterConfig, NatsSettings, ServerEntry } from '../../config/types.ts';
import { masterMachine, type MasterContext, type MasterEvent } from '../../machines/master.ts';
import { stateName } from '../../machines/state-name.ts';
import { decode, encode } from '../../transport/codec.ts';
import { startEmbeddedNats, type EmbeddedNats } from './embedded-broker.ts';
import { connectNats } from '../../transport/nats.ts';
import type { PendingCalls } from '../../transport/pending-calls.ts';
import { subjects as buildSubjects, type Subjects } from '../../transport/subjects.ts';
import type { ServerInfo } from '../../types.ts';
import type { AdminCommand, AdminReply, AdminRequest, ServerRow } from './admin.ts';
import { unsupportedFeature } from '../app/features.ts';
import type { AppHost } from '../app/host.ts';
import { Router } from '../rpc/router.ts';
import { openCallLayer } from '../server/call-layer.ts';
import { ServerDirectory } from '../server/directory.ts';
import { LeadImmediately, leadershipEvents, type Leadership } from './leadership.ts';
import { SupervisedServer } from './supervised-server.ts';
import { systemClock, type Clock } from '../../clock.ts';
import { stopOnSignals, watchState, whenDone } from '../runtime/watch.ts';
import { removeRunFile, writeRunFile } from './run-file.ts';
import { spawnServer } from './spawn.ts';

export interface MasterOptions {
  /** The app entry each server process runs. */
  entry: string;
  /** What the master and its supervised servers time and stamp with (default: Node's clocks). */
  clock?: Clock;
  /** Who decides that this master leads (default: it does, at once). */
  leadership?: Leadership;
}

/** What a daemonised master tells the CLI that started it, over the IPC channel. */
export type MasterNotice =
  | { type: 'shaddock:settled'; servers: { id: string; state: string }[] }
  | { type: 'shaddock:failed'; error: string };

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
  private nats: NatsSettings | undefined;
  private directory: ServerDirectory | undefined;
  private calls: PendingCalls | undefined;
  private adminSubscription: Subscription | undefined;
  private readonly subjects: Subjects;
  private readonly adminToken: string;
  private readonly servers = new Map<string, SupervisedServer>();
  private readonly actor;
  private readonly leadership: Leadership;
  private stopping: Promise<void> | undefined;
  /** A stop may come while connecting; it must wait, or an embedded broker started late is orphaned. */
  private connecting: Promise<void> | undefined;
  private readonly clock: Clock;
  private readonly startedAt: number;

  constructor(
    private readonly host: AppHost<App>,
    private readonly config: ClusterConfig,
    private readonly options: MasterOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.startedAt = this.clock.wall();
    this.subjects = buildSubjects(config.master.prefix, config.master.cluster);
    this.adminToken = config.master.adminToken ?? randomBytes(16).toString('hex');
    this.leadership = options.leadership ?? new LeadImmediately();
    const machine = masterMachine.provide({
      actors: {
        connect: fromPromise<void, MasterContext>(() => (this.connecting = this.connect())),
        startServers: fromPromise<void, MasterContext>(async () => this.startServers()),
        stopServers: fromPromise<void, MasterContext>(() => this.shutdown()),
      },
      actions: {
        // The time of an election is read here, not in the machine.
        campaign: () => this.leadership.campaign(leadershipEvents((event) => this.onLeadership(event), () => this.clock.wall())),
        announceAllStarted: () => this.announceAllStarted(),
      },
    });
    this.actor = createActor(machine, { input: { masterId: config.master.id } });
  }

  get state(): string {
    return stateName(this.actor.getSnapshot().value);
  }

  /** Stops every server, then the master; resolves when the master machine has stopped. */
  stop(): Promise<void> {
    this.actor.send({ type: 'STOP' });
    return whenDone(this.actor);
  }

  start(): Promise<void> {
    const unsupported = unsupportedFeature(this.host, 'masterHA');
    if (unsupported) {
      notify({ type: 'shaddock:failed', error: unsupported.message });
      return Promise.reject(unsupported);
    }
    const log = this.host.logger;
    const removeSignals = stopOnSignals(() => this.actor.send({ type: 'STOP' }));
    return new Promise((resolve, reject) => {
      watchState(this.actor, (state, snapshot) => {
        log.info({ state }, `master ${state}`);
        if (snapshot.matches('leading')) resolve();
        if (snapshot.status !== 'done') return;
        removeSignals();
        const failed = snapshot.matches('failed');
        if (failed) {
          const error = snapshot.context.error ?? 'unknown error';
          log.error({ error }, 'master failed');
          notify({ type: 'shaddock:failed', error });
          reject(new Error(error));
        }
        setImmediate(() => process.exit(failed ? 1 : 0));
      });
      this.actor.start();
    });
  }

  private onLeadership(event: MasterEvent): void {
    if (event.type === 'LEADERSHIP_LOST') this.host.logger.warn({ reason: event.reason }, 'leadership lost');
    this.actor.send(event);
  }

  private async connect(): Promise<void> {
    const { master } = this.config;
    if (master.nats) {
      this.nats = master.nats;
    } else {
      const embedded = (this.embedded = await startEmbeddedNats({ ownProcessGroup: true }));
      // In its own process group it survives a Ctrl-C; it must not survive a master that dies.
      process.once('exit', () => {
        try {
          process.kill(embedded.pid, 'SIGKILL');
        } catch {
          // Already stopped.
        }
      });
      this.nats = { servers: [this.embedded.url] };
      this.host.logger.info({ url: this.embedded.url, natsPid: this.embedded.pid }, 'started embedded nats-server');
    }
    const nc = (this.nc = await connectNats(this.nats, master.id));
    this.directory = new ServerDirectory(nc, this.subjects, master.heartbeatTimeout, undefined, this.clock);
    this.directory.on('heartbeat', (info) => {
      // Only a server that is serving counts as connected; `starting` is still on its way.
      if (info.state !== 'running') return;
      this.servers.get(info.id)?.heartbeat(info.pid);
    });
    this.directory.start();
    const router = new Router(this.directory, this.host.routes, () => this.config.servers.map((server) => server.serverType));
    const callLayer = openCallLayer(nc, this.directory, this.clock);
    this.calls = callLayer.calls;
    this.host.attach({ nc, subjects: this.subjects, directory: this.directory, router, ...callLayer });
    this.adminSubscription = nc.subscribe(this.subjects.admin, {
      callback: (error, msg) => {
        if (error) return;
        void this.handleAdmin(msg.data).then((reply) => {
          try {
            msg.respond(encode(reply));
          } catch {
            // Connection closing after a stop: the CLI watches the master's pid instead.
          }
        });
      },
    });
    await nc.flush();
    writeRunFile(this.config.dir, {
      masterId: master.id,
      masterPid: process.pid,
      env: this.config.env,
      nats: this.nats.servers,
      adminToken: this.adminToken,
      prefix: master.prefix,
      cluster: master.cluster,
      startedAt: this.startedAt,
      ...(this.embedded ? { embeddedNatsPid: this.embedded.pid } : {}),
    });
  }

  /**
   * Starts every configured server, except those already running (left by a master that died):
   * those are adopted from their heartbeats, not started twice.
   */
  private async startServers(): Promise<void> {
    await this.discoverRunning();
    // Idempotent: a master that leads again keeps the servers it already knows.
    for (const entry of this.config.servers) {
      if (this.servers.has(entry.id)) continue;
      const running = this.directory?.get(entry.id);
      this.addServer(entry, running?.state === 'running' ? running : undefined);
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
  private addServer(entry: ServerEntry, running?: ServerInfo): void {
    const { master } = this.config;
    const server = new SupervisedServer(
      entry,
      { startTimeout: master.startTimeout, heartbeatTimeout: master.heartbeatTimeout, stopTimeout: master.stopTimeout },
      master.restart,
      {
        spawn: (server) =>
          spawnServer(server.entry, {
            entry: this.options.entry,
            dir: this.config.dir,
            env: this.config.env,
            config: { ...this.config, master: { ...this.config.master, ...(this.nats ? { nats: this.nats } : {}) } },
            warn: (message) => this.host.logger.warn(message),
          }),
        requestStop: (server) => this.requestStop(server),
        logger: this.host.logger,
        changed: () => this.checkSettled(),
      },
      this.clock,
    );
    this.servers.set(entry.id, server);
    server.start(running);
  }

  private requestStop(server: SupervisedServer): void {
    const nc = this.nc;
    const ask = nc && !nc.isClosed()
      ? nc.request(this.subjects.sys(server.id), encode({ command: 'stop' }), { timeout: 1000 })
      : Promise.reject(new Error('no NATS'));
    // A server that does not answer on NATS still gets a graceful stop through its signal handler.
    ask.catch(() => {
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
      this.nc?.publish(this.subjects.events, encode({ type: 'allStarted' }));
    } catch {
      // Closed in the meantime: nobody left to tell.
    }
  }

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

  /** Stops servers on purpose (never restarted), frontends first, and waits until each process has exited. */
  stopServers(ids?: readonly string[]): Promise<void> {
    const chosen = [...this.servers.values()].filter((server) => !ids || ids.includes(server.id));
    const stopAll = async (servers: SupervisedServer[]): Promise<void> => {
      await Promise.all(servers.map((server) => server.stop()));
    };
    return stopAll(chosen.filter((server) => server.entry.frontend)).then(() => stopAll(chosen.filter((server) => !server.entry.frontend)));
  }

  /** The master's own stop: servers first, then its connections, the embedded broker and the run file. */
  private shutdown(): Promise<void> {
    this.stopping ??= (async () => {
      try {
        await this.connecting?.catch(() => undefined);
        await this.stopServers();
        // Only once its servers are down, so that no new leader starts them while this one stops them.
        await this.leadership.resign().catch((error: unknown) => this.host.logger.warn({ err: error }, 'resigning leadership failed'));
        this.adminSubscription?.unsubscribe();
        this.directory?.stop();
        this.host.attach(undefined);
        // Each step runs even if one before it failed (NATS may be gone already).
        if (this.nc && !this.nc.isClosed()) await this.nc.drain().catch((error: unknown) => this.host.logger.warn({ err: error }, 'closing NATS failed'));
        this.calls?.stop();
        await this.embedded?.stop();
      } finally {
        removeRunFile(this.config.dir, this.config.env, process.pid);
      }
    })();
    return this.stopping;
  }

  private rows(): ServerRow[] {
    const now = this.clock.wall();
    const master: ServerRow = {
      id: this.config.master.id,
      serverType: 'master',
      pid: process.pid,
      state: this.state,
      host: this.config.master.host,
      clientPort: null,
      frontend: false,
      restarts: 0,
      uptime: now - this.startedAt,
      rss: process.memoryUsage.rss(),
      lastExit: null,
      cpu: null,
      autoRestart: false,
      reason: null,
    };
    const servers = [...this.servers.values()].map((server) => server.row(now, this.directory?.get(server.id)));
    return [master, ...servers];
  }

  private async handleAdmin(data: Uint8Array): Promise<AdminReply> {
    let request: AdminRequest;
    try {
      request = decode<AdminRequest>(data);
    } catch {
      return { ok: false, error: 'malformed admin request' };
    }
    if (request.token !== this.adminToken) {
      this.host.logger.warn({ command: request.command }, 'admin request refused: wrong token');
      return { ok: false, error: 'admin token refused: the token does not match this master\'s adminToken' };
    }
    try {
      return { ok: true, result: await this.run(request) };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  }

  private async run(command: AdminCommand): Promise<unknown> {
    switch (command.command) {
      case 'list':
        return this.rows();
      case 'stop': {
        const ids = command.ids?.length ? command.ids : undefined;
        if (ids) {
          const unknown = ids.filter((id) => !this.servers.has(id));
          if (unknown.length) throw new Error(`no such server: ${unknown.join(', ')}`);
          await this.stopServers(ids);
          return { stopped: ids };
        }
        await this.stopServers();
        // Reply first, then let the master machine finish its own stop.
        setImmediate(() => this.actor.send({ type: 'STOP' }));
        return { stopped: [...this.servers.keys()], masterPid: process.pid };
      }
      case 'kill': {
        const servers = [...this.servers.values()];
        const killed = servers.flatMap((server) => (server.pid === undefined ? [] : [server.pid]));
        await Promise.all(servers.map((server) => server.kill()));
        setImmediate(() => this.actor.send({ type: 'STOP' }));
        return { killed, masterPid: process.pid };
      }
      case 'restart': {
        const unknown = command.ids.filter((id) => !this.servers.has(id));
        if (unknown.length) throw new Error(`no such server: ${unknown.join(', ')}`);
        if (command.ids.length === 0) throw new Error('restart needs at least one server id');
        await Promise.all(command.ids.map((id) => this.servers.get(id)!.restart()));
        return { restarted: command.ids };
      }
      case 'add': {
        const entry = parseServerEntry(command.server, this.config);
        if (this.servers.has(entry.id)) throw new Error(`server "${entry.id}" already exists`);
        this.config.servers.push(entry);
        this.addServer(entry);
        return { added: entry.id };
      }
      default:
        throw new Error(`unknown admin command "${(command as { command: string }).command}"`);
    }
  }
}

function notify(notice: MasterNotice): void {
  if (process.send && process.connected) process.send(notice);
}
