// Declares the remotes and handlers of each server type, so that `app.rpc` and typed clients are
// checked everywhere.
import type ChatHandler from './servers/chat/handler/chatHandler.ts';
import type ChatRemote from './servers/chat/remote/chatRemote.ts';
import type EntryHandler from './servers/connector/handler/entryHandler.ts';
import type GateHandler from './servers/gate/handler/gateHandler.ts';

declare module 'shaddock' {
  interface Remotes {
    chat: { chatRemote: ChatRemote };
  }
  interface Handlers {
    chat: { chatHandler: ChatHandler };
    connector: { entryHandler: EntryHandler };
    gate: { gateHandler: GateHandler };
  }
}
