import type { Application, FrontendSession } from 'shaddock';

/** chatofpomelo's entry: a client names itself and its room; the room's chat server takes it in. */
export default class EntryHandler {
  constructor(private readonly app: Application) {}

  async enter(msg: { username: string; rid: string }, session: FrontendSession): Promise<{ users: string[] } | { code: 500; error: true }> {
    const { username, rid } = msg;
    const uid = `${username}*${rid}`;
    const sessions = this.app.get('sessionService');
    if (!username || !rid || session.uid !== undefined || (sessions?.getByUid(uid).length ?? 0) > 0) return { code: 500, error: true };
    await session.bind(uid);
    session.set('rid', rid);
    const sid = this.app.getServerId();
    const users = await this.app.rpc.chat.chatRemote.add(session, uid, sid, rid);
    if (users === null) {
      // The name is taken in this room (on another connector).
      await session.unbind(uid);
      return { code: 500, error: true };
    }
    session.on('closed', () => this.app.rpc.chat.chatRemote.kick(session, uid, sid, rid));
    return { users };
  }
}
