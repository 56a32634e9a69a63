// Types `app.rpc.echo.echoRemote` for the bench (bench/rpc.ts is the `caller`).
import type EchoRemote from './servers/echo/remote/echoRemote.ts';

declare module 'shaddock' {
  interface Remotes {
    echo: { echoRemote: EchoRemote };
  }
}
