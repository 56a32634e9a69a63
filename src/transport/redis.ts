/**
 * The Redis client of global channels: ioredis to one server, to the master a Sentinel group
 * names, or to a Cluster, from the checked settings of `src/config/global-channel.ts`.
 *
 * Chosen for global channels in particular:
 * - auto-pipelining: the commands of one turn go out as one pipeline (per node, on a Cluster), so
 *   an `add` of four commands is one round trip and many adds share it;
 * - no offline queue: while Redis is away a call fails at once with a clear error instead of
 *   waiting for a reconnect nobody can bound; the client keeps reconnecting by itself.
 */
import { Cluster, Redis } from 'ioredis';
import type { RedisTarget } from '../config/global-channel.ts';

/** A connected (or connecting) client: a single server's or a Cluster's. */
export type RedisClient = Redis | Cluster;

/** ms between reconnect attempts: 50, 100, ... up to 1 s. */
export function reconnectDelay(attempt: number): number {
  return Math.min(attempt * 50, 1_000);
}

/**
 * Opens a client to `target`; `connectionName` shows in `CLIENT LIST` (the server id). It
 * connects at once and reconnects for ever; watch its `ready`, `close` and `end` events.
 *
 * @example
 * const redis = createRedis({ mode: 'standalone', host: '127.0.0.1', port: 6379, db: 0 }, 'connector-1');
 * redis.on('ready', () => console.log('up'));
 */
export function createRedis(target: RedisTarget, connectionName: string): RedisClient {
  const common = {
    connectionName,
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: reconnectDelay,
  };
  if (target.mode === 'cluster') {
    return new Cluster(target.nodes, {
      enableAutoPipelining: true,
      enableOfflineQueue: false,
      clusterRetryStrategy: reconnectDelay,
      redisOptions: { connectionName, maxRetriesPerRequest: 0, ...(target.password !== undefined ? { password: target.password } : {}) },
    });
  }
  if (target.mode === 'sentinel') {
    return new Redis({
      ...common,
      sentinels: target.sentinels,
      name: target.name,
      db: target.db,
      sentinelRetryStrategy: reconnectDelay,
      // A failover turns the master we talk to into a replica: reconnect to the new master.
      reconnectOnError: (error) => error.message.startsWith('READONLY'),
      ...(target.password !== undefined ? { password: target.password } : {}),
    });
  }
  return new Redis({
    ...common,
    host: target.host,
    port: target.port,
    db: target.db,
    ...(target.password !== undefined ? { password: target.password } : {}),
    ...(target.username !== undefined ? { username: target.username } : {}),
  });
}

/** `target` in words, without its password, for logs and errors. */
export function describeRedis(target: RedisTarget): string {
  if (target.mode === 'cluster') return `Redis Cluster ${target.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
  if (target.mode === 'sentinel') return `Redis master "${target.name}" of sentinels ${target.sentinels.map((n) => `${n.host}:${n.port}`).join(',')}`;
  return `Redis ${target.host}:${target.port}/${target.db}`;
}

/**
 * Every key matching `pattern`, by SCAN (never KEYS, which blocks Redis): on a Cluster, on each
 * master node.
 */
export async function scanKeys(client: RedisClient, pattern: string): Promise<string[]> {
  const nodes: Redis[] = client instanceof Cluster ? client.nodes('master') : [client];
  const found: string[] = [];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
  }
  return found;
}
