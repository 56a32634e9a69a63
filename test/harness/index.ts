export { freePort, freePorts } from './ports.ts';
export { startNatsCluster, type NatsCluster, type NatsNodeConnection } from './nats-cluster.ts';
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
