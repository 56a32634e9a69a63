// The connector and broadcast benches' Shaddock app (bench/apps/shaddock-chat/cluster.ts starts it
// through the CLI): one master, one `connector` frontend on any free clientPort (`"clientPort": 0`,
// the bound port is in `shaddock list --json`), one `chat` backend. The same topology as the pinus
// app in ../pinus-chat: no gate, the connector forwards `chat.*` requests to the chat server.
import { createApp } from 'shaddock';

const app = createApp({ base: import.meta.dirname });

// Clients heartbeat every 10 s, as in the pinus app; routes compressed by the dictionary (the
// handler routes plus config/dictionary.json's push route `onBlast`).
app.configure('bench', 'connector', (app) => {
  app.set('connectorConfig', { heartbeat: Number(process.env.BENCH_HEARTBEAT ?? 10), useDict: true });
});

// Profiling (README): BENCH_CPU_PROF_DIR=<dir> writes <dir>/<server id>.cpuprofile when each server
// exits (the master spawns servers itself, and --cpu-prof is not allowed in NODE_OPTIONS).
const profileDir = process.env.BENCH_CPU_PROF_DIR;
if (profileDir && app.getServerType() !== 'master') {
  const { Session } = await import('node:inspector');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  process.once('exit', () => {
    // An in-process inspector session answers synchronously, so this works in an exit handler.
    session.post('Profiler.stop', (error, result) => {
      if (!error) writeFileSync(`${profileDir}/${app.getServerId()}.cpuprofile`, JSON.stringify(result.profile));
    });
  });
}

await app.start();
