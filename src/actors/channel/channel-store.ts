/**
 * Where channel membership lives, in the shape of Colyseus's Presence with its LocalPresence: the
 * channel service asks a store, and `LocalChannelStore` (this process's memory, the default) is
 * the one there is. Global channels plug a shared store (Redis) in here.
 *
 * Synchronous on purpose: a push reads the members grouped by frontend as they are, with no
 * promise, copy or allocation per member (the broadcast bench pushes to thousands). A store over
 * the network will need asynchronous calls; that is for it to add beside these (or a second
 * interface), and the in-memory path stays this one.
 */
export interface ChannelStore {
  /** The members of channel `name`, made (with none) if the channel does not exist. */
  open(name: string): ChannelMembers;
  /** The members of channel `name`, if it exists. */
  get(name: string): ChannelMembers | undefined;
  /** Forgets channel `name`. Members already handed out keep theirs, but are no longer the channel's. */
  destroy(name: string): void;
  /** Names of the channels that exist now, oldest first. */
  names(): string[];
}

/** The members of one channel: each user by uid, with the id of the frontend holding its connection. */
export interface ChannelMembers {
  /** Adds a user; false if it is already a member (on any frontend). */
  add(uid: string, frontendId: string): boolean;
  /** Removes a user; false if it is not a member on that frontend. */
  leave(uid: string, frontendId: string): boolean;
  /** Member uids, in the order they joined. */
  uids(): string[];
  /** The frontend of a member, or undefined if `uid` is not one. */
  frontendOf(uid: string): string | undefined;
  readonly size: number;
  /**
   * Frontend id → uids of the members it holds (no empty groups): the grouping every push uses.
   * The live structure, not a copy: read it, do not keep or change it.
   */
  byFrontend(): ReadonlyMap<string, ReadonlySet<string>>;
}

/** The members of one channel in this process's memory. */
export class LocalChannelMembers implements ChannelMembers {
  /** uid → frontend id. */
  private readonly records = new Map<string, string>();
  /** frontend id → uids. */
  private readonly groups = new Map<string, Set<string>>();

  add(uid: string, frontendId: string): boolean {
    if (this.records.has(uid)) return false;
    this.records.set(uid, frontendId);
    let group = this.groups.get(frontendId);
    if (!group) this.groups.set(frontendId, (group = new Set()));
    group.add(uid);
    return true;
  }

  leave(uid: string, frontendId: string): boolean {
    if (this.records.get(uid) !== frontendId) return false;
    this.records.delete(uid);
    const group = this.groups.get(frontendId);
    group?.delete(uid);
    if (group?.size === 0) this.groups.delete(frontendId);
    return true;
  }

  uids(): string[] {
    return [...this.records.keys()];
  }

  frontendOf(uid: string): string | undefined {
    return this.records.get(uid);
  }

  get size(): number {
    return this.records.size;
  }

  byFrontend(): ReadonlyMap<string, ReadonlySet<string>> {
    return this.groups;
  }
}

/** Channels in this process's memory: what `channelService` uses unless given another store. */
export class LocalChannelStore implements ChannelStore {
  private readonly channels = new Map<string, LocalChannelMembers>();

  open(name: string): ChannelMembers {
    let members = this.channels.get(name);
    if (!members) this.channels.set(name, (members = new LocalChannelMembers()));
    return members;
  }

  get(name: string): ChannelMembers | undefined {
    return this.channels.get(name);
  }

  destroy(name: string): void {
    this.channels.delete(name);
  }

  names(): string[] {
    return [...this.channels.keys()];
  }
}
