// The restart bench's app, in plain JavaScript so that its master and its server run on plain node
// (the compiled package, no loader): bench/restart.ts starts it through the CLI (`shaddock start
// -D`); the master runs this file, and so does server `echo-1` each time the master (re)starts it.
import { createApp } from 'shaddock';

const app = createApp({ base: import.meta.dirname });
await app.start();
