import type { PushMessage } from '../connector/types.ts';

/**
 * Local channels (Pomelo's `channelService`): named groups of users, each user known by uid and
 * the frontend (`sid`) holding its connection. A push to a channel, or to any list of users, is
 * grouped by frontend: one message per frontend, however many users it holds, and the frontend
 * encodes the client package once for all of them.
 */

/** A user to push to: its uid and the id of the frontend holding its connection. */
export interface Receiver {
  uid: string;
  sid: string;
}

/** Sends one push to one frontend (over NATS, or straight to this process's connector). */
export type Pusher = (frontendId: string, push: PushMessage) => void;

/** Frontend ids of a server type, for `broadcast`. */
export type FrontendsOfType = (serverType: string) => string[];

const encoder = new TextEncoder();

export class Channel {
  /** uid → frontend id. */
  private readonly records = new Map<string, string>();
  /** frontend id → uids: the grouping every push uses. */
  private readonly groups = new Map<string, Set<string>>();

  constructor(
    readonly name: string,
    private readonly service: ChannelService,
  ) {}

  /** Adds a user; false if it is already a member. */
  add(uid: string, sid: string): boolean {
    if (this.records.has(uid)) return false;
    this.records.set(uid, sid);
    let group = this.groups.get(sid);
    if (!group) this.groups.set(sid, (group = new Set()));
    group.add(uid);
    return true;
  }

  /** Removes a user; false if it was not a member (on that frontend). */
  leave(uid: string, sid: string): boolean {
    if (this.records.get(uid) !== sid) return false;
    this.records.delete(uid);
    const group = this.groups.get(sid);
    group?.delete(uid);
    if (group?.size === 0) this.groups.delete(sid);
    return true;
  }

  /** Member uids. */
  getMembers(): string[] {
    return [...this.records.keys()];
  }

  getMember(uid: string): Receiver | undefined {
    const sid = this.records.get(uid);
    return sid === undefined ? undefined : { uid, sid };
  }

  get size(): number {
    return this.records.size;
  }

  /** Pushes `msg` on `route` to every member: one message per frontend. */
  async pushMessage(route: string, msg: unknown): Promise<void> {
    this.service.pushGroups(route, msg, this.groups);
  }

  destroy(): void {
    this.service.destroyChannel(this.name);
  }
}

export class ChannelService {
  private readonly channels = new Map<string, Channel>();

  constructor(
    private readonly push: Pusher,
    private readonly frontendsOfType: FrontendsOfType,
  ) {}

  /** The channel named `name`, created if it does not exist. */
  createChannel(name: string): Channel {
    let channel = this.channels.get(name);
    if (!channel) this.channels.set(name, (channel = new Channel(name, this)));
    return channel;
  }

  /** The channel named `name`; with `create`, made if missing. */
  getChannel(name: string, create: true): Channel;
  getChannel(name: string, create?: boolean): Channel | undefined;
  getChannel(name: string, create = false): Channel | undefined {
    return this.channels.get(name) ?? (create ? this.createChannel(name) : undefined);
  }

  /** Names of the channels that exist now. */
  names(): string[] {
    return [...this.channels.keys()];
  }

  destroyChannel(name: string): void {
    this.channels.delete(name);
  }

  /** Pushes to the listed users, grouped by frontend. */
  async pushMessageByUids(route: string, msg: unknown, receivers: readonly Receiver[]): Promise<void> {
    const groups = new Map<string, string[]>();
    for (const { uid, sid } of receivers) {
      let group = groups.get(sid);
      if (!group) groups.set(sid, (group = []));
      group.push(uid);
    }
    this.pushGroups(route, msg, groups);
  }

  /**
   * Pushes to every client of every frontend of `frontendType` (`binded`: only clients bound to a
   * user). One message per frontend.
   */
  async broadcast(frontendType: string, route: string, msg: unknown, options: { binded?: boolean } = {}): Promise<void> {
    const body = encoder.encode(JSON.stringify(msg ?? {}));
    for (const frontendId of this.frontendsOfType(frontendType)) {
      this.push(frontendId, { route, body, all: true, ...(options.binded ? { binded: true } : {}) });
    }
  }

  /** @internal Encodes the body once and sends one push per frontend. */
  pushGroups(route: string, msg: unknown, groups: ReadonlyMap<string, Iterable<string>>): void {
    if (groups.size === 0) return;
    const body = encoder.encode(JSON.stringify(msg ?? {}));
    for (const [frontendId, uids] of groups) this.push(frontendId, { route, body, uids: [...uids] });
  }
}
