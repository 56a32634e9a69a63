import { ConfigError } from '../../config/errors.ts';
import { GLOBAL_CHANNEL_CONFIG, globalChannelSettings, redisConfigured, redisUrlOverride } from '../../config/global-channel.ts';
import type { ClusterConfig } from '../../config/types.ts';
import type { Logger } from '../../logger.ts';
import { createRedis, describeRedis, type RedisClient } from '../../transport/redis.ts';
import type { AppHost } from '../app/host.ts';
import { GlobalChannelStore } from '../channel/global-channel-store.ts';
import { startMastersRedis, type EmbeddedRedis } from './embedded-redis.ts';

/**
 * The master's part in global channels, when the app enables them: it starts an embedded
 * `redis-server` when no Redis is configured (its URL reaches the servers in
 * `SHADDOCK_REDIS_URL`), and, while it leads, removes the memberships of a frontend it sees go
 * down, so that a frontend killed with -9 leaves no member behind even if it never restarts.
 */
export class MasterGlobalChannels {
  private constructor(
    private readonly redis: RedisClient,
    private readonly store: GlobalChannelStore,
    private readonly logger: Logger,
    /** The embedded redis-server, when this master started one. */
    readonly embedded: EmbeddedRedis | undefined,
  ) {}

  /** Undefined without `app.enable('globalChannel')`; throws a ConfigError on a bad globalChannelConfig. */
  static async open<App>(host: AppHost<App>, config: ClusterConfig): Promise<MasterGlobalChannels | undefined> {
    if (!host.enabled('globalChannel')) return undefined;
    const raw = host.globalChannelConfig();
    let url = redisUrlOverride();
    const where = { env: config.env, cluster: config.master.cluster };
    // Checked before anything starts: a bad field stops the master, named.
    if (redisConfigured(raw, url)) globalChannelSettings(raw, { ...where, ...(url !== undefined ? { url } : {}) });
    let embedded: EmbeddedRedis | undefined;
    if (url === undefined && !redisConfigured(raw, url)) {
      // Each master would start its own, and the members would die with the leader.
      if (host.enabled('masterHA')) {
        throw new ConfigError("globalChannel with masterHA needs a Redis that outlives a master, and none is configured: set globalChannelConfig's host and port (or url, sentinels, cluster), or pass --redis / SHADDOCK_REDIS_URL", { file: GLOBAL_CHANNEL_CONFIG, env: config.env });
      }
      embedded = await startMastersRedis();
      url = embedded.url;
      // The servers this master spawns inherit it.
      process.env.SHADDOCK_REDIS_URL = url;
      host.logger.info({ url, redisPid: embedded.pid }, 'started embedded redis-server for global channels');
    }
    const settings = globalChannelSettings(raw, { ...where, ...(url !== undefined ? { url } : {}) });
    const redis = createRedis(settings.target, config.master.id);
    redis.on('error', (error: Error) => host.logger.debug({ err: error }, 'redis client error'));
    host.logger.info({ redis: describeRedis(settings.target) }, 'global channels: this master cleans up after frontends that go down');
    return new MasterGlobalChannels(redis, new GlobalChannelStore(redis, settings.prefix), host.logger, embedded);
  }

  /** A frontend went down: its memberships go, unless it is back by the time Redis is asked. */
  frontendGone(id: string, backAlready: () => boolean): void {
    if (backAlready()) return;
    this.store.cleanFrontend(id).then(
      (channels) => this.logger.info({ server: id, channels }, `removed the global channel memberships of ${id}, which is down (${channels} channels)`),
      (error: unknown) => this.logger.warn({ err: error, server: id }, `could not remove the global channel memberships of ${id}: ${(error as Error).message}`),
    );
  }

  /** Closes the client, then stops the embedded redis-server (after every server has stopped). */
  async stop(): Promise<void> {
    this.redis.disconnect();
    await this.embedded?.stop();
  }
}
