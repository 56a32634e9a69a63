import type { Application, ChannelService } from 'shaddock';

/**
 * Rooms on a chat server (chatofpomelo's chatRemote): each room is a channel of `name*rid` uids,
 * each on the frontend (`sid`) holding that user's connection.
 */
export default class ChatRemote {
  private readonly channels: ChannelService;

  constructor(private readonly app: Application) {
    this.channels = app.get('channelService');
    // Registered here rather than in app.ts because the hook needs this server's rooms.
    app.beforeStopHook(() => this.#sayGoodbye());
  }

  /** Before this chat server stops, every room it holds hears why (`#private`: not part of the remote). */
  async #sayGoodbye(): Promise<void> {
    const msg = `${this.app.getServerId()} is stopping; this room will be back shortly`;
    for (const rid of this.channels.names()) {
      await this.channels.getChannel(rid)?.pushMessage('onChat', { msg, from: 'system', target: '*' });
    }
  }

  /** Adds a user to a room and returns the room's user names; `null` when the name is taken. */
  async add(uid: string, sid: string, rid: string): Promise<string[] | null> {
    const channel = this.channels.getChannel(rid, true);
    if (channel.getMember(uid)) return null;
    await channel.pushMessage('onAdd', { user: nameOf(uid) });
    // Got again: the last member may have left (and the room been destroyed) while the push went out.
    this.channels.getChannel(rid, true).add(uid, sid);
    this.app.logger.info({ uid, rid, sid }, 'user entered room');
    return this.get(rid);
  }

  /** The user names in a room. */
  get(rid: string): string[] {
    return (this.channels.getChannel(rid)?.getMembers() ?? []).map(nameOf);
  }

  /** Removes a user from a room (its session closed) and tells the others. */
  async kick(uid: string, sid: string, rid: string): Promise<boolean> {
    const channel = this.channels.getChannel(rid);
    if (!channel?.leave(uid, sid)) return false;
    if (channel.size === 0) channel.destroy();
    else await channel.pushMessage('onLeave', { user: nameOf(uid) });
    return true;
  }

  /** Which chat server holds a room: lets a test see the route function at work. */
  whereIs(rid: string): { serverId: string; users: number } {
    return { serverId: this.app.getServerId(), users: this.channels.getChannel(rid)?.size ?? 0 };
  }

  /** Fails on purpose, with a code, so callers can see remote errors travel. */
  fail(message: string): never {
    throw Object.assign(new Error(message), { code: 'CHAT_FAILED' });
  }
}

function nameOf(uid: string): string {
  return uid.split('*')[0]!;
}
