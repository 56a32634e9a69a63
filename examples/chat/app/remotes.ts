// Declares which remotes each server type serves, so that `app.rpc` is type-checked everywhere.
import type ChatRemote from './servers/chat/remote/chatRemote.ts';
import type EntryRemote from './servers/connector/remote/entryRemote.ts';
import type GateRemote from './servers/gate/remote/gateRemote.ts';

declare module 'shaddock' {
  interface Remotes {
    chat: { chatRemote: ChatRemote };
    connector: { entryRemote: EntryRemote };
    gate: { gateRemote: GateRemote };
  }
}
