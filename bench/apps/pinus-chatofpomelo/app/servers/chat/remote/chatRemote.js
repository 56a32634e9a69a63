// chatofpomelo's chat remote: rooms are channels of the chat server that holds them.
'use strict';

const nameOf = (uid) => String(uid).split('*')[0];

class ChatRemote {
  constructor(app) {
    this.app = app;
    this.channelService = app.get('channelService');
  }

  /** Adds a user to a room, tells the room, and answers the room's user names. */
  async add(uid, sid, name, flag) {
    const channel = this.channelService.getChannel(name, flag);
    if (channel) {
      channel.pushMessage('onAdd', { user: nameOf(uid) });
      channel.add(uid, sid);
    }
    return this.get(name, flag);
  }

  get(name, flag) {
    const channel = this.channelService.getChannel(name, flag);
    return channel ? channel.getMembers().map(nameOf) : [];
  }

  /** Removes a user from a room (its session closed) and tells the others. */
  async kick(uid, sid, name) {
    const channel = this.channelService.getChannel(name, false);
    if (!channel) return;
    channel.leave(uid, sid);
    channel.pushMessage('onLeave', { user: nameOf(uid) });
  }
}

exports.default = function (app) {
  return new ChatRemote(app);
};
