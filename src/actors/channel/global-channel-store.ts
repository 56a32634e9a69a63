import type { RedisClient } from '../../transport/redis.ts';
import { scanKeys } from '../../transport/redis.ts';

/**
 * Global channel membership in Redis: the keys, and every command on them. See
 * docs/global-channels.md for the key layout.
 *
 * A channel's keys share the hash tag `{<prefix>:<channel>}`, and a frontend's keys the tag
 * `{<prefix>:fe:<sid>}`, so that on a Redis Cluster each group lives in one slot. Commands are
 * sent one by one and auto-pipelined by the client (one round trip per turn, per node), never in
 * an explicit multi-key pipeline, which a Cluster would refuse across slots.
 */
export class GlobalChannelKeys {
  constructor(readonly prefix: string) {}

  /** SET of the uids of channel `name` held by frontend `sid`. */
  members(name: string, sid: string): string {
    return `{${this.prefix}:${name}}:m:${sid}`;
  }

  /** SET of every frontend that ever had members in `name` (so destroy finds dead frontends' keys too). */
  frontends(name: string): string {
    return `{${this.prefix}:${name}}:fe`;
  }

  /** Counter bumped by every change of `name`'s membership: a pusher's cache is good while it is unchanged. */
  version(name: string): string {
    return `{${this.prefix}:${name}}:v`;
  }

  /** SET of the channels frontend `sid` has (or had) members in. */
  channelsOf(sid: string): string {
    return `{${this.prefix}:fe:${sid}}:channels`;
  }

  /** SET of the channels user `uid` joined through frontend `sid`. */
  userChannels(sid: string, uid: string): string {
    return `{${this.prefix}:fe:${sid}}:u:${uid}`;
  }

  /** SCAN pattern of every user index of frontend `sid`. */
  userPattern(sid: string): string {
    return `${globEscape(`{${this.prefix}:fe:${sid}}:u:`)}*`;
  }
}

function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

export class GlobalChannelStore {
  readonly keys: GlobalChannelKeys;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = new GlobalChannelKeys(prefix);
  }

  /** Adds `uid` of frontend `sid` to `name`; true if it was not a member there yet. */
  async add(name: string, uid: string, sid: string): Promise<boolean> {
    const { redis, keys } = this;
    const [added] = await Promise.all([
      redis.sadd(keys.members(name, sid), uid),
      redis.sadd(keys.frontends(name), sid),
      redis.sadd(keys.channelsOf(sid), name),
      redis.sadd(keys.userChannels(sid, uid), name),
      // After the SADD on the same connection: whoever reads the new version reads the new member.
      redis.incr(keys.version(name)),
    ]);
    return added === 1;
  }

  /**
   * Removes `uid` of `sid` from `name`; true if it was a member there. The frontend's channel
   * index keeps `name` (another of its users may still be in it); a frontend cleanup clears it.
   */
  async leave(name: string, uid: string, sid: string): Promise<boolean> {
    const { redis, keys } = this;
    const [removed] = await Promise.all([redis.srem(keys.members(name, sid), uid), redis.srem(keys.userChannels(sid, uid), name), redis.incr(keys.version(name))]);
    return removed === 1;
  }

  /** Removes `uid` of `sid` from every channel it joined there; returns those channels. */
  async leaveAll(uid: string, sid: string): Promise<string[]> {
    const { redis, keys } = this;
    const index = keys.userChannels(sid, uid);
    const channels = await redis.smembers(index);
    await Promise.all([...channels.flatMap((name) => [redis.srem(keys.members(name, sid), uid), redis.incr(keys.version(name))]), redis.del(index)]);
    return channels;
  }

  /** uids of `name` held by frontend `sid`. */
  membersOf(name: string, sid: string): Promise<string[]> {
    return this.redis.smembers(this.keys.members(name, sid));
  }

  /** The membership version of `name` (0 for a channel never changed). */
  async versionOf(name: string): Promise<number> {
    return Number((await this.redis.get(this.keys.version(name))) ?? 0);
  }

  /** Removes every key of `name`, on every frontend that ever held a member of it. */
  async destroy(name: string): Promise<void> {
    const { redis, keys } = this;
    const sids = await redis.smembers(keys.frontends(name));
    const groups = await Promise.all(sids.map((sid) => redis.smembers(keys.members(name, sid))));
    await Promise.all([
      ...sids.flatMap((sid, i) => [
        redis.del(keys.members(name, sid)),
        redis.srem(keys.channelsOf(sid), name),
        ...groups[i]!.map((uid) => redis.srem(keys.userChannels(sid, uid), name)),
      ]),
      redis.del(keys.frontends(name)),
      redis.incr(keys.version(name)),
    ]);
  }

  /**
   * Removes every membership frontend `sid` holds, and nothing of any other frontend: its
   * members in each channel of its index, the index, and its users' indexes (found by SCAN on
   * its own tag, the one place a scan is needed). Returns how many channels it was in.
   */
  async cleanFrontend(sid: string): Promise<number> {
    const { redis, keys } = this;
    const channels = await redis.smembers(keys.channelsOf(sid));
    await Promise.all([
      ...channels.flatMap((name) => [redis.del(keys.members(name, sid)), redis.srem(keys.frontends(name), sid), redis.incr(keys.version(name))]),
      redis.del(keys.channelsOf(sid)),
    ]);
    const users = await scanKeys(redis, keys.userPattern(sid));
    if (users.length > 0) await Promise.all(users.map((key) => redis.del(key)));
    return channels.length;
  }
}
