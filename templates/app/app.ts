// The entry of every process of this cluster: the master and each server run this same file;
// `app.start()` picks the role from how the process was started (`shaddock start`).
import { createApp } from 'shaddock';

const app = createApp({ base: import.meta.dirname });

// Settings for one server type only, e.g. the frontends' client options:
app.configure('development|production', 'connector', (app) => {
  app.set('connectorConfig', { heartbeat: 10 });
});

await app.start();
