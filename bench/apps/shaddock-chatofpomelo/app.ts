// The chat bench's Shaddock app (bench/chat.ts starts it through the CLI, like the connector
// bench's): examples/chat as it is (`app/` is a link to examples/chat/app: its gate, connector and
// chat handlers and its chat remote, rooms in local channels), in the chatofpomelo topology of
// config/servers.json: a gate, 2 connectors, 2 chat servers, every free clientPort (`0`). What
// differs from examples/chat/app.ts: heartbeats every 10 s, as in the pinus app, no chat page, and
// BENCH_LOOP_DELAY_DIR (see bench/clients/loop-delay.cjs, preloaded through NODE_OPTIONS).
import { createApp, stableHash, type RouteParam } from 'shaddock';
import { profileOnExit } from '../cpu-profile.ts';

const app = createApp({ base: import.meta.dirname });

/** As in examples/chat/app.ts: the room a call is about, a session's `rid` or the rid itself. */
function roomOf(param: RouteParam): string {
  if (param && typeof param === 'object' && 'get' in param && typeof param.get === 'function') return String(param.get('rid') ?? '');
  return String(param);
}

app.configure((app) => {
  app.route('chat', (param, servers) => servers[stableHash(roomOf(param)) % servers.length]!);
});

app.configure('bench', 'gate|connector', (app) => {
  app.set('connectorConfig', { heartbeat: Number(process.env.BENCH_HEARTBEAT ?? 10), useDict: true });
});

// Profiling (README): BENCH_CPU_PROF_DIR, see ../cpu-profile.ts.
await profileOnExit(app);

await app.start();
