export { freePort } from './ports.ts';
export {
  fourLetterWord,
  redisPing,
  startNats,
  startRedis,
  startZookeeper,
  zookeeperClasspath,
  type NatsOptions,
  type RunningService,
  type StartOptions,
} from './services.ts';
export * from './cluster.ts';
