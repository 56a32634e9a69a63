// The RPC bench's app: bench/rpc.ts spawns this file as server `echo-1`, and runs as `caller-1` itself.
import { createApp } from 'shaddock';
import './app/remotes.ts';

const app = createApp({ base: import.meta.dirname });
await app.start();
