import type { Application, Session } from 'shaddock';
import { roomsOf, type Rooms } from '../../../rooms.ts';

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
  private readonly rooms: Rooms;

  constructor(private readonly app: Application) {
    this.rooms = roomsOf(app);
  }

  async send(msg: ChatMessage, session: Session): Promise<{ code: 200 } | { code: 500; error: string }> {
    const rid = session.get<string>('rid') ?? msg.rid;
    if (rid === undefined || !session.uid || !(await this.rooms.has(rid, session.uid))) return { code: 500, error: 'enter a room first' };
    // The sender is who the session says, whatever `from` claims.
    const push = { msg: msg.content, from: session.uid.split('*')[0]!, target: msg.target };
    if (msg.target === '*') {
      await this.rooms.push(rid, 'onChat', push);
      return { code: 200 };
    }
    // Only the target hears it (as in chatofpomelo); the sender's page shows its own line.
    if (!(await this.rooms.pushTo(rid, `${msg.target}*${rid}`, 'onChat', push))) return { code: 500, error: `${msg.target} is not in this room` };
    return { code: 200 };
  }
}
