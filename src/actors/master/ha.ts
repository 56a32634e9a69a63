import type { ClusterConfig } from '../../config/types.ts';
import { checkHANats, masterHASettings, masterIdentity, readStandbys } from '../../config/master-ha.ts';
import type { AppHost } from '../app/host.ts';
import type { Leadership } from './leadership.ts';

/**
 * Master HA for this master process, when the app enables it: the configuration it runs with
 * (its own id, host and port: master.json's, or the standby's that `SHADDOCK_MASTER_ID` names)
 * and the ZooKeeper election it campaigns in. Undefined without `app.enable('masterHA')`.
 * Throws a ConfigError naming the field when the settings are wrong.
 */
export async function masterHA<App>(host: AppHost<App>, config: ClusterConfig): Promise<{ config: ClusterConfig; leadership: Leadership } | undefined> {
  if (!host.enabled('masterHA')) return undefined;
  const { env } = config;
  checkHANats(config.master, env);
  const settings = masterHASettings(host.masterHAConfig(), { env, cluster: config.master.cluster, ...(process.env.SHADDOCK_ZK ? { zk: process.env.SHADDOCK_ZK } : {}) });
  const master = masterIdentity(config.master, readStandbys(config.dir, env, config.master), process.env.SHADDOCK_MASTER_ID, env);
  // Loaded only by a master with HA: no other process needs the ZooKeeper client.
  const { ZooKeeperLeadership } = await import('./zookeeper-leadership.ts');
  const leadership = new ZooKeeperLeadership({ ...settings, logger: host.logger, inspectAs: master.id });
  return { config: { ...config, master }, leadership };
}
