/** Configuration: reading and validating `config/master.json` and `config/servers.json`. */
export { loadConfig, parseServerEntry, type LoadConfigOptions } from './load.ts';
export { ConfigError, type ConfigErrorLocation } from './errors.ts';
export type { ClusterConfig, MasterConfig, NatsSettings, ServerEntry } from './types.ts';
export {
  CONFIG_DEFAULTS,
  DEFAULT_CLUSTER,
  DEFAULT_ENV,
  DEFAULT_HEARTBEAT_INTERVAL,
  DEFAULT_HOST,
  DEFAULT_PREFIX,
  DEFAULT_RPC_TIMEOUT,
  DEFAULT_START_TIMEOUT,
  DEFAULT_STOP_TIMEOUT,
  HEARTBEAT_TIMEOUT_FACTOR,
  defaultHeartbeatTimeout,
} from './defaults.ts';
