export { freePort } from './ports.ts';
export {
  fourLetterWord,
  redisPing,
  startNats,
  startRedis,
  startZookeeper,
  startZookeeperEnsemble,
  zookeeperClasspath,
  type NatsOptions,
  type RunningService,
  type StartOptions,
  type ZookeeperEnsemble,
  type ZookeeperMember,
} from './services.ts';
export * from './cluster.ts';
export { CHROMIUM, launchChromium } from './browser.ts';
