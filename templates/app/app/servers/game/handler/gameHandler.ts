import type { Application, Session } from 'shaddock';

/** Reached by clients with the route `game.gameHandler.<method>`, forwarded by the connector. */
export default class GameHandler {
  constructor(private readonly app: Application) {}

  /** Greets the client through the game servers' remote: the route parameter (`msg.name`) picks the server. */
  async hello(msg: { name?: string }, _session: Session): Promise<{ code: number; text: string; times: number; server: string }> {
    const name = msg.name ?? 'stranger';
    const { text, times } = await this.app.rpc.game.gameRemote.greet(name, name);
    return { code: 200, text, times, server: this.app.getServerId() };
  }
}
