/** Configuration: reading and validating `config/master.json` and `config/servers.json`. */
export { loadConfig, type LoadConfigOptions } from './load.ts';
export { parseServerEntry } from './add-server.ts';
export { ConfigError, type ConfigErrorLocation } from './errors.ts';
export type { ClusterConfig, MasterConfig, NatsSettings, RestartPolicy, ServerEntry } from './types.ts';
export * from './defaults.ts';
