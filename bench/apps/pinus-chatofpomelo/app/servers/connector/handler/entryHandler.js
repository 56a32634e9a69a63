// chatofpomelo's entry: a user names itself and its room; the room's chat server takes it in.
'use strict';

class EntryHandler {
  constructor(app) {
    this.app = app;
  }

  async enter(msg, session) {
    const { username, rid } = msg;
    const uid = `${username}*${rid}`;
    const sessionService = this.app.get('sessionService');
    if (!username || !rid || sessionService.getByUid(uid)) return { code: 500, error: true };
    await session.abind(uid);
    session.set('rid', rid);
    await session.apush('rid');
    const sid = this.app.get('serverId');
    session.on('closed', () => {
      this.app.rpc.chat.chatRemote.kick.route(session, true)(uid, sid, rid).catch(() => undefined);
    });
    const users = await this.app.rpc.chat.chatRemote.add.route(session)(uid, sid, rid, true);
    return { users };
  }
}

exports.default = function (app) {
  return new EntryHandler(app);
};
