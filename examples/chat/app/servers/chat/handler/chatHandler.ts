import type { Application, Session } from 'shaddock';

export interface ChatMessage {
  rid?: string;
  content: string;
  /** The sender's name (chatofpomelo sends it; the session's user is what counts). */
  from?: string;
  /** A user name in the room, or `*` for everyone. */
  target: string;
}

/** chatofpomelo's chat handler: a message to the whole room or to one user in it. */
export default class ChatHandler {
  constructor(private readonly app: Application) {}

  async send(msg: ChatMessage, session: Session): Promise<{ code: 200 } | { code: 500; error: string }> {
    const rid = session.get<string>('rid') ?? msg.rid;
    const channel = rid === undefined ? undefined : this.app.get('channelService').getChannel(rid);
    if (!channel || !session.uid || !channel.getMember(session.uid)) return { code: 500, error: 'enter a room first' };
    // The sender is who the session says, whatever `from` claims.
    const push = { msg: msg.content, from: session.uid.split('*')[0]!, target: msg.target };
    if (msg.target === '*') {
      await channel.pushMessage('onChat', push);
      return { code: 200 };
    }
    const target = channel.getMember(`${msg.target}*${rid}`);
    if (!target) return { code: 500, error: `${msg.target} is not in this room` };
    // Only the target hears it (as in chatofpomelo); the sender's page shows its own line.
    await this.app.get('channelService').pushMessageByUids('onChat', push, [target]);
    return { code: 200 };
  }
}
