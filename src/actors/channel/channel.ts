import type { PushMessage } from '../connector/types.ts';
import { LocalChannelMembers, LocalChannelStore, type ChannelMembers, type ChannelStore } from './channel-store.ts';

/**
 * Local channels (Pomelo's `channelService`): named groups of users, each user known by uid and
 * the frontend (`sid`) holding its connection. A push to a channel, or to any list of users, is
 * grouped by frontend: one message per frontend, however many users it holds, and the frontend
 * encodes the client package once for all of them. Membership lives in a `ChannelStore`
 * (channel-store.ts), this process's memory unless the service is given another.
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
  /**
   * @param members where its membership lives: the service's store gives it; by default a
   *   membership of its own, in memory.
   */
  constructor(
    readonly name: string,
    private readonly service: ChannelService,
    private readonly members: ChannelMembers = new LocalChannelMembers(),
  ) {}

  /** Adds a user; false if it is already a member. */
  add(uid: string, sid: string): boolean {
    return this.members.add(uid, sid);
  }

  /** Removes a user; false if it was not a member (on that frontend). */
  leave(uid: string, sid: string): boolean {
    return this.members.leave(uid, sid);
  }

  /** Member uids. */
  getMembers(): string[] {
    return this.members.uids();
  }

  getMember(uid: string): Receiver | undefined {
    const sid = this.members.frontendOf(uid);
    return sid === undefined ? undefined : { uid, sid };
  }

  get size(): number {
    return this.members.size;
  }

  /** Pushes `msg` on `route` to every member: one message per frontend. */
  async pushMessage(route: string, msg: unknown): Promise<void> {
    this.service.pushGroups(route, msg, this.members.byFrontend());
  }

  destroy(): void {
    this.service.destroyChannel(this.name);
  }
}

export class ChannelService {
  /** The one `Channel` of each membership the store holds, so that a name always gives the same object. */
  private readonly handles = new WeakMap<ChannelMembers, Channel>();

  /** @param store where membership lives (default: this process's memory). */
  constructor(
    private readonly push: Pusher,
    private readonly frontendsOfType: FrontendsOfType,
    private readonly store: ChannelStore = new LocalChannelStore(),
  ) {}

  /** The channel named `name`, created if it does not exist. */
  createChannel(name: string): Channel {
    return this.handle(name, this.store.open(name));
  }

  /** The channel named `name`; with `create`, made if missing. */
  getChannel(name: string, create: true): Channel;
  getChannel(name: string, create?: boolean): Channel | undefined;
  getChannel(name: string, create = false): Channel | undefined {
    const members = create ? this.store.open(name) : this.store.get(name);
    return members && this.handle(name, members);
  }

  /** Names of the channels that exist now. */
  names(): string[] {
    return this.store.names();
  }

  destroyChannel(name: string): void {
    this.store.destroy(name);
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

  private handle(name: string, members: ChannelMembers): Channel {
    let channel = this.handles.get(members);
    if (!channel) this.handles.set(members, (channel = new Channel(name, this, members)));
    return channel;
  }

  /** @internal Encodes the body once and sends one push per frontend. */
  pushGroups(route: string, msg: unknown, groups: ReadonlyMap<string, Iterable<string>>): void {
    if (groups.size === 0) return;
    const body = encoder.encode(JSON.stringify(msg ?? {}));
    for (const [frontendId, uids] of groups) this.push(frontendId, { route, body, uids: [...uids] });
  }
}
