import type { Application } from 'shaddock';
import { roomsOf, type Rooms } from '../../../rooms.ts';

/**
 * Rooms on a chat server (chatofpomelo's chatRemote): each room is a channel of `name*rid` uids,
 * each on the frontend (`sid`) holding that user's connection: a local channel of this server, or
 * a global channel in Redis (environment `global`, see app/rooms.ts).
 */
export default class ChatRemote {
  private readonly rooms: Rooms;

  constructor(private readonly app: Application) {
    this.rooms = roomsOf(app);
    // Registered here rather than in app.ts because the hook needs this server's rooms.
    app.beforeStopHook(() => this.#sayGoodbye());
  }

  /** Before this chat server stops, every room it holds hears why (`#private`: not part of the remote). */
  async #sayGoodbye(): Promise<void> {
    const msg = `${this.app.getServerId()} is stopping; this room will be back shortly`;
    for (const rid of this.rooms.held()) await this.rooms.push(rid, 'onChat', { msg, from: 'system', target: '*' });
  }

  /** Adds a user to a room and returns the room's user names; `null` when the name is taken. */
  async add(uid: string, sid: string, rid: string): Promise<string[] | null> {
    if (await this.rooms.has(rid, uid)) return null;
    await this.rooms.push(rid, 'onAdd', { user: nameOf(uid) });
    await this.rooms.add(rid, uid, sid);
    this.app.logger.info({ uid, rid, sid }, 'user entered room');
    return this.get(rid);
  }

  /** The user names in a room. */
  async get(rid: string): Promise<string[]> {
    return (await this.rooms.members(rid)).map(nameOf);
  }

  /**
   * Removes a user from a room (its session closed) and tells the others. With global channels
   * the connector may have removed it already (a closed session leaves its global channels): the
   * others are told all the same.
   */
  async kick(uid: string, sid: string, rid: string): Promise<boolean> {
    const left = await this.rooms.leave(rid, uid, sid);
    if (!left && !this.app.get('globalChannelService')) return false;
    await this.rooms.push(rid, 'onLeave', { user: nameOf(uid) });
    return true;
  }

  /** Which chat server holds a room: lets a test see the route function at work. */
  async whereIs(rid: string): Promise<{ serverId: string; users: number }> {
    return { serverId: this.app.getServerId(), users: (await this.rooms.members(rid)).length };
  }

  /** Fails on purpose, with a code, so callers can see remote errors travel. */
  fail(message: string): never {
    throw Object.assign(new Error(message), { code: 'CHAT_FAILED' });
  }
}

function nameOf(uid: string): string {
  return uid.split('*')[0]!;
}
