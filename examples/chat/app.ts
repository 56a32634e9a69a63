// The chat example's entry: the same file runs as the master and as every server
// (`shaddock start -d examples/chat`, or `npm start` at the repository root).
import { createApp, stableHash, type RouteParam } from 'shaddock';
import './app/remotes.ts';

const app = createApp({ base: import.meta.dirname });

/** The room a call is about: a session's `rid` (client requests, remotes called with the session), or the rid itself. */
function roomOf(param: RouteParam): string {
  if (param && typeof param === 'object' && 'get' in param && typeof param.get === 'function') return String(param.get('rid') ?? '');
  return String(param);
}

app.configure((app) => {
  // Rooms live on chat servers: every request and call about room `rid` goes to the same chat server.
  app.route('chat', (param, servers) => servers[stableHash(roomOf(param)) % servers.length]!);
});

// Clients: heartbeat every 3 s (dropped after 6 s of silence), routes compressed by the dictionary
// (handler routes plus the push routes in config/dictionary.json). Tests use 1 s.
app.configure('all', 'gate|connector', (app) => {
  app.set('connectorConfig', { heartbeat: app.env === 'test' || app.env === 'global' ? 1 : 3, useDict: true });
});

// Environment `ha`: master HA. The masters elect a leader in ZooKeeper (--zk or SHADDOCK_ZK say
// where; 127.0.0.1:2181 otherwise); config/masterha.json lists the standby. A dead leader's
// session ends 3 s after it dies, and a standby leads then.
app.configure('ha', (app) => {
  app.enable('masterHA');
  app.set('masterHAConfig', { server: '127.0.0.1:2181', timeout: 3_000 });
});

// Environments `development` (npm start) and `global`: the rooms are global channels
// (app/rooms.ts), their members in Redis, so a kill -9 of a chat server loses no one. No Redis is
// configured: the master starts an embedded redis-server (or give one: --redis
// redis://host:port, or SHADDOCK_REDIS_URL). The other environments keep local channels.
app.configure('development|global', (app) => app.enable('globalChannel'));

// Chat servers say goodbye to their rooms before they stop: that before-stop hook is registered
// by ChatRemote's constructor (app/servers/chat/remote/chatRemote.ts), which holds the rooms.

await app.start();

// The master also serves the chat page (web/) and the browser client SDK, like chatofpomelo's
// web-server: http://127.0.0.1:3001/ (SHADDOCK_WEB_PORT to change it; tests use any free port).
if (app.getServerType() === 'master') {
  const { startWebServer } = await import('./web-server.ts');
  try {
    const port = Number(process.env.SHADDOCK_WEB_PORT ?? (app.env === 'test' || app.env === 'ha' || app.env === 'global' ? 0 : 3001));
    const web = await startWebServer({ port });
    app.logger.info({ url: web.url }, `chat page: ${web.url}`);
    process.once('exit', () => void web.close());
  } catch (error) {
    // The cluster runs without its page (e.g. the port is taken); say why.
    app.logger.warn({ error: String(error) }, 'chat page not served');
  }
}
