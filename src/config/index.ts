/** Configuration: reading and validating `config/master.json` and `config/servers.json`. */
export { loadConfig, parseServerEntry, type LoadConfigOptions } from './load.ts';
export { ConfigError, type ConfigErrorLocation } from './errors.ts';
export type { ClusterConfig, MasterConfig, NatsSettings, RestartPolicy, ServerEntry } from './types.ts';
export * from './defaults.ts';
