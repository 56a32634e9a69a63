// The failover bench's baseline: a bare node-zookeeper-client election (no Shaddock code), the
// textbook recipe: an EPHEMERAL_SEQUENTIAL node under <path>/lock, the lowest sequence number leads,
// every other candidate watches its predecessor. Prints `ready <pid>` once its node exists and
// `leading <pid>` when it leads. Usage: bare-election.ts <host:port> <path> <sessionTimeout ms>
import zookeeper from 'node-zookeeper-client';

const [servers, path, timeout] = process.argv.slice(2);
if (!servers || !path || !timeout) {
  process.stderr.write('usage: bare-election.ts <host:port> <path> <sessionTimeout ms>\n');
  process.exit(2);
}
const lock = `${path}/lock`;
const client = zookeeper.createClient(servers, { sessionTimeout: Number(timeout), spinDelay: 250, retries: 0 });
let mine = '';

function fail(error: unknown): never {
  process.stderr.write(`bare election: ${String(error)}\n`);
  process.exit(1);
}

const seq = (name: string): number => Number(/(\d{10})$/.exec(name)?.[1] ?? Number.NaN);

function check(): void {
  client.getChildren(lock, (error, children) => {
    if (error) return fail(error);
    const queue = children.filter((name) => !Number.isNaN(seq(name))).sort((a, b) => seq(a) - seq(b));
    const at = queue.indexOf(mine);
    if (at === 0) {
      process.stdout.write(`leading ${process.pid}\n`);
      return;
    }
    client.exists(`${lock}/${queue[at - 1]}`, () => check(), (e, stat) => {
      if (e) return fail(e);
      if (!stat) check();
    });
  });
}

client.once('connected', () => {
  client.mkdirp(lock, (error) => {
    if (error) return fail(error);
    client.create(`${lock}/n-`, zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL, (e, created) => {
      if (e) return fail(e);
      mine = created.slice(lock.length + 1);
      process.stdout.write(`ready ${process.pid}\n`);
      check();
    });
  });
});
client.connect();
process.on('SIGTERM', () => {
  client.close();
  setTimeout(() => process.exit(0), 200).unref();
});
