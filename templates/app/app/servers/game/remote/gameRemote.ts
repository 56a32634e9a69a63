/** Called by other servers over NATS: `app.rpc.game.gameRemote.greet(routeParam, name)`. */
export default class GameRemote {
  private readonly greeted = new Map<string, number>();

  /** A greeting, and how many times this server has greeted `name`. */
  greet(name: string): { text: string; times: number } {
    const times = (this.greeted.get(name) ?? 0) + 1;
    this.greeted.set(name, times);
    return { text: `hello, ${name}`, times };
  }
}
