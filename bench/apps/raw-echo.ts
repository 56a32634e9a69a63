// The baseline's callee: plain nats.js, answering every request on BENCH_SUBJECT with the bytes it got.
// Prints "ready" on stdout once the subscription is known to the server; stops on SIGTERM or SIGINT.
import { connect } from '@nats-io/transport-node';

const servers = process.env.BENCH_NATS_URL;
const subject = process.env.BENCH_SUBJECT;
if (!servers || !subject) {
  console.error('raw-echo: set BENCH_NATS_URL and BENCH_SUBJECT');
  process.exit(2);
}

const nc = await connect({ servers, name: 'bench-raw-echo', noAsyncTraces: true });
nc.subscribe(subject, {
  callback: (error, msg) => {
    if (!error) msg.respond(msg.data);
  },
});
await nc.flush();
process.stdout.write('ready\n');

const stop = (): void => {
  void nc.close().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
