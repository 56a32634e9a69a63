// Who serves which remotes: with this, `app.rpc.game.gameRemote.greet(...)` is type-checked.
import type GameRemote from './servers/game/remote/gameRemote.ts';

declare module 'shaddock' {
  interface Remotes {
    game: { gameRemote: GameRemote };
  }
}
