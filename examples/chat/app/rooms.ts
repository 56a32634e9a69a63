import type { Application, ChannelService, GlobalChannelService } from 'shaddock';

/**
 * The rooms of the chat, where their members live: in the memory of the chat server that holds
 * the room (local channels, the default), or in Redis (global channels, environment `global`),
 * where they outlive a kill -9 of that chat server. A member is a `name*rid` uid and the
 * connector (`sid`) holding its connection.
 */
export interface Rooms {
  /** Whether `uid` is in room `rid`. */
  has(rid: string, uid: string): Promise<boolean>;
  add(rid: string, uid: string, sid: string): Promise<void>;
  /** Removes a member; true if it was one. */
  leave(rid: string, uid: string, sid: string): Promise<boolean>;
  /** The uids in a room. */
  members(rid: string): Promise<string[]>;
  /** Pushes to every member of a room. */
  push(rid: string, route: string, msg: unknown): Promise<void>;
  /** Pushes to one member; false if `uid` is not in the room. */
  pushTo(rid: string, uid: string, route: string, msg: unknown): Promise<boolean>;
  /** The rooms this server holds in memory (none with global channels: Redis holds them). */
  held(): string[];
}

/** The app's rooms: global channels when the app enables them, else this server's local channels. */
export function roomsOf(app: Application): Rooms {
  const global = app.get('globalChannelService');
  return global ? globalRooms(app, global) : localRooms(app.get('channelService'));
}

function localRooms(channels: ChannelService): Rooms {
  return {
    has: async (rid, uid) => channels.getChannel(rid)?.getMember(uid) !== undefined,
    add: async (rid, uid, sid) => void channels.getChannel(rid, true).add(uid, sid),
    async leave(rid, uid, sid) {
      const channel = channels.getChannel(rid);
      if (!channel?.leave(uid, sid)) return false;
      if (channel.size === 0) channel.destroy();
      return true;
    },
    members: async (rid) => channels.getChannel(rid)?.getMembers() ?? [],
    push: async (rid, route, msg) => channels.getChannel(rid)?.pushMessage(route, msg),
    async pushTo(rid, uid, route, msg) {
      const member = channels.getChannel(rid)?.getMember(uid);
      if (member) await channels.pushMessageByUids(route, msg, [member]);
      return member !== undefined;
    },
    held: () => channels.names(),
  };
}

function globalRooms(app: Application, global: GlobalChannelService): Rooms {
  const connectors = (): string[] => app.getServersByType('connector').map((server) => server.id);
  return {
    has: async (rid, uid) => (await global.getMembersByChannelName('connector', rid)).includes(uid),
    add: async (rid, uid, sid) => void (await global.add(rid, uid, sid)),
    leave: (rid, uid, sid) => global.leave(rid, uid, sid),
    members: (rid) => global.getMembersByChannelName('connector', rid),
    push: async (rid, route, msg) => void (await global.pushMessage('connector', route, msg, rid)),
    async pushTo(rid, uid, route, msg) {
      for (const sid of connectors()) {
        if (!(await global.getMembersBySid(rid, sid)).includes(uid)) continue;
        await app.get('channelService').pushMessageByUids(route, msg, [{ uid, sid }]);
        return true;
      }
      return false;
    },
    held: () => [],
  };
}
