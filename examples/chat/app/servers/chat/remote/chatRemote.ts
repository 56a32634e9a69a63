import type { Application } from 'shaddock';

/**
 * Room membership on a chat server (chatofpomelo's chatRemote). Users are `name*rid` uids on a
 * frontend `sid`; a room is a map uid → frontend id.
 */
export default class ChatRemote {
  private readonly rooms = new Map<string, Map<string, string>>();

  constructor(private readonly app: Application) {}

  /** Adds a user to a room and returns the room's user names; `null` when the name is taken. */
  add(uid: string, sid: string, rid: string): string[] | null {
    let room = this.rooms.get(rid);
    if (!room) this.rooms.set(rid, (room = new Map()));
    if (room.has(uid)) return null;
    room.set(uid, sid);
    this.app.logger.info({ uid, rid, sid }, 'user entered room');
    return this.get(rid);
  }

  /** The user names in a room. */
  get(rid: string): string[] {
    return [...(this.rooms.get(rid)?.keys() ?? [])].map((uid) => uid.split('*')[0]!);
  }

  /** Removes a user from a room (the session closed). */
  kick(uid: string, rid: string): boolean {
    const room = this.rooms.get(rid);
    const removed = room?.delete(uid) ?? false;
    if (room?.size === 0) this.rooms.delete(rid);
    return removed;
  }

  /** Which chat server holds a room: lets a test see the route function at work. */
  whereIs(rid: string): { serverId: string; users: number } {
    return { serverId: this.app.getServerId(), users: this.rooms.get(rid)?.size ?? 0 };
  }

  /** Fails on purpose, with a code, so callers can see remote errors travel. */
  fail(message: string): never {
    throw Object.assign(new Error(message), { code: 'CHAT_FAILED' });
  }
}
