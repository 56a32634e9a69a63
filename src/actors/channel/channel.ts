import { channelMachine, type ChannelJoinEvent, type ChannelPort, type ChannelPushEvent } from '../../machines/channel.ts';
import type { PushMessage } from '../connector/types.ts';
import { MachineRunner } from '../runtime/machine-runner.ts';
import { LocalChannelMembers, LocalChannelStore, type ChannelMembers, type ChannelStore } from './channel-store.ts';
import { ChannelDestroyedError } from './errors.ts';

/**
 * Local channels (Pomelo's `channelService`): named groups of users, each user known by uid and
 * the frontend (`sid`) holding its connection. A push to a channel, or to any list of users, is
 * grouped by frontend: one message per frontend, however many users it holds, and the frontend
 * encodes the client package once for all of them. Membership lives in a `ChannelStore`
 * (channel-store.ts), this process's memory unless the service is given another.
 *
 * Each channel runs the channel machine (src/machines/channel.ts: `open` → `destroyed`) on a
 * {@link MachineRunner}: joins, leaves and pushes are its events, and a destroyed channel refuses
 * joins and pushes with a {@link ChannelDestroyedError}. The machine holds no member (nor a
 * count), so a member costs only its place in the store.
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
  /** @internal The channel machine, driven by this handle. */
  readonly machine: MachineRunner<typeof channelMachine>;
  private readonly port: MembersPort;

  /**
   * @param members where its membership lives: the service's store gives it; by default a
   *   membership of its own, in memory.
   */
  constructor(
    readonly name: string,
    service: ChannelService,
    members: ChannelMembers = new LocalChannelMembers(),
  ) {
    this.port = new MembersPort(name, service, members);
    this.machine = new MachineRunner(channelMachine, { name, port: this.port });
  }

  /**
   * Adds a user; false if it is already a member.
   * @throws {ChannelDestroyedError} if the channel was destroyed
   */
  add(uid: string, sid: string): boolean {
    this.port.answered = false;
    this.machine.send({ type: 'JOIN', uid, sid });
    return this.port.answered;
  }

  /** Removes a user; false if it was not a member (on that frontend), or the channel was destroyed. */
  leave(uid: string, sid: string): boolean {
    this.port.answered = false;
    this.machine.send({ type: 'LEAVE', uid, sid });
    return this.port.answered;
  }

  /** Member uids. */
  getMembers(): string[] {
    return this.port.members.uids();
  }

  getMember(uid: string): Receiver | undefined {
    const sid = this.port.members.frontendOf(uid);
    return sid === undefined ? undefined : { uid, sid };
  }

  get size(): number {
    return this.port.members.size;
  }

  /** True once the channel is destroyed: it takes no more joins or pushes. */
  get destroyed(): boolean {
    return this.machine.value === 'destroyed';
  }

  /**
   * Pushes `msg` on `route` to every member: one message per frontend.
   * @throws {ChannelDestroyedError} (a rejection) if the channel was destroyed
   */
  async pushMessage(route: string, msg: unknown): Promise<void> {
    this.machine.send({ type: 'PUSH', route, msg });
  }

  /** Destroys the channel: the service forgets it; this handle refuses further joins and pushes. */
  destroy(): void {
    this.machine.send({ type: 'DESTROY' });
  }
}

/** The channel machine's effects on one channel's membership in the service's store. */
class MembersPort implements ChannelPort {
  /** Whether the store took the last join or leave (read by the `Channel` that sent it). */
  answered = false;

  constructor(
    private readonly name: string,
    private readonly service: ChannelService,
    readonly members: ChannelMembers,
  ) {}

  add(uid: string, sid: string): void {
    this.answered = this.members.add(uid, sid);
  }

  leave(uid: string, sid: string): void {
    this.answered = this.members.leave(uid, sid);
  }

  push(route: string, msg: unknown): void {
    this.service.pushGroups(route, msg, this.members.byFrontend());
  }

  release(): void {
    this.service.forget(this.name, this.members);
  }

  refuse(event: ChannelJoinEvent | ChannelPushEvent): never {
    throw new ChannelDestroyedError(this.name, event.type === 'JOIN' ? `add user "${event.uid}" (frontend ${event.sid})` : `push "${event.route}"`);
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

  /** Destroys channel `name` if it exists: its handle refuses further joins and pushes. */
  destroyChannel(name: string): void {
    const members = this.store.get(name);
    if (members) this.handle(name, members).destroy();
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

  /** @internal A channel was destroyed: the store forgets it, unless the name already holds a newer channel. */
  forget(name: string, members: ChannelMembers): void {
    if (this.store.get(name) === members) this.store.destroy(name);
  }

  /** @internal Encodes the body once and sends one push per frontend. */
  pushGroups(route: string, msg: unknown, groups: ReadonlyMap<string, Iterable<string>>): void {
    if (groups.size === 0) return;
    const body = encoder.encode(JSON.stringify(msg ?? {}));
    for (const [frontendId, uids] of groups) this.push(frontendId, { route, body, uids: [...uids] });
  }
}
