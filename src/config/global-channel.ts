/**
 * Global channels' Redis, Pomelo's way: `app.enable('globalChannel')` and
 * `app.set('globalChannelConfig', { host, port, db?, password?, prefix?, url?, sentinels?, name?,
 * cluster?, cleanOnStartUp? })` in the app entry (the keys of pomelo-globalchannel-plugin, plus
 * ioredis's Sentinel and Cluster modes). `--redis <url>` or `SHADDOCK_REDIS_URL` win over the
 * connection fields. Checked when a process starts; a bad field stops it, named.
 */
import { z } from 'zod';
import { ConfigError } from './errors.ts';

/** What `globalChannelConfig` is called in error messages (it is not a file). */
export const GLOBAL_CHANNEL_CONFIG = "app.set('globalChannelConfig')";

/** A Redis node, `host` and `port`. */
export interface RedisNode {
  host: string;
  port: number;
}

/** How to reach Redis: one server, a Sentinel-watched master, or a Cluster. */
export type RedisTarget =
  | { mode: 'standalone'; host: string; port: number; db: number; password?: string; username?: string }
  | { mode: 'sentinel'; sentinels: RedisNode[]; name: string; db: number; password?: string }
  | { mode: 'cluster'; nodes: RedisNode[]; password?: string };

/** The global channel service's settings, complete. */
export interface GlobalChannelSettings {
  target: RedisTarget;
  /** Start of every key; default `shaddock:<cluster>:channel`. */
  prefix: string;
  /** A frontend removes its own stale memberships as it starts (default true). */
  cleanOnStartUp: boolean;
}

const node = z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65535) }).strict();

const schema = z
  .object({
    host: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    db: z.number().int().min(0).max(15).optional(),
    password: z.string().min(1).optional(),
    prefix: z.string().regex(/^[^\s{}*?[\]]+$/, 'expected a non-empty string without spaces, braces or glob characters').optional(),
    url: z.string().optional(),
    sentinels: z.array(node).min(1).optional(),
    name: z.string().min(1).optional(),
    cluster: z.array(node).min(1).optional(),
    cleanOnStartUp: z.boolean().optional(),
  })
  .strict();

type Raw = z.infer<typeof schema>;

/**
 * The Redis URL given outside the app (`--redis`, which the CLI puts in `SHADDOCK_REDIS_URL`), or
 * undefined.
 */
export function redisUrlOverride(environment: NodeJS.ProcessEnv = process.env): string | undefined {
  const url = environment['SHADDOCK_REDIS_URL'];
  return url === undefined || url === '' ? undefined : url;
}

/** Whether the app names a Redis at all (else the master starts an embedded one). */
export function redisConfigured(raw: unknown, url: string | undefined): boolean {
  if (url !== undefined) return true;
  if (typeof raw !== 'object' || raw === null) return false;
  const config = raw as Record<string, unknown>;
  return ['host', 'port', 'url', 'sentinels', 'cluster'].some((key) => config[key] !== undefined);
}

/**
 * The settings from `globalChannelConfig` (unchecked, as the app set it) and the URL override;
 * throws a ConfigError naming the field at fault.
 *
 * @example
 * globalChannelSettings({ host: '127.0.0.1', port: 6379 }, { env: 'development', cluster: 'chat' });
 * // { target: { mode: 'standalone', host: '127.0.0.1', port: 6379, db: 0 }, prefix: 'shaddock:chat:channel', cleanOnStartUp: true }
 */
export function globalChannelSettings(raw: unknown, where: { env: string; cluster: string; url?: string }): GlobalChannelSettings {
  const fail = (field: string | undefined, problem: string): never => {
    throw new ConfigError(problem, { file: GLOBAL_CHANNEL_CONFIG, env: where.env, ...(field ? { field } : {}) });
  };
  if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) fail(undefined, 'expected an object { host, port, db?, password?, prefix?, url?, sentinels?, name?, cluster?, cleanOnStartUp? }');
  const parsed = schema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const unknownKey = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
    const field = unknownKey ?? issue.path.map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i ? '.' : ''}${String(part)}`)).join('');
    return fail(field || undefined, unknownKey ? `unknown field (expected one of ${Object.keys(schema.shape).join(', ')})` : issue.message);
  }
  const config = parsed.data;
  const modes = (['sentinels', 'cluster', 'url'] as const).filter((key) => config[key] !== undefined);
  if (modes.length > 1) fail(modes[1], `give one of url, sentinels and cluster, not ${modes.join(' and ')}`);
  if (config.name !== undefined && config.sentinels === undefined) fail('name', 'name is the Sentinel master group: it needs sentinels');
  const base = { prefix: config.prefix ?? `shaddock:${where.cluster}:channel`, cleanOnStartUp: config.cleanOnStartUp ?? true };
  if (where.url !== undefined) return { ...base, target: fromUrl(where.url, 'SHADDOCK_REDIS_URL', fail) };
  return { ...base, target: targetOf(config, fail) };
}

function targetOf(config: Raw, fail: (field: string, problem: string) => never): RedisTarget {
  const password = config.password !== undefined ? { password: config.password } : {};
  if (config.sentinels) {
    if (config.name === undefined) return fail('name', 'the Sentinel master group name is required with sentinels');
    return { mode: 'sentinel', sentinels: config.sentinels, name: config.name, db: config.db ?? 0, ...password };
  }
  if (config.cluster) {
    if (config.db !== undefined && config.db !== 0) return fail('db', 'Redis Cluster has only db 0');
    return { mode: 'cluster', nodes: config.cluster, ...password };
  }
  if (config.url !== undefined) {
    const target = fromUrl(config.url, 'url', fail);
    return target.mode === 'standalone' && config.db !== undefined ? { ...target, db: config.db } : target;
  }
  return { mode: 'standalone', host: config.host ?? '127.0.0.1', port: config.port ?? 6379, db: config.db ?? 0, ...password };
}

/** `redis://[user:password@]host[:port][/db]`. */
function fromUrl(url: string, field: string, fail: (field: string, problem: string) => never): RedisTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return fail(field, `expected redis://[user:password@]host[:port][/db], got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'redis:') return fail(field, `only redis:// URLs are supported, got ${JSON.stringify(parsed.protocol)}`);
  if (parsed.hostname === '') return fail(field, `no host in ${JSON.stringify(url)}`);
  const port = parsed.port === '' ? 6379 : Number(parsed.port);
  const path = parsed.pathname.replace(/^\//, '');
  const db = path === '' ? 0 : Number(path);
  if (!Number.isInteger(db) || db < 0 || db > 15) return fail(field, `the db in ${JSON.stringify(url)} must be 0 to 15`);
  const password = parsed.password !== '' ? { password: decodeURIComponent(parsed.password) } : {};
  const username = parsed.username !== '' ? { username: decodeURIComponent(parsed.username) } : {};
  return { mode: 'standalone', host: parsed.hostname.replace(/^\[|\]$/g, ''), port, db, ...password, ...username };
}
