import type { Application, FrontendSession } from 'shaddock';

export default class EntryHandler {
  constructor(private readonly app: Application) {}

  /** Broadcast bench: binds the session to `uid` (one client per uid). */
  async enter(msg: { uid?: string }, session: FrontendSession): Promise<{ code: 200 } | { code: 500; error: string }> {
    if (typeof msg.uid !== 'string' || msg.uid === '') return { code: 500, error: 'uid required' };
    await session.bind(msg.uid);
    return { code: 200 };
  }
}
