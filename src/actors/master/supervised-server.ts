import type { ChildProcess } from 'node:child_process';
import { createActor } from 'xstate';
import { maxConnectionsOf } from '../../config/defaults.ts';
import type { ServerEntry } from '../../config/types.ts';
import type { ChildSpec } from '../../config/child-spec.ts';
import { serverMachine, type ExitInfo } from '../../machines/server.ts';
import { stateName } from '../../machines/state-name.ts';
import { supervisorMachine } from '../../machines/supervisor.ts';
import type { Logger } from '../../logger.ts';
import type { ServerInfo } from '../../types.ts';
import type { ServerRow } from '../../transport/wire.ts';
import { formatCpuList } from './spawn.ts';
import { systemClock, type Clock } from '../../clock.ts';
import { isAlive, watchState } from '../runtime/watch.ts';
import { inspectorOfProcess } from '../inspect/inspector.ts';

/** What a supervised server needs from the master: its effects on the outside world. */
export interface ServerEffects {
  /**
   * Starts the server's process; the caller reports its pid and exit through `spawned`/`exited`.
   * A process that is running already (a warm spare that becomes the server, master/spares.ts) is
   * given as `{ running }`, and counts as spawned at once.
   */
  spawn(server: SupervisedServer): ChildProcess | { running: ChildProcess };
  /** Asks the process to stop gracefully (over NATS, falling back to SIGTERM). */
  requestStop(server: SupervisedServer): void;
  logger: Logger;
  /** Called on every state change of either machine (the master re-checks "all started"). */
  changed(): void;
  /**
   * Whether silence now means this server and not the bus (the master reaches NATS, and not every
   * server fell silent at once). While it does not, a silent server is not killed. Default: always.
   */
  busHealthy?(): boolean;
  /** Whether a pid runs on this host (default: a signal 0 check, zombies counting as ended). */
  processAlive?(pid: number): boolean;
}

/** ms between SIGTERM and SIGKILL when a server is killed. */
const killGrace = 500;

/** Server states in which the process is down and stays down until someone acts. */
const restingStates = new Set(['pending', 'stopped', 'exited', 'crashed']);

/**
 * One configured server under the master: its `server` machine (is the process up, connected,
 * heartbeating?) and its `supervisor` machine (should it be restarted, when, or given up?),
 * wired to each other and to the process. The master holds one per server.
 */
export class SupervisedServer {
  readonly server;
  readonly supervisor;
  private child: ChildProcess | undefined;
  /** Exit watch of an adopted process, which is not our child and so sends no 'exit' event. */
  private watch: unknown;
  /** Monotonic time this process last proved it works (adopted, or answered a ping). */
  private lastAnswer = Number.NEGATIVE_INFINITY;
  /** Restarts counted as of the latest restart, read while that restart spawns. */
  private counted = 0;
  /** Re-check of a kill held back while the bus was down; cleared when the server is heard from. */
  private heldKill: unknown;
  /** It reached `failed` while the bus was unhealthy: {@link retryAfterOutage} gives it another go. */
  private failedInOutage = false;
  /** No longer supervised by this master ({@link release}). */
  private released = false;

  constructor(
    readonly entry: ServerEntry,
    /** How it is restarted, stopped and timed (config/child-spec.ts). */
    readonly spec: ChildSpec,
    private readonly effects: ServerEffects,
    /** Times the machines' timeouts and backoff, and stamps their events. */
    private readonly clock: Clock = systemClock,
    /** Automatic restarts done under earlier masters, as an adopted server announced them. */
    restartsBefore = 0,
  ) {
    this.server = createActor(
      serverMachine.provide({
        actions: {
          spawn: () => this.spawn(),
          requestStop: () => effects.requestStop(this),
          kill: () => this.signal('SIGTERM', killGrace),
        },
      }),
      {
        clock,
        input: {
          id: entry.id,
          serverType: entry.serverType,
          timing: { startTimeout: spec.startTimeout, heartbeatTimeout: spec.heartbeatTimeout, stopTimeout: spec.shutdownTimeout },
        },
      },
    );
    this.supervisor = createActor(
      supervisorMachine.provide({
        actions: {
          restart: ({ context }) => {
            // The count including this restart (the snapshot is updated only after this transition).
            this.counted = context.restarts;
            this.server.send({ type: 'START', at: this.clock.wall() });
          },
          kill: () => this.killHung(),
        },
      }),
      { clock, input: { serverId: entry.id, policy: spec.policy, restartsBefore } },
    );
    inspectorOfProcess().register(this.server, entry.id);
    inspectorOfProcess().register(this.supervisor, entry.id);
    watchState(this.server, (state, snapshot) => {
      const { pid, lastExit } = snapshot.context;
      if (pid !== undefined && this.child?.pid !== pid) this.watchAdopted(pid);
      effects.logger.info({ server: entry.id, state, serverPid: pid, ...(lastExit && restingStates.has(state) ? { lastExit } : {}) }, `server ${entry.id} ${state}`);
      this.report(state, lastExit);
      effects.changed();
    });
    watchState(this.supervisor, (state, snapshot) => {
      const { delay, attempt, reason } = snapshot.context;
      if (state === 'backingOff') effects.logger.warn({ server: entry.id, delay, attempt }, `server ${entry.id} restarting in ${delay} ms (restart #${snapshot.context.restarts + 1})`);
      if (state === 'failed') {
        // Given up while NATS was unreachable: the outage may be all that failed it.
        this.failedInOutage = !(effects.busHealthy?.() ?? true);
        const retry = this.failedInOutage ? '; NATS is unreachable, so it is tried again once NATS is back' : '';
        effects.logger.error({ server: entry.id, reason }, `server ${entry.id} failed: ${reason}${retry}`);
      }
      if (state === 'left') effects.logger.warn({ server: entry.id, reason }, `server ${entry.id} is down: ${reason}`);
      effects.changed();
    });
  }

  get id(): string {
    return this.entry.id;
  }

  get pid(): number | undefined {
    return this.server.getSnapshot().context.pid;
  }

  /** Automatic restarts so far (under this master and, for an adopted server, before it). */
  get restarts(): number {
    return Math.max(this.counted, this.supervisor.getSnapshot().context.restarts);
  }

  /** Its process may be running (spawned, connected or silent): the master probes it. */
  get live(): boolean {
    return this.server.getSnapshot().matches('live');
  }

  /** The state an operator sees: the supervisor's when it has the last word, else the server's. */
  get state(): string {
    const supervisor = stateName(this.supervisor.getSnapshot().value);
    if (supervisor === 'backingOff') return 'restarting';
    if (supervisor === 'failed') return 'failed';
    return stateName(this.server.getSnapshot().value);
  }

  /** Whether its supervisor may still start it again: not stopped on purpose, left down or given up. */
  get restartable(): boolean {
    return !['stopped', 'left', 'failed'].includes(stateName(this.supervisor.getSnapshot().value));
  }

  /** Up, or down for good until someone acts: what "the cluster has started" waits for. */
  get settled(): boolean {
    const state = this.state;
    if (state === 'connected' || state === 'failed' || state === 'stopped') return true;
    return restingStates.has(state) && stateName(this.supervisor.getSnapshot().value) === 'left';
  }

  /**
   * Starts supervising: spawns the process, adopts one that is already running, or (`gone`: the
   * pid of a process this master heard from that ended while no master led) takes it as crashed,
   * for its restart policy to decide.
   */
  start(running?: ServerInfo, gone?: number): void {
    this.server.start();
    this.supervisor.start();
    if (gone !== undefined && !running) {
      this.effects.logger.warn({ server: this.id, serverPid: gone }, `server ${this.id} (pid ${gone}) went down while no master led`);
      this.server.send({ type: 'GONE', pid: gone, at: this.clock.wall() });
    } else if (running) {
      this.effects.logger.info({ server: this.id, serverPid: running.pid }, `adopting running server ${this.id}`);
      this.server.send({ type: 'HEARTBEAT', pid: running.pid, at: this.clock.wall() });
    } else {
      this.server.send({ type: 'START', at: this.clock.wall() });
    }
  }

  /** Starts supervising a server that was stopped on purpose (under an earlier leader): it stays stopped. */
  startStopped(): void {
    this.server.start();
    this.supervisor.start();
    this.supervisor.send({ type: 'STOP' });
    this.server.send({ type: 'STOP' });
  }

  heartbeat(pid: number): void {
    if (this.released) return;
    if (pid === this.pid || this.pid === undefined) this.lastAnswer = this.clock.now();
    this.server.send({ type: 'HEARTBEAT', pid, at: this.clock.wall() });
  }

  /** Stops it on purpose (never restarted); resolves once its process is down. */
  stop(): Promise<void> {
    this.supervisor.send({ type: 'STOP' });
    return this.untilDown(() => this.server.send({ type: 'STOP' }));
  }

  /** Kills it on purpose: SIGTERM, SIGKILL after a short grace; resolves once it is down. */
  kill(): Promise<void> {
    this.supervisor.send({ type: 'STOP' });
    return this.untilDown(() => this.server.send({ type: 'KILL' }));
  }

  /** A restart by hand: graceful stop, then a fresh start, with the restart limits reset. */
  async restart(): Promise<void> {
    await this.stop();
    this.supervisor.send({ type: 'START' });
    this.server.send({ type: 'START', at: this.clock.wall() });
  }

  /**
   * NATS is back: a server that was given up while it was away (its starts could not reach NATS)
   * starts again, with its restart limits reset. Returns whether it did; any other server is left
   * as it is.
   */
  retryAfterOutage(): boolean {
    if (!this.failedInOutage || this.state !== 'failed') return false;
    this.failedInOutage = false;
    this.effects.logger.info({ server: this.id }, `server ${this.id} failed during the NATS outage: starting it again`);
    this.supervisor.send({ type: 'START' });
    this.server.send({ type: 'START', at: this.clock.wall() });
    return true;
  }

  /**
   * Stops supervising without touching the process (this master no longer leads): its machines
   * stop, its timers are cleared, and nothing it hears of the process is acted on any more. The
   * process keeps serving; the next leader adopts it.
   */
  release(): void {
    this.released = true;
    this.releaseKill();
    if (this.watch !== undefined) this.clock.clearInterval(this.watch);
    this.watch = undefined;
    this.supervisor.stop();
    this.server.stop();
  }

  row(now: number, info: ServerInfo | undefined): ServerRow {
    const { context } = this.server.getSnapshot();
    const supervisor = this.supervisor.getSnapshot().context;
    const current = info && info.pid === context.pid ? info : undefined;
    return {
      id: this.id,
      serverType: this.entry.serverType,
      pid: context.pid ?? null,
      state: this.state,
      host: this.entry.host,
      // The bound port from the heartbeat: differs from the configured one when that is 0.
      clientPort: current?.clientPort ?? this.entry.clientPort ?? null,
      frontend: this.entry.frontend,
      maxConnections: this.entry.frontend ? maxConnectionsOf(this.entry) : null,
      restarts: supervisor.restarts,
      uptime: context.connectedAt !== undefined ? now - context.connectedAt : null,
      rss: current?.rss ?? null,
      lastExit: context.lastExit ?? null,
      // What the process says it is bound to (an adopted one too), else what its entry asks.
      cpu: current?.cpu ?? (this.entry.cpu ? formatCpuList(this.entry.cpu) : null),
      autoRestart: this.spec.restart !== 'temporary',
      restart: this.spec.restart,
      reason: supervisor.reason ?? null,
      dropped: current?.dropped ?? {},
      role: null,
      epoch: null,
    };
  }

  /** Tells the supervisor what happened to the process. */
  /**
   * The supervisor wants a silent server killed. Unless the silence is the bus's (the master cannot
   * reach NATS, or every server fell silent at once): then the kill is held, and re-checked every
   * heartbeat timeout until the server is heard from again (no kill) or the bus is well and the
   * server still silent (kill).
   */
  private killHung(): void {
    if (this.effects.busHealthy?.() ?? true) {
      this.server.send({ type: 'KILL' });
      return;
    }
    if (this.heldKill !== undefined) return;
    this.effects.logger.warn({ server: this.id }, `server ${this.id} is silent, but so is the bus: not killing it while NATS is unreachable`);
    this.heldKill = this.clock.setInterval(
      () => {
        if (stateName(this.supervisor.getSnapshot().value) !== 'killingHung') return this.releaseKill();
        if (this.effects.busHealthy?.() ?? true) {
          this.releaseKill();
          this.server.send({ type: 'KILL' });
        }
      },
      this.spec.heartbeatTimeout,
      { unref: true },
    );
  }

  private releaseKill(): void {
    if (this.heldKill !== undefined) this.clock.clearInterval(this.heldKill);
    this.heldKill = undefined;
  }

  private report(state: string, lastExit: ExitInfo | undefined): void {
    const at = this.clock.wall();
    if (state !== 'unreachable') this.releaseKill();
    if (state === 'connected') this.supervisor.send({ type: 'UP', at });
    else if (state === 'unreachable') this.supervisor.send({ type: 'UNREACHABLE', at });
    else if (state === 'exited' || state === 'crashed') this.supervisor.send({ type: 'DOWN', at, why: describeExit(lastExit), clean: state === 'exited' });
    else if (state === 'stopped' && stateName(this.supervisor.getSnapshot().value) === 'killingHung') {
      this.supervisor.send({ type: 'DOWN', at, why: 'killed after it stopped heartbeating' });
    }
  }

  private spawn(): void {
    const spawned = this.effects.spawn(this);
    const child = 'running' in spawned ? spawned.running : spawned;
    this.child = child;
    const report = (): unknown => this.released || this.server.send({ type: 'SPAWNED', pid: child.pid ?? -1 });
    // Its 'spawn' event has come and gone; reported after this action, as the event would be.
    if ('running' in spawned) queueMicrotask(report);
    else child.once('spawn', report);
    child.once('error', (error) => {
      if (child.pid === undefined && !this.released) this.server.send({ type: 'SPAWN_FAILED', error: error.message });
    });
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (!this.released) this.server.send({ type: 'EXITED', code, signal, at: this.clock.wall() });
    });
  }

  /** Sends a signal to its current process, if it has one (SIGHUP: reopen the log file). */
  sendSignal(signal: NodeJS.Signals): void {
    this.signal(signal);
  }

  /** Signals the process: through its handle when we spawned it, by pid when we adopted it. */
  private signal(signal: NodeJS.Signals, thenKillAfter?: number): void {
    const pid = this.pid;
    if (pid === undefined) return;
    try {
      if (this.child && this.child.pid === pid) this.child.kill(signal);
      else process.kill(pid, signal);
    } catch {
      return; // Already gone: its exit is (or will be) reported by the exit event or the watch.
    }
    if (thenKillAfter !== undefined) {
      this.clock.setTimeout(
        () => {
          if (this.pid === pid && isAlive(pid)) this.signal('SIGKILL');
        },
        thenKillAfter,
        { unref: true },
      );
    }
  }

  /**
   * An adopted process is not our child, so no 'exit' event will come: poll for its pid instead,
   * and report it as exited with unknown code and signal. The pid may mean nothing here (the
   * server runs on another host, or this master's pid check cannot see it end): so a process that
   * was killed for its silence and has not answered for twice the heartbeat timeout is taken as
   * gone too, by its heartbeats, whatever the pid check says.
   */
  private watchAdopted(pid: number): void {
    if (this.watch !== undefined) this.clock.clearInterval(this.watch);
    if (this.lastAnswer === Number.NEGATIVE_INFINITY) this.lastAnswer = this.clock.now();
    const alive = this.effects.processAlive ?? isAlive;
    this.watch = this.clock.setInterval(
      () => {
        const silentFor = this.clock.now() - this.lastAnswer;
        const silentlyGone = stateName(this.server.getSnapshot().value) === 'killing' && silentFor >= 2 * this.spec.heartbeatTimeout;
        if (alive(pid) && !silentlyGone) return;
        this.clock.clearInterval(this.watch);
        this.watch = undefined;
        if (this.pid !== pid) return;
        if (silentlyGone) this.effects.logger.warn({ server: this.id, serverPid: pid, silentFor }, `server ${this.id} (pid ${pid}, adopted) has not answered for ${Math.round(silentFor)} ms since it went silent: taken as gone`);
        this.server.send({ type: 'EXITED', code: null, signal: null, at: this.clock.wall() });
      },
      250,
      { unref: true },
    );
  }

  private untilDown(act: () => void): Promise<void> {
    return new Promise((resolve) => {
      const watching = watchState(this.server, (state) => {
        if (!restingStates.has(state)) return;
        watching.unsubscribe();
        resolve();
      });
      act();
      if (restingStates.has(stateName(this.server.getSnapshot().value))) {
        watching.unsubscribe();
        resolve();
      }
    });
  }
}

/** `exit code 1`, `signal SIGKILL`, or what is known of an adopted process's end. */
export function describeExit(exit: ExitInfo | undefined): string {
  if (!exit) return 'unknown';
  if (exit.signal) return `signal ${exit.signal}`;
  if (exit.code !== null) return `exit code ${exit.code}`;
  return 'exited (not a child of this master: code unknown)';
}
