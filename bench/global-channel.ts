// Global channels: add/leave operations per second through globalChannelService vs raw ioredis
// (auto-pipelining, the same SADD/SREM on the same keys), and pushMessage fan-out to a channel of
// 10,000 members over 2 frontends vs a local channel of the same members, in the same run, on an
// embedded redis-server and nats-server. See bench/README.md.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { startEmbeddedNats, type EmbeddedNats } from '../src/actors/master/embedded-broker.ts';
import { startMastersRedis, type EmbeddedRedis } from '../src/actors/master/embedded-redis.ts';
import { ChannelService } from '../src/actors/channel/channel.ts';
import { GlobalChannelKeys } from '../src/actors/channel/global-channel-store.ts';
import { GlobalChannelService } from '../src/actors/channel/global-channel-service.ts';
import { globalChannelSettings } from '../src/config/global-channel.ts';
import { pino } from 'pino';
import { decode, encode } from '../src/transport/codec.ts';
import { subjects as buildSubjects } from '../src/transport/subjects.ts';
import type { PushMessage } from '../src/transport/wire.ts';
import { note, printRows, row, type ReportOptions, type Row } from './report.ts';

const BENCH = 'global-channel';
/** add/leave pairs in flight at once, for both sides. */
const IN_FLIGHT = 256;
const MEMBERS = 10_000;
const FRONTENDS = ['connector-1', 'connector-2'] as const;
/** Pushes in flight at once (a push is done when every frontend has it). */
const PUSH_WINDOW = 4;
const ROUNDS = 2;

export async function run(options: ReportOptions): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 3);
  if (!(seconds > 0)) throw new Error(`BENCH_SECONDS must be a positive number (got "${process.env.BENCH_SECONDS}")`);
  let redis: EmbeddedRedis | undefined;
  let nats: EmbeddedNats | undefined;
  let nc: NatsConnection | undefined;
  let service: GlobalChannelService | undefined;
  let raw: Redis | undefined;
  try {
    [redis, nats] = await Promise.all([startMastersRedis(), startEmbeddedNats()]);
    nc = await connect({ servers: nats.url });
    const subjects = buildSubjects('shaddock', 'bench');
    const settings = globalChannelSettings({ url: redis.url, prefix: 'bench' }, { env: 'bench', cluster: 'bench' });
    service = new GlobalChannelService({
      settings,
      serverId: 'chat-1',
      frontend: false,
      nc,
      subjects,
      frontendsOfType: () => [...FRONTENDS],
      // Progress and logs go to stderr: stdout is the result rows (`--json`).
      logger: pino({ name: 'bench', level: process.env.SHADDOCK_LOG_LEVEL ?? 'warn' }, pino.destination(2)),
      connectTimeout: 10_000,
    });
    await service.start();
    raw = new Redis(redis.url, { enableAutoPipelining: true });
    const keys = new GlobalChannelKeys(settings.prefix);
    const rows: Row[] = [];

    note(`add/leave, ${IN_FLIGHT} in flight, ${ROUNDS} rounds of ${seconds} s each side`);
    const gcs = service;
    const direct = raw;
    const serviceOp = async (i: number): Promise<void> => {
      await gcs.add(`room-${i % 100}`, `u${i}`, FRONTENDS[i % 2]!);
      await gcs.leave(`room-${i % 100}`, `u${i}`, FRONTENDS[i % 2]!);
    };
    // The commands the service sends for one add and one leave (global-channel-store.ts).
    const rawOp = async (i: number): Promise<void> => {
      const name = `room-${i % 100}`;
      const uid = `u${i}`;
      const sid = FRONTENDS[i % 2]!;
      await Promise.all([
        direct.sadd(keys.members(name, sid), uid),
        direct.sadd(keys.frontends(name), sid),
        direct.sadd(keys.channelsOf(sid), name),
        direct.sadd(keys.userChannels(sid, uid), name),
        direct.incr(keys.version(name)),
      ]);
      await Promise.all([direct.srem(keys.members(name, sid), uid), direct.srem(keys.userChannels(sid, uid), name), direct.incr(keys.version(name))]);
    };
    // Alternating rounds, best of each: neither side gets the cold start or the busier moment alone.
    let viaService = 0;
    let viaRaw = 0;
    for (let round = 0; round < ROUNDS; round++) {
      viaRaw = Math.max(viaRaw, await closedLoop(seconds, rawOp));
      viaService = Math.max(viaService, await closedLoop(seconds, serviceOp));
    }
    rows.push(row({ bench: BENCH, case: 'add+leave', shaddock: (viaService * 2) / seconds, baseline: 'raw ioredis, auto-pipelined, same commands', baselineValue: (viaRaw * 2) / seconds, unit: 'ops/s' }));

    note(`push to ${MEMBERS} members over ${FRONTENDS.length} frontends, ${ROUNDS} rounds of ${seconds} s each side`);
    const local = new ChannelService((frontendId, push) => nc!.publish(subjects.push(frontendId), encode(push)), () => [...FRONTENDS]);
    const channel = local.createChannel('big');
    for (let i = 0; i < MEMBERS; i++) {
      const sid = FRONTENDS[i % 2]!;
      channel.add(`m${i}`, sid);
      await gcs.add('big', `m${i}`, sid);
    }
    const frontends = await receivers(nc, subjects.push.bind(subjects));
    let globalRate = 0;
    let localRate = 0;
    for (let round = 0; round < ROUNDS; round++) {
      localRate = Math.max(localRate, await pushLoop(seconds, frontends, () => channel.pushMessage('onBlast', { n: 1 })));
      globalRate = Math.max(globalRate, await pushLoop(seconds, frontends, () => gcs.pushMessage('connector', 'onBlast', { n: 1 }, 'big')));
    }
    frontends.stop();
    rows.push(row({ bench: BENCH, case: `push ${MEMBERS} members / ${FRONTENDS.length} frontends`, shaddock: globalRate, baseline: 'local channel, same members', baselineValue: localRate, unit: 'deliveries/s' }));
    printRows(rows, options);
  } finally {
    raw?.disconnect();
    await service?.stop();
    await nc?.close();
    await nats?.stop();
    await redis?.stop();
  }
}

/** Runs `op` with IN_FLIGHT loops for `seconds`; returns how many ops completed. */
async function closedLoop(seconds: number, op: (i: number) => Promise<void>): Promise<number> {
  const until = performance.now() + seconds * 1_000;
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (performance.now() < until) {
        await op(next++);
        done++;
      }
    }),
  );
  return done;
}

interface Receivers {
  /** uids delivered so far, over every frontend. */
  readonly delivered: number;
  /** Pushes every frontend has received so far (the smallest count). */
  readonly complete: number;
  /** Resolves when `complete` reaches `count`. */
  until(count: number): Promise<void>;
  stop(): void;
}

/** Subscribes as each frontend would, counting uids and pushes. */
async function receivers(nc: NatsConnection, pushSubject: (frontendId: string) => string): Promise<Receivers> {
  const counts = FRONTENDS.map(() => 0);
  let delivered = 0;
  let waiting: { count: number; resolve: () => void } | undefined;
  const complete = (): number => Math.min(...counts);
  const subscriptions = FRONTENDS.map((frontendId, i) =>
    nc.subscribe(pushSubject(frontendId), {
      callback: (_error, msg) => {
        delivered += decode<PushMessage>(msg.data).uids?.length ?? 0;
        counts[i]!++;
        if (waiting && complete() >= waiting.count) {
          const { resolve } = waiting;
          waiting = undefined;
          resolve();
        }
      },
    }),
  );
  await nc.flush();
  return {
    get delivered() {
      return delivered;
    },
    get complete() {
      return complete();
    },
    until: (count) => (complete() >= count ? Promise.resolve() : new Promise((resolve) => (waiting = { count, resolve }))),
    stop: () => subscriptions.forEach((subscription) => subscription.unsubscribe()),
  };
}

/** Pushes for `seconds` with PUSH_WINDOW in flight; returns uids delivered per second. */
async function pushLoop(seconds: number, frontends: Receivers, push: () => Promise<unknown>): Promise<number> {
  const base = frontends.complete;
  const startDelivered = frontends.delivered;
  const started = performance.now();
  const until = started + seconds * 1_000;
  let sent = 0;
  while (performance.now() < until) {
    await push();
    sent++;
    await frontends.until(base + sent - PUSH_WINDOW + 1);
  }
  await frontends.until(base + sent);
  return ((frontends.delivered - startDelivered) * 1_000) / (performance.now() - started);
}
