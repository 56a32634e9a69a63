// The bare supervisor's child (see bare-supervisor.mjs), on plain node: connects to NATS, answers every request on
// BENCH_SUBJECT with its pid (decimal text), then tells its parent "ready". Nothing else.
import { connect } from '@nats-io/transport-node';

const servers = process.env.BENCH_NATS_URL;
const subject = process.env.BENCH_SUBJECT;
if (!servers || !subject || !process.send) {
  console.error('bare-echo: fork it with an IPC channel and set BENCH_NATS_URL and BENCH_SUBJECT');
  process.exit(2);
}

const nc = await connect({ servers, name: 'bench-bare-echo', noAsyncTraces: true });
const reply = new TextEncoder().encode(String(process.pid));
nc.subscribe(subject, {
  callback: (error, msg) => {
    if (!error) msg.respond(reply);
  },
});
await nc.flush();
process.send('ready');
// Orphaned (the supervisor is gone): leave too.
process.once('disconnect', () => process.exit(0));
process.once('SIGTERM', () => {
  void nc.close().finally(() => process.exit(0));
});
