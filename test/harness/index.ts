export { freePort } from './ports.ts';
export {
  fourLetterWord,
  redisPing,
  startNats,
  startRedis,
  startRedisSentinel,
  startZookeeper,
  startZookeeperEnsemble,
  zookeeperClasspath,
  type NatsOptions,
  type RedisOptions,
  type SentinelOptions,
  type RunningService,
  type StartOptions,
  type ZookeeperEnsemble,
  type ZookeeperMember,
} from './services.ts';
export * from './cluster.ts';
export { CHROMIUM, launchChromium } from './browser.ts';
