// The restart bench's app: bench/restart.ts starts it through the CLI (`shaddock start -D`); the
// master runs this file, and so does server `echo-1` each time the master (re)starts it.
import { createApp } from 'shaddock';

const app = createApp({ base: import.meta.dirname });
await app.start();
