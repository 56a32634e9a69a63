import type { Application, Session } from 'shaddock';

/** The channel the broadcast bench fills. */
const CHANNEL = 'bench';

export default class ChatHandler {
  constructor(private readonly app: Application) {}

  /** The connector bench's route: forwarded by the connector, a small JSON answer (as in the pinus app). */
  async send(msg: { rid?: string; content?: string }, _session: Session): Promise<{ code: 200; route: string; from: string; echo: string | undefined }> {
    return { code: 200, route: 'onChat', from: this.app.getServerId(), echo: msg.content };
  }

  /** Broadcast bench: the session (bound by connector.entryHandler.enter) joins channel `bench`. */
  async join(_msg: Record<string, never>, session: Session): Promise<{ code: 200 } | { code: 500; error: string }> {
    if (session.uid === undefined) return { code: 500, error: 'enter first' };
    this.app.get('channelService').getChannel(CHANNEL, true)!.add(session.uid, session.frontendId);
    return { code: 200 };
  }

  /** Broadcast bench's warm-up: the session leaves channel `bench` again. */
  async leave(_msg: Record<string, never>, session: Session): Promise<{ code: 200 }> {
    if (session.uid !== undefined) this.app.get('channelService').getChannel(CHANNEL)?.leave(session.uid, session.frontendId);
    return { code: 200 };
  }

  /** Broadcast bench's trigger: `count` pushes of `onBlast` to every member of channel `bench`. */
  async blast(msg: { count?: number }, _session: Session): Promise<{ code: 200; members: number } | { code: 500; error: string }> {
    const channel = this.app.get('channelService').getChannel(CHANNEL);
    if (!channel) return { code: 500, error: 'nobody joined' };
    const count = Math.max(1, Math.min(1_000, Math.floor(msg.count ?? 1)));
    const pushes: Promise<void>[] = [];
    for (let seq = 0; seq < count; seq++) pushes.push(channel.pushMessage('onBlast', { seq, text: 'blast' }));
    await Promise.all(pushes);
    return { code: 200, members: channel.size };
  }
}
