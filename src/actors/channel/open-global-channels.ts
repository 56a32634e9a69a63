import type { GlobalChannelSettings } from '../../config/global-channel.ts';
import type { ClusterConfig, ServerEntry } from '../../config/types.ts';
import type { AppHost, AppRuntime } from '../app/host.ts';
import type { GlobalChannelService } from './global-channel-service.ts';

/**
 * A server's global channel settings, when the app enables them: checked before the server
 * starts, so that a bad field stops it, named. Undefined without `app.enable('globalChannel')`.
 * The checks (and zod, their validator) load only in a server whose app enables global channels.
 */
export async function globalChannelsOf(host: Pick<AppHost, 'enabled' | 'globalChannelConfig'>, config: ClusterConfig): Promise<GlobalChannelSettings | undefined> {
  if (!host.enabled('globalChannel')) return undefined;
  const { globalChannelSettings, redisConfigured, redisUrlOverride } = await import('../../config/global-channel.ts');
  const raw = host.globalChannelConfig();
  const url = redisUrlOverride();
  if (!redisConfigured(raw, url)) {
    throw new Error(
      "globalChannel is enabled but no Redis is given: set app.set('globalChannelConfig', { host, port }) (or url, sentinels, cluster), pass --redis <url> or SHADDOCK_REDIS_URL, or start the server through the master, which starts an embedded redis-server",
    );
  }
  return globalChannelSettings(raw, { env: config.env, cluster: config.master.cluster, ...(url !== undefined ? { url } : {}) });
}

/**
 * Makes this server's `globalChannelService`, provides it to the app, and connects it. The service
 * (and ioredis with it, about 20 MB of a process's RSS) loads only here, in a server whose app
 * enables global channels.
 */
export async function openGlobalChannels<App>(host: AppHost<App>, settings: GlobalChannelSettings, entry: ServerEntry, runtime: AppRuntime, connectTimeout: number): Promise<GlobalChannelService> {
  const { GlobalChannelService } = await import('./global-channel-service.ts');
  const service = new GlobalChannelService({
    settings,
    serverId: entry.id,
    frontend: entry.frontend,
    nc: runtime.nc,
    subjects: runtime.subjects,
    frontendsOfType: (type) => runtime.directory.ofType(type).filter((server) => server.frontend).map((server) => server.id),
    logger: host.logger,
    connectTimeout,
  });
  host.provide('globalChannelService', service);
  try {
    await service.start();
  } catch (error) {
    await service.stop();
    throw error;
  }
  return service;
}
