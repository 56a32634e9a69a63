// The idle-RSS baseline of bench/plain-node.ts: a bare node process connected to NATS, subscribed
// to one subject and answering it, in plain JavaScript (no loader). Prints "bare ready" on stdout
// once the subscription is flushed. Nothing else.
import { connect } from '@nats-io/transport-node';

const nc = await connect({ servers: process.env.SHADDOCK_NATS_URL, name: 'bench-bare-nats', noAsyncTraces: true });
const reply = new TextEncoder().encode(String(process.pid));
nc.subscribe('bench.bare.echo', { callback: (error, msg) => { if (!error) msg.respond(reply); } });
await nc.flush();
console.log('bare ready');
process.once('SIGTERM', () => void nc.close().finally(() => process.exit(0)));
