import type { Application } from 'shaddock';

/**
 * What the connector's `entryHandler.enter` does for a client (the client side comes with the
 * connector): bind `username*rid` and put the user in room `rid` on the chat server that owns it.
 */
export default class EntryRemote {
  constructor(private readonly app: Application) {}

  async enter(username: string, rid: string): Promise<{ users: string[] } | { code: 500; error: true }> {
    const uid = `${username}*${rid}`;
    const users = await this.app.rpc.chat.chatRemote.add(rid, uid, this.app.getServerId(), rid);
    return users === null ? { code: 500, error: true } : { users };
  }

  async leave(username: string, rid: string): Promise<boolean> {
    return this.app.rpc.chat.chatRemote.kick(rid, `${username}*${rid}`, rid);
  }
}
