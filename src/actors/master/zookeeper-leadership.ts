import { pino } from 'pino';
import { createActor, type Actor } from 'xstate';
import { systemClock, type Clock } from '../../clock.ts';
import type { Logger } from '../../logger.ts';
import { stateName } from '../../machines/state-name.ts';
import { zkSessionMachine, type ZkSessionPort } from '../../machines/zk-session.ts';
import { inspectorOfProcess } from '../inspect/inspector.ts';
import { isZooKeeperError, ZooKeeperConnection, type ZooKeeperState } from '../../transport/zookeeper.ts';
import type { Candidate, Leadership, LeadershipListener, LeaderRecord } from './leadership.ts';

/**
 * Master HA's election, on ZooKeeper (the recipe of Curator's LeaderLatch, without Pomelo's bugs):
 *
 * - Each master holds an EPHEMERAL_SEQUENTIAL node `<path>/lock/n-<session>-<seq>`. The lowest
 *   sequence number (compared as a number, not as text) leads; every other master watches only
 *   the node just before its own, and lists again as soon as that one goes, or at once when it is
 *   already gone by the time the watch is set.
 * - The leader writes `{ id, host, port, pid, epoch }` (JSON) to `<path>`'s data, in a transaction
 *   that checks its lock node still exists; standbys report that record (when it is the current
 *   leader's). The epoch is the lock node's czxid: every later leader's node was created later,
 *   so the epoch only grows.
 * - The session is the {@link zkSessionMachine}: DISCONNECTED → `suspended`, back in the same
 *   session → `resumed`, expired or not confirmed within 2/3 of the session timeout → `lost`; a
 *   fresh client then campaigns again.
 */

export interface ZooKeeperLeadershipOptions {
  /** The ensemble: `host:port[,host:port…]`. */
  servers: string;
  /** The election's node, e.g. `/shaddock/chat/master`; created when missing. */
  path: string;
  /** The ZooKeeper session timeout, ms: how long a dead leader holds the lock. */
  sessionTimeout: number;
  /** `user:password` (ZooKeeper `digest` scheme): nodes this master creates are then readable by that user only. */
  auth?: string;
  /** ms a fresh client has to reach the ensemble before it is given up for another (default: a third of `sessionTimeout`). */
  connectTimeout?: number;
  clock?: Clock;
  logger?: Logger;
  /**
   * The actor id the session machine ({@link zkSessionMachine}) is reported as to the process's
   * inspector (docs/inspect.md): the master's id. Not reported without it.
   */
  inspectAs?: string;
  /**
   * Test hook: runs after a standby has listed the lock's children and before it watches its
   * predecessor (full path), e.g. to delete that predecessor in between.
   */
  beforeWatch?: (predecessor: string) => Promise<void> | void;
}

/** A bad election setting; the message names the field. */
export class ZooKeeperLeadershipConfigError extends Error {
  override readonly name = 'ZooKeeperLeadershipConfigError';
  constructor(
    readonly field: keyof ZooKeeperLeadershipOptions,
    message: string,
  ) {
    super(`master HA (ZooKeeper) ${field}: ${message}`);
  }
}

const SERVER = /^[^\s:,/]+:(\d{1,5})$/;
const SEQUENCE = /(\d{10})$/;
/** Ms between retries of an election step that failed while the session looked fine. */
const RETRY_MS = 250;
/** How long `resign()` waits for its lock node to be deleted before closing the session anyway. */
const RESIGN_REMOVE_MS = 1_000;

/**
 * The first-connect timeout when none is set: a third of the session timeout, so that a client
 * stuck on a server that never answers is replaced well before a session could expire.
 */
export function defaultConnectTimeout(sessionTimeout: number): number {
  return Math.max(100, Math.round(sessionTimeout / 3));
}

function validate(options: ZooKeeperLeadershipOptions): void {
  const servers = typeof options.servers === 'string' ? options.servers.split(',') : [];
  if (servers.length === 0 || servers.some((s) => !SERVER.test(s.trim()) || Number(SERVER.exec(s.trim())?.[1]) > 65535 || Number(SERVER.exec(s.trim())?.[1]) < 1)) {
    throw new ZooKeeperLeadershipConfigError('servers', `expected "host:port[,host:port…]", got ${JSON.stringify(options.servers)}`);
  }
  if (typeof options.path !== 'string' || !/^(\/[^/\s]+)+$/.test(options.path)) {
    throw new ZooKeeperLeadershipConfigError('path', `expected an absolute ZooKeeper path such as "/shaddock/chat/master" (no trailing "/"), got ${JSON.stringify(options.path)}`);
  }
  if (!Number.isInteger(options.sessionTimeout) || options.sessionTimeout < 1_000 || options.sessionTimeout > 600_000) {
    throw new ZooKeeperLeadershipConfigError('sessionTimeout', `expected an integer number of ms from 1000 to 600000, got ${JSON.stringify(options.sessionTimeout)}`);
  }
  if (options.auth !== undefined && (typeof options.auth !== 'string' || !/^[^:]+:.+$/.test(options.auth))) {
    throw new ZooKeeperLeadershipConfigError('auth', 'expected "user:password"');
  }
  if (options.connectTimeout !== undefined && (!Number.isInteger(options.connectTimeout) || options.connectTimeout < 100)) {
    throw new ZooKeeperLeadershipConfigError('connectTimeout', `expected an integer number of ms ≥ 100, got ${JSON.stringify(options.connectTimeout)}`);
  }
}

/** The sequence number ZooKeeper appended to a sequential node's name, or undefined for another node. */
export function lockSequence(name: string): number | undefined {
  const match = SEQUENCE.exec(name);
  return match ? Number(match[1]) : undefined;
}

function parseRecord(data: Buffer): LeaderRecord | undefined {
  try {
    const value: unknown = JSON.parse(data.toString('utf8'));
    if (value === null || typeof value !== 'object') return undefined;
    const r = value as Record<string, unknown>;
    if (typeof r.id !== 'string' || typeof r.host !== 'string' || typeof r.port !== 'number' || typeof r.pid !== 'number' || typeof r.epoch !== 'number') {
      return undefined;
    }
    return { id: r.id, host: r.host, port: r.port, pid: r.pid, epoch: r.epoch };
  } catch {
    return undefined;
  }
}

/** What this master has told its listener in the current session. */
type Told = { role: 'none' } | { role: 'elected'; epoch: number } | { role: 'standby'; epoch: number | undefined };

/**
 * {@link Leadership} by a ZooKeeper election.
 *
 * @example
 * const leadership = new ZooKeeperLeadership({ servers: '127.0.0.1:2181', path: '/shaddock/chat/master', sessionTimeout: 4000 });
 * leadership.campaign({ id: 'master', host: '127.0.0.1', port: 3005, pid: process.pid }, listener);
 */
export class ZooKeeperLeadership implements Leadership {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly lockDir: string;
  private session: Actor<typeof zkSessionMachine> | undefined;
  private zk: ZooKeeperConnection | undefined;
  /** Bumped each time a client is opened or closed: work begun for an older client is dropped. */
  private generation = 0;
  private self: Candidate | undefined;
  private listener: LeadershipListener | undefined;
  private told: Told = { role: 'none' };
  /** This session's lock node (full path), once created. */
  private myNode: string | undefined;
  private checking = false;
  private checkAgain = false;
  private retryTimer: unknown;
  private resigning: Promise<void> | undefined;
  private readonly waitingForSession = new Set<() => void>();
  /** Sessions this master gave up (hex ids) whose lock nodes may linger until the ensemble expires them. */
  private readonly staleSessions = new Set<string>();
  /** Clients being closed: `resign()` resolves once each has let go of its socket. */
  private readonly closing = new Set<Promise<void>>();
  private readonly connectTimeout: number;

  constructor(private readonly options: ZooKeeperLeadershipOptions) {
    validate(options);
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.lockDir = `${options.path}/lock`;
    this.connectTimeout = options.connectTimeout ?? defaultConnectTimeout(options.sessionTimeout);
  }

  campaign(self: Candidate, listener: LeadershipListener): void {
    if (this.resigning || this.self) return;
    this.self = self;
    this.listener = listener;
    this.startSession();
    if (this.connected()) this.requestCheck(this.generation);
  }

  async controlKey(fresh: () => string): Promise<string> {
    const keyPath = `${this.options.path}/control-key`;
    const deadline = this.clock.now() + 2 * Math.max(this.connectTimeout, this.options.sessionTimeout);
    for (;;) {
      const zk = await this.sessionUp(deadline);
      try {
        await this.ensurePath(zk);
        try {
          return (await zk.getData(keyPath)).data.toString('utf8');
        } catch (error) {
          if (!isZooKeeperError(error, 'NO_NODE')) throw error;
        }
        const key = fresh();
        try {
          await zk.create(keyPath, Buffer.from(key, 'utf8'), 'PERSISTENT');
          return key;
        } catch (error) {
          // Another master stored one first: theirs is the cluster's.
          if (!isZooKeeperError(error, 'NODE_EXISTS')) throw error;
          return (await zk.getData(keyPath)).data.toString('utf8');
        }
      } catch (error) {
        if (this.resigning) throw new Error('master HA: resigned while reading the control key');
        if (this.clock.now() >= deadline) throw error;
        this.logger.warn({ err: error }, 'master HA: reading the control key failed; trying again');
        await this.sleep(RETRY_MS);
      }
    }
  }

  resign(): Promise<void> {
    this.resigning ??= this.leave();
    return this.resigning;
  }

  private async leave(): Promise<void> {
    this.listener = undefined;
    this.clock.clearTimeout(this.retryTimer);
    for (const wake of [...this.waitingForSession]) wake();
    const zk = this.zk;
    const node = this.myNode;
    if (zk && node && this.connected()) {
      // Deleting the node first lets the next master lead at once, before the session close lands.
      await Promise.race([zk.remove(node).catch(() => undefined), this.sleep(RESIGN_REMOVE_MS)]);
    }
    this.session?.send({ type: 'CLOSE' });
    this.session?.stop();
    await Promise.all([...this.closing]);
  }

  // -------------------------------------------------------------------------
  // The session
  // -------------------------------------------------------------------------

  private startSession(): void {
    if (this.session) return;
    // An effect that throws is logged here: thrown inside the machine it would stop the session
    // actor and surface as an uncaught error.
    const effect =
      <A extends unknown[]>(name: string, run: (...args: A) => void) =>
      (...args: A): void => {
        try {
          run(...args);
        } catch (error) {
          this.logger.error({ err: error, effect: name }, `master HA: ${name} failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      };
    const port: ZkSessionPort = {
      open: effect('opening a ZooKeeper client', () => this.openClient()),
      established: effect('joining the election', () => this.onEstablished()),
      probe: effect('probing ZooKeeper', () => this.probe()),
      suspended: effect('suspending', (reason: string) => this.onSuspended(reason)),
      resumed: effect('resuming', () => this.onResumed()),
      lost: effect('giving up the session', (reason: string) => this.onLost(reason)),
      closeClient: effect('closing the ZooKeeper client', () => this.closeClient()),
    };
    this.session = createActor(zkSessionMachine, {
      clock: this.clock,
      input: { port, sessionTimeout: this.options.sessionTimeout, connectTimeout: this.connectTimeout, retryDelay: RETRY_MS },
    });
    // Dropped by the inspector once stopped (resign).
    if (this.options.inspectAs !== undefined) inspectorOfProcess().register(this.session, this.options.inspectAs);
    this.session.start();
  }

  private connected(): boolean {
    const value = this.session ? stateName(this.session.getSnapshot().value) : '';
    return value.startsWith('connected') && this.zk !== undefined;
  }

  /** The client once its session is up (now, or when it comes); rejects after `deadline` or on resign. */
  private sessionUp(deadline: number): Promise<ZooKeeperConnection> {
    this.startSession();
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (this.resigning) {
          reject(new Error('master HA: resigned'));
          return true;
        }
        if (this.connected() && this.zk) {
          resolve(this.zk);
          return true;
        }
        return false;
      };
      if (check()) return;
      const wait = Math.max(0, Math.round(deadline - this.clock.now()));
      const timer = this.clock.setTimeout(() => {
        this.waitingForSession.delete(wake);
        reject(new Error(`master HA: no ZooKeeper session with ${this.options.servers} within ${wait} ms`));
      }, wait, { unref: true });
      const wake = (): void => {
        if (check()) {
          this.waitingForSession.delete(wake);
          this.clock.clearTimeout(timer);
        }
      };
      this.waitingForSession.add(wake);
    });
  }

  private openClient(): void {
    const generation = ++this.generation;
    const zk = ZooKeeperConnection.open({
      servers: this.options.servers,
      sessionTimeout: this.options.sessionTimeout,
      ...(this.options.auth !== undefined ? { auth: this.options.auth } : {}),
    });
    this.zk = zk;
    zk.onState((state: ZooKeeperState) => {
      if (generation !== this.generation) return;
      this.logger.debug({ state, session: zk.sessionId }, 'master HA: ZooKeeper session state');
      switch (state) {
        case 'connected':
          this.session?.send({ type: 'CONNECTED', sessionTimeout: zk.sessionTimeout });
          break;
        // Read-only: the election cannot be held (nothing can be written), so it counts as lost contact.
        case 'connected-read-only':
        case 'disconnected':
          this.session?.send({ type: 'DISCONNECTED' });
          break;
        case 'expired':
          this.session?.send({ type: 'EXPIRED', reason: `ZooKeeper session 0x${zk.sessionId} expired` });
          break;
        case 'auth-failed':
          this.session?.send({ type: 'EXPIRED', reason: 'ZooKeeper rejected the authentication (auth)' });
          break;
      }
    });
  }

  private closeClient(): void {
    if (this.zk && this.myNode) this.staleSessions.add(this.zk.sessionId);
    this.generation++;
    this.clock.clearTimeout(this.retryTimer);
    const zk = this.zk;
    this.zk = undefined;
    if (zk) {
      const closed = zk.close().finally(() => this.closing.delete(closed));
      this.closing.add(closed);
    }
    this.myNode = undefined;
    this.checking = false;
    this.checkAgain = false;
  }

  private probe(): void {
    const zk = this.zk;
    const generation = this.generation;
    zk?.exists(this.options.path).then(
      () => {
        if (generation === this.generation) this.session?.send({ type: 'HEARD' });
      },
      () => undefined,
    );
  }

  private onEstablished(): void {
    this.told = { role: 'none' };
    this.myNode = undefined;
    this.logger.info({ session: this.zk?.sessionId }, 'master HA: ZooKeeper session established');
    this.wakeWaiters();
    if (this.self) this.requestCheck(this.generation);
  }

  /** After the machine has settled in its new state (actions run before the snapshot moves). */
  private wakeWaiters(): void {
    queueMicrotask(() => {
      for (const wake of [...this.waitingForSession]) wake();
    });
  }

  private onSuspended(reason: string): void {
    this.logger.warn({ reason, role: this.told.role }, 'master HA: ZooKeeper connection lost; suspended');
    if (this.told.role !== 'none') this.tell((l) => l.suspended(reason));
  }

  private onResumed(): void {
    this.logger.info({ role: this.told.role }, 'master HA: ZooKeeper connection back within the session');
    this.wakeWaiters();
    if (this.told.role !== 'none') this.tell((l) => l.resumed());
    // A step cut off by the disconnection is taken again; otherwise this confirms what holds.
    if (this.self) this.requestCheck(this.generation);
  }

  private onLost(reason: string): void {
    this.logger.warn({ reason, role: this.told.role }, 'master HA: ZooKeeper session lost');
    if (this.told.role !== 'none') this.tell((l) => l.lost(reason));
    this.told = { role: 'none' };
  }

  private tell(call: (listener: LeadershipListener) => void): void {
    const listener = this.listener;
    if (!listener) return;
    try {
      call(listener);
    } catch (error) {
      this.logger.error({ err: error }, 'master HA: the leadership listener threw');
    }
  }

  // -------------------------------------------------------------------------
  // The election
  // -------------------------------------------------------------------------

  /** Runs one election step for this client's session; a request while one runs makes it run again after. */
  private requestCheck(generation: number): void {
    if (generation !== this.generation || this.resigning || !this.self) return;
    if (this.checking) {
      this.checkAgain = true;
      return;
    }
    this.checking = true;
    void this.checkLoop(generation);
  }

  private async checkLoop(generation: number): Promise<void> {
    try {
      do {
        this.checkAgain = false;
        await this.step(generation);
      } while (this.checkAgain && this.current(generation));
    } catch (error) {
      if (!this.current(generation)) return;
      this.logger.warn({ err: error }, 'master HA: election step failed; trying again');
      this.clock.clearTimeout(this.retryTimer);
      // While disconnected the retry waits in the client's queue; `resumed` also asks again.
      this.retryTimer = this.clock.setTimeout(() => this.requestCheck(generation), RETRY_MS, { unref: true });
    } finally {
      if (generation === this.generation) this.checking = false;
    }
  }

  private current(generation: number): boolean {
    return generation === this.generation && !this.resigning;
  }

  private async step(generation: number): Promise<void> {
    const zk = this.zk;
    const self = this.self;
    if (!zk || !self || !this.current(generation)) return;
    await this.ensurePath(zk);
    const prefix = `n-${zk.sessionId}-`;
    let children = await zk.getChildren(this.lockDir);
    if (!this.current(generation)) return;
    if (this.myNode === undefined && this.staleSessions.size > 0) {
      // This master's nodes from sessions it gave up: it will never act on them, so they need not
      // hold the lock until the ensemble expires them (the next master leads sooner).
      const stale = children.filter((name) => [...this.staleSessions].some((sid) => name.startsWith(`n-${sid}-`)));
      for (const name of stale) {
        await zk.remove(`${this.lockDir}/${name}`).catch((error: unknown) => {
          if (!isZooKeeperError(error, 'NO_NODE')) throw error;
        });
        this.logger.info({ node: `${this.lockDir}/${name}` }, 'master HA: removed own lock node of a lost session');
      }
      this.staleSessions.clear();
      if (stale.length > 0) children = await zk.getChildren(this.lockDir);
      if (!this.current(generation)) return;
    }
    if (this.myNode === undefined) {
      // A create cut off by a lost connection may have made the node: find it by the session's prefix.
      const existing = children.find((name) => name.startsWith(prefix));
      this.myNode = existing !== undefined ? `${this.lockDir}/${existing}` : await zk.create(`${this.lockDir}/${prefix}`, Buffer.from(JSON.stringify(self)), 'EPHEMERAL_SEQUENTIAL');
      if (existing === undefined) children = await zk.getChildren(this.lockDir);
      if (!this.current(generation)) return;
      this.logger.info({ node: this.myNode }, 'master HA: joined the election');
    }
    const myName = this.myNode.slice(this.lockDir.length + 1);
    const queue = children
      .map((name) => ({ name, seq: lockSequence(name) }))
      .filter((n): n is { name: string; seq: number } => n.seq !== undefined)
      .sort((a, b) => a.seq - b.seq);
    const mine = queue.findIndex((n) => n.name === myName);
    if (mine < 0) {
      // Someone deleted this master's node: whatever it held is gone; join again.
      this.logger.warn({ node: this.myNode }, 'master HA: own lock node is gone; joining again');
      this.myNode = undefined;
      if (this.told.role === 'elected') {
        this.tell((l) => l.lost('lock node deleted'));
        this.told = { role: 'none' };
      }
      this.checkAgain = true;
      return;
    }
    if (mine === 0) {
      await this.lead(zk, generation, self);
      return;
    }
    const predecessor = `${this.lockDir}/${queue[mine - 1]!.name}`;
    await this.options.beforeWatch?.(predecessor);
    const stat = await zk.exists(predecessor, (event) => {
      if (event.type === 'deleted') this.requestCheck(generation);
    });
    if (!this.current(generation)) return;
    if (stat === undefined) {
      // Gone between listing and watching: no event will come for it, look again now.
      this.checkAgain = true;
      return;
    }
    await this.standBy(zk, generation, `${this.lockDir}/${queue[0]!.name}`);
  }

  private async lead(zk: ZooKeeperConnection, generation: number, self: Candidate): Promise<void> {
    const node = this.myNode!;
    const stat = await zk.exists(node);
    if (!this.current(generation)) return;
    if (stat === undefined) {
      this.checkAgain = true;
      return;
    }
    const epoch = Number(stat.czxid);
    if (this.told.role === 'elected' && this.told.epoch === epoch) return;
    const record: LeaderRecord = { ...self, epoch };
    await zk.setDataIfExists(node, this.options.path, Buffer.from(JSON.stringify(record)));
    if (!this.current(generation)) return;
    this.told = { role: 'elected', epoch };
    this.logger.info({ epoch, node }, 'master HA: elected');
    this.tell((l) => l.elected(epoch));
  }

  private async standBy(zk: ZooKeeperConnection, generation: number, leaderNode: string): Promise<void> {
    const leaderStat = await zk.exists(leaderNode);
    if (!this.current(generation)) return;
    if (leaderStat === undefined) {
      this.checkAgain = true;
      return;
    }
    let record: LeaderRecord | undefined;
    try {
      // Watched: when the leader writes its record after this read, it is reported then.
      const { data } = await zk.getData(this.options.path, (event) => {
        if (event.type === 'data-changed') this.requestCheck(generation);
      });
      record = parseRecord(data);
    } catch (error) {
      if (!isZooKeeperError(error, 'NO_NODE')) throw error;
    }
    if (!this.current(generation)) return;
    // The record left by an earlier leader is not this leader's.
    if (record && record.epoch !== Number(leaderStat.czxid)) record = undefined;
    if (this.told.role === 'standby' && this.told.epoch === record?.epoch) return;
    if (this.told.role === 'elected') this.tell((l) => l.lost('another master leads'));
    this.told = { role: 'standby', epoch: record?.epoch };
    this.logger.info({ leader: record }, 'master HA: standby');
    this.tell((l) => l.standby(record));
  }

  /**
   * `<path>/lock`, creating what is missing: the parents above `<path>` open to anyone (other
   * clusters may share them), `<path>` and its lock this master's user's only when `auth` is set.
   */
  private async ensurePath(zk: ZooKeeperConnection): Promise<void> {
    const parent = this.options.path.slice(0, this.options.path.lastIndexOf('/'));
    if (parent !== '') await zk.mkdirp(parent, 'open');
    await zk.mkdirp(this.lockDir, 'own');
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimeout(resolve, ms, { unref: true }));
  }
}
