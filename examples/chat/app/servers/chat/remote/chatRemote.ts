import type { Application } from 'shaddock';

/**
 * Room membership on a chat server (chatofpomelo's chatRemote). Users are `name*rid` uids on a
 * frontend `sid`; a room is a map uid → frontend id.
 */
export default class ChatRemote {
  private readonly rooms = new Map<string, Map<string, string>>();

  constructor(private readonly app: Application) {
    // Registered here rather than in app.ts because the hook needs this instance's rooms; a
    // method other code could reach them by would be part of the remote, callable over RPC.
    app.beforeStopHook(async () => this.#sayGoodbye());
  }

  /**
   * Before this chat server stops, says goodbye to every room it holds. Pushes to clients come
   * with the connector, so for now it logs one goodbye line per room with the users in it; once
   * channels exist this becomes a push to each room's channel. (`#private`, so not part of the
   * remote.)
   */
  #sayGoodbye(): void {
    for (const rid of this.rooms.keys()) {
      this.app.logger.info({ rid, users: this.get(rid) }, `goodbye, room ${rid}: ${this.app.getServerId()} is stopping`);
    }
  }

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
