// The connector and broadcast benches' Shaddock app (bench/apps/shaddock-chat/cluster.ts starts it
// through the CLI): one master, one `connector` frontend on any free clientPort (`"clientPort": 0`,
// the bound port is in `shaddock list --json`), one `chat` backend. The same topology as the pinus
// app in ../pinus-chat: no gate, the connector forwards `chat.*` requests to the chat server.
import { createApp } from 'shaddock';
import { profileOnExit } from '../cpu-profile.ts';

const app = createApp({ base: import.meta.dirname });

// Clients heartbeat every 10 s, as in the pinus app; routes compressed by the dictionary (the
// handler routes plus config/dictionary.json's push route `onBlast`).
app.configure('bench', 'connector', (app) => {
  app.set('connectorConfig', { heartbeat: Number(process.env.BENCH_HEARTBEAT ?? 10), useDict: true });
});

// Profiling (README): BENCH_CPU_PROF_DIR, see ../cpu-profile.ts.
await profileOnExit(app);

await app.start();
