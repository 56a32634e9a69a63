// The chat example's entry: the same file runs as the master and as every server
// (`shaddock start -d examples/chat`, or `npm start` at the repository root).
import { createApp, routeKey, stableHash } from 'shaddock';
import './app/remotes.ts';

const app = createApp({ base: import.meta.dirname });

// Rooms live on chat servers: every call about room `rid` goes to the same chat server.
app.configure('production|development', (app) => {
  app.route('chat', (rid, servers) => servers[stableHash(routeKey(rid)) % servers.length]!);
});

// Chat servers say goodbye to their rooms before they stop: that before-stop hook is registered
// by ChatRemote's constructor (app/servers/chat/remote/chatRemote.ts), which holds the rooms.

await app.start();
