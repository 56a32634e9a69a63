import type { NatsConnection } from '@nats-io/transport-node';
import { createActor } from 'xstate';
import type { GlobalChannelSettings } from '../../config/global-channel.ts';
import type { Logger } from '../../logger.ts';
import { globalChannelConnectionMachine } from '../../machines/global-channel-connection.ts';
import { stateName } from '../../machines/state-name.ts';
import { encode } from '../../transport/codec.ts';
import { createRedis, describeRedis, type RedisClient } from '../../transport/redis.ts';
import type { Subjects } from '../../transport/subjects.ts';
import type { PushMessage } from '../connector/types.ts';
import type { FrontendsOfType } from './channel.ts';
import { GlobalChannelError } from './errors.ts';
import { GlobalChannel, type GlobalPushResult } from './global-channel.ts';
import { GlobalChannelStore } from './global-channel-store.ts';

/**
 * Global channels (Pomelo's `globalChannelService`, from pomelo-globalchannel-plugin): channels
 * whose membership lives in Redis, so that it outlives any one server and every server sees the
 * same. `app.get('globalChannelService')` on any server once `app.enable('globalChannel')`.
 *
 * Every method returns a promise and also takes a trailing Pomelo-style callback
 * `(error, result)`. A call fails with a `GlobalChannelError` naming the operation and the
 * channel: before the service is ready, while Redis is away, or on bad arguments.
 *
 * Membership heals itself: a frontend's session that closes leaves every global channel its user
 * joined there; a frontend that starts removes its own stale memberships (cleanOnStartUp); the
 * leading master removes a dead frontend's (src/actors/master/master-global-channels.ts).
 */

/** A Pomelo-style callback, as the last argument of any method. */
export type GlobalChannelCallback<T> = (error: Error | null, result?: T) => void;

/** `pushMessage`'s options: none yet (any key given is refused, not ignored). */
export type GlobalPushOptions = Record<string, never>;

export type { GlobalPushResult } from './global-channel.ts';

export interface GlobalChannelServiceOptions {
  settings: GlobalChannelSettings;
  /** This server's id (the client's connection name, and `sid` of its own sessions). */
  serverId: string;
  /** Whether this server is a frontend: it then cleans its own stale memberships as it starts. */
  frontend: boolean;
  nc: NatsConnection;
  subjects: Subjects;
  /** Running frontends of a server type, for the calls that take one. */
  frontendsOfType: FrontendsOfType;
  logger: Logger;
  /** ms Redis may take to answer first (the server's start fails after). */
  connectTimeout: number;
}

const encoder = new TextEncoder();
/** Channels whose members a pushing server keeps, for pushes to channels that did not change. */
const PUSH_CACHE_CHANNELS = 1_000;

/** The members of one channel per frontend, as read at one version of its membership. */
interface CachedMembers {
  version: number;
  groups: Map<string, string[]>;
}

export class GlobalChannelService {
  private readonly redis: RedisClient;
  private readonly store: GlobalChannelStore;
  private readonly actor;
  private readonly started: Promise<void>;
  private cleaned: Promise<void> | undefined;
  private readonly pushCache = new Map<string, CachedMembers>();
  private readonly handles = new Map<string, GlobalChannel>();

  constructor(private readonly options: GlobalChannelServiceOptions) {
    const { settings, serverId, logger } = options;
    const where = describeRedis(settings.target);
    this.redis = createRedis(settings.target, serverId);
    this.store = new GlobalChannelStore(this.redis, settings.prefix);
    let settle!: { resolve: () => void; reject: (error: Error) => void };
    this.started = new Promise((resolve, reject) => (settle = { resolve, reject }));
    this.started.catch(() => undefined);
    const machine = globalChannelConnectionMachine;
    this.actor = createActor(machine, {
      input: {
        connectTimeout: options.connectTimeout,
        port: {
          ready: (first) => {
            logger.info({ redis: where }, `global channels ready on ${where}`);
            if (!first) return;
            // A frontend clears what an earlier process of its id left before it takes clients.
            this.cleaned = options.frontend && settings.cleanOnStartUp ? this.cleanOwn() : Promise.resolve();
            this.cleaned.then(settle.resolve, settle.reject);
          },
          reconnecting: (reason) => logger.warn({ redis: where, reason }, `global channels reconnecting: ${reason}`),
          failed: (reason) => settle.reject(new GlobalChannelError('start', undefined, `${reason} (${where})`)),
          close: () => this.redis.disconnect(),
        },
      },
    });
    const tell = (event: { type: 'READY' } | { type: 'LOST' }): void => {
      // The client's last `close` comes after the machine has stopped.
      if (this.actor.getSnapshot().status === 'active') this.actor.send(event);
    };
    this.redis.on('ready', () => tell({ type: 'READY' }));
    this.redis.on('close', () => tell({ type: 'LOST' }));
    // ioredis reports each failed attempt; the machine and the logs above say what matters.
    this.redis.on('error', (error: Error) => logger.debug({ err: error }, 'redis client error'));
  }

  /** The connection's state: `connecting`, `ready`, `reconnecting`, `stopped` or `failed`. */
  get state(): string {
    return stateName(this.actor.getSnapshot().value);
  }

  /** How many times the link to Redis dropped since it was first ready. */
  get reconnects(): number {
    return this.actor.getSnapshot().context.attempts;
  }

  /** Resolves when the connection is (or next becomes) `state`. */
  whenState(state: 'ready' | 'reconnecting' | 'stopped' | 'failed'): Promise<void> {
    return new Promise((resolve) => {
      if (this.state === state) return resolve();
      const subscription = this.actor.subscribe((snapshot) => {
        if (stateName(snapshot.value) !== state) return;
        subscription.unsubscribe();
        resolve();
      });
    });
  }

  /** Connects; resolves once Redis answers (and a frontend has cleaned its stale memberships). */
  start(): Promise<void> {
    this.actor.start();
    return this.started;
  }

  /** Closes the client; calls fail from now on. */
  async stop(): Promise<void> {
    this.actor.send({ type: 'STOP' });
    await this.cleaned?.catch(() => undefined);
  }

  /**
   * Adds user `uid`, connected to frontend `sid`, to channel `name` (made if new).
   *
   * @example
   * await app.get('globalChannelService').add('room-1', session.uid, session.frontendId);
   */
  add(name: string, uid: string, sid: string, callback?: GlobalChannelCallback<boolean>): Promise<boolean> {
    return this.call('add', name, callback, () => (checkUser('add', name, uid, sid), this.store.add(name, uid, sid)));
  }

  /** Removes `uid` of frontend `sid` from channel `name`; resolves true if it was a member. */
  leave(name: string, uid: string, sid: string, callback?: GlobalChannelCallback<boolean>): Promise<boolean> {
    return this.call('leave', name, callback, () => (checkUser('leave', name, uid, sid), this.store.leave(name, uid, sid)));
  }

  /** Removes `uid` of frontend `sid` from every global channel; resolves with their names. */
  leaveAll(uid: string, sid: string, callback?: GlobalChannelCallback<string[]>): Promise<string[]> {
    return this.call('leaveAll', undefined, callback, () => (checkUser('leaveAll', undefined, uid, sid), this.store.leaveAll(uid, sid)));
  }

  /** The uids of channel `name` connected to frontend `sid`. */
  getMembersBySid(name: string, sid: string, callback?: GlobalChannelCallback<string[]>): Promise<string[]> {
    return this.call('getMembersBySid', name, callback, () => (checkId('getMembersBySid', name, 'sid', sid), this.store.membersOf(name, sid)));
  }

  /** The uids of channel `name` on every running frontend of `serverType`. */
  getMembersByChannelName(serverType: string, name: string, callback?: GlobalChannelCallback<string[]>): Promise<string[]> {
    return this.call('getMembersByChannelName', name, callback, async () => {
      const groups = await Promise.all(this.frontends('getMembersByChannelName', name, serverType).map((sid) => this.store.membersOf(name, sid)));
      return groups.flat();
    });
  }

  /**
   * Pushes `msg` on `route` to every member of channel `name` on the running frontends of
   * `serverType`: per frontend one SMEMBERS (pipelined together) and one NATS message, which that
   * frontend delivers to its sessions. Resolves with the frontends it could not reach.
   *
   * @example
   * const { failedSids } = await globalChannelService.pushMessage('connector', 'onChat', { text }, 'room-1');
   */
  pushMessage(serverType: string, route: string, msg: unknown, name: string, opts?: GlobalPushOptions | GlobalChannelCallback<GlobalPushResult>, callback?: GlobalChannelCallback<GlobalPushResult>): Promise<GlobalPushResult> {
    const done = typeof opts === 'function' ? opts : callback;
    return this.call('pushMessage', name, done, async () => {
      if (typeof route !== 'string' || route === '') throw new GlobalChannelError('pushMessage', name, 'route must be a non-empty string');
      if (opts !== undefined && typeof opts !== 'function') {
        const keys = typeof opts === 'object' && opts !== null ? Object.keys(opts) : [String(opts)];
        if (keys.length > 0) throw new GlobalChannelError('pushMessage', name, `unknown option ${keys.map((k) => JSON.stringify(k)).join(', ')} (pushMessage takes none)`);
      }
      const sids = this.frontends('pushMessage', name, serverType);
      const { groups, failedSids } = await this.membersForPush(name, sids);
      let body: Uint8Array | undefined;
      for (const sid of sids) {
        const uids = groups.get(sid);
        if (!uids || uids.length === 0) continue;
        body ??= encoder.encode(JSON.stringify(msg ?? {}));
        try {
          this.options.nc.publish(this.options.subjects.push(sid), encode({ route, body, uids } satisfies PushMessage));
        } catch {
          failedSids.push(sid);
        }
      }
      return { failedSids };
    });
  }

  /** Removes channel `name` and all its members, on every frontend that ever held one, live or not. */
  destroyChannel(name: string, callback?: GlobalChannelCallback<void>): Promise<void> {
    return this.call('destroyChannel', name, callback, () => this.store.destroy(name));
  }

  /**
   * A handle on channel `name` with the local `Channel`'s methods, for the frontends of
   * `serverType` (the same handle for the same name and type until it is destroyed).
   *
   * @example
   * const room = globalChannelService.getChannel('room-1', 'connector');
   * await room.add(uid, sid);
   * await room.pushMessage('onChat', { text });
   */
  getChannel(name: string, serverType: string): GlobalChannel {
    checkChannel('getChannel', name);
    const key = `${serverType}\u0000${name}`;
    let handle = this.handles.get(key);
    if (!handle || handle.destroyed) this.handles.set(key, (handle = new GlobalChannel(name, serverType, this)));
    return handle;
  }

  /** @internal A user has no session left on this frontend: it leaves every global channel it joined here. */
  userGone(uid: string): Promise<void> {
    return this.leaveAll(uid, this.options.serverId).then(
      (channels) => {
        if (channels.length > 0) this.options.logger.debug({ uid, channels }, 'left global channels on close');
      },
      (error: unknown) => this.options.logger.warn({ err: error, uid }, `user ${uid} could not leave its global channels: ${(error as Error).message}`),
    );
  }

  /**
   * The members of `name` on each of `sids`: one read of the channel's version, and one SMEMBERS
   * per frontend (pipelined together) only when the membership changed since this server last
   * read it. The version is read before the members, so a cache is never older than its version.
   */
  private async membersForPush(name: string, sids: readonly string[]): Promise<{ groups: Map<string, string[]>; failedSids: string[] }> {
    const version = await this.store.versionOf(name);
    let cached = this.pushCache.get(name);
    if (!cached || cached.version !== version) {
      cached = { version, groups: new Map() };
      this.pushCache.delete(name);
      if (this.pushCache.size >= PUSH_CACHE_CHANNELS) this.pushCache.delete(this.pushCache.keys().next().value!);
      this.pushCache.set(name, cached);
    }
    const { groups } = cached;
    const missing = sids.filter((sid) => !groups.has(sid));
    const read = await Promise.allSettled(missing.map((sid) => this.store.membersOf(name, sid)));
    const failedSids: string[] = [];
    read.forEach((result, i) => {
      if (result.status === 'fulfilled') groups.set(missing[i]!, result.value);
      else failedSids.push(missing[i]!);
    });
    return { groups, failedSids };
  }

  private async cleanOwn(): Promise<void> {
    const { serverId, logger } = this.options;
    const channels = await this.store.cleanFrontend(serverId);
    if (channels > 0) logger.info({ channels }, `cleaned stale global channel memberships of ${serverId} (${channels} channels)`);
  }

  private frontends(operation: string, name: string, serverType: string): string[] {
    if (typeof serverType !== 'string' || serverType === '') throw new GlobalChannelError(operation, name, 'serverType must be a non-empty string');
    return this.options.frontendsOfType(serverType);
  }

  /** Runs one operation: checks the channel name and the connection, names both in any failure. */
  private call<T>(operation: string, name: string | undefined, callback: GlobalChannelCallback<T> | undefined, run: () => Promise<T>): Promise<T> {
    // Not `async`: on the hot path (add, leave) the operation's own promise is the only extra one.
    let promise: Promise<T>;
    try {
      if (name !== undefined) checkChannel(operation, name);
      if (this.actor.getSnapshot().value !== 'ready') throw new GlobalChannelError(operation, name, notReady(this.state, this.actor.getSnapshot().context.reason));
      promise = run().catch((error: unknown) => {
        if (error instanceof GlobalChannelError) throw error;
        throw new GlobalChannelError(operation, name, `Redis failed: ${(error as Error).message}`, { cause: error });
      });
    } catch (error) {
      promise = Promise.reject(error);
    }
    if (callback) promise.then((result) => callback(null, result), (error: Error) => callback(error));
    return promise;
  }
}

function notReady(state: string, reason: string): string {
  if (state === 'connecting') return 'the service is not ready yet (connecting to Redis)';
  if (state === 'reconnecting') return `Redis is away (${reason}); reconnecting`;
  if (state === 'failed') return `the service failed to start: ${reason}`;
  return 'the service is stopped';
}

function checkChannel(operation: string, name: string): void {
  if (typeof name !== 'string' || name === '') throw new GlobalChannelError(operation, String(name), 'the channel name must be a non-empty string');
  if (/[{}]/.test(name)) throw new GlobalChannelError(operation, name, 'the channel name may not contain "{" or "}" (they would break its Redis Cluster hash tag)');
}

function checkId(operation: string, name: string | undefined, field: string, value: unknown): void {
  if (typeof value !== 'string' || value === '') throw new GlobalChannelError(operation, name, `${field} must be a non-empty string, got ${JSON.stringify(value)}`);
}

function checkUser(operation: string, name: string | undefined, uid: unknown, sid: unknown): void {
  checkId(operation, name, 'uid', uid);
  checkId(operation, name, 'sid', sid);
  if (/[{}]/.test(sid as string)) throw new GlobalChannelError(operation, name, 'sid may not contain "{" or "}"');
}
