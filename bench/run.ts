// `npm run bench -- <name> [--json]`: runs one bench and prints its rows (see bench/README.md).
import { ensureBenchPackage } from './clients/deps.ts';
import type { ReportOptions } from './report.ts';

export interface Bench {
  /** One line for the usage text. */
  description: string;
  /** Loads the bench module only when it is the one asked for. */
  load: () => Promise<{ run(options: ReportOptions): Promise<void> }>;
}

/** Every bench, by the name given on the command line. Add new ones here. */
export const benches: Record<string, Bench> = {
  rpc: {
    description: 'RPC round trips/s between two server processes (1 and 1,000 in flight) vs nats.js request/reply',
    load: () => import('./rpc.ts'),
  },
  restart: {
    description: 'ms from kill -9 of an auto-restart server to its restart answering RPC (median of BENCH_KILLS, default 20) vs a bare fork supervisor',
    load: () => import('./restart.ts'),
  },
  connector: {
    description: 'requests/s and p99 through a connector to a chat backend, 100 and 1,000 WebSocket clients in closed loops, vs pinus 1.7.4',
    load: () => import('./connector.ts'),
  },
  failover: {
    description: 'ms from kill -9 of the leading master to a standby leading and answering admin (median of BENCH_KILLS, default 10) vs a bare node-zookeeper-client election; servers restarted and clients dropped',
    load: () => import('./failover.ts'),
  },
  broadcast: {
    description: 'channel push fan-out to 1,000 and 5,000 WebSocket clients (deliveries/s) and frontend RSS per idle connection, vs a bare ws server',
    load: () => import('./broadcast.ts'),
  },
  chat: {
    description: 'chatofpomelo topology (gate, 2 connectors, 2 chat servers): requests/s, pushes/s, p50/p99/p99.9 at 200 and 1,000 clients, one push and room broadcast, vs pinus 1.7.4',
    load: () => import('./chat.ts'),
  },
  'global-channel': {
    description: 'global channels: add/leave ops/s vs raw auto-pipelined ioredis, and push to 10,000 members over 2 frontends (deliveries/s) vs a local channel',
    load: () => import('./global-channel.ts'),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(benches).map((name) => name.length));
  const list = Object.entries(benches).map(([name, bench]) => `  ${name.padEnd(width)}  ${bench.description}`);
  return [
    'usage: npm run bench -- <bench> [--json]',
    '',
    'benches:',
    ...list,
    '',
    'options:',
    '  --json  one JSON object per result row on stdout instead of a table',
    '',
    'environment:',
    '  BENCH_SECONDS  seconds each measured run lasts (default 3)',
    '  (chat: BENCH_CHAT_CLIENTS, BENCH_CHAT_MODES, BENCH_ROUNDS, BENCH_SIDES; see bench/README.md)',
  ].join('\n');
}

const args = process.argv.slice(2);
const name = args.find((arg) => !arg.startsWith('-'));
const unknownFlags = args.filter((arg) => arg.startsWith('-') && arg !== '--json');
const bench = name === undefined ? undefined : Object.hasOwn(benches, name) ? benches[name] : undefined;
if (!bench || unknownFlags.length > 0) {
  if (name !== undefined && !bench) process.stderr.write(`unknown bench "${name}"\n\n`);
  if (unknownFlags.length > 0) process.stderr.write(`unknown option ${unknownFlags.join(' ')}\n\n`);
  process.stderr.write(`${usage()}\n`);
  process.exit(1);
}

// bench/ is its own npm package (pinus, and the link that lets bench code import 'shaddock'): install it first if needed.
ensureBenchPackage();
const module = await bench.load();
await module.run({ json: args.includes('--json') });
