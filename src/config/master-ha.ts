/**
 * Master HA's settings, Pomelo's way: `app.enable('masterHA')` and
 * `app.set('masterHAConfig', { server, path?, timeout?, auth? })` in the app entry (the keys of
 * Pomelo's masterha plugin), with `--zk <hosts>` or `SHADDOCK_ZK` overriding `server`; and the
 * standby masters, listed per environment in `config/masterha.json` (Pomelo's format: an array of
 * `{ id, host, port }`). Checked when the master starts; a bad field stops it, named.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from './errors.ts';
import type { MasterConfig } from './types.ts';

/** What `masterHAConfig` is called in error messages (it is not a file). */
export const MASTER_HA_CONFIG = "app.set('masterHAConfig')";
export const MASTER_HA_FILE = 'config/masterha.json';

/** ms a dead leader holds the lock when `timeout` is not given. */
export const DEFAULT_HA_SESSION_TIMEOUT = 5_000;

/** The election's settings, complete. */
export interface MasterHASettings {
  /** The ZooKeeper ensemble, `host:port[,host:port…]`. */
  servers: string;
  /** The election's node; default `/shaddock/<cluster>/master`. */
  path: string;
  /** The ZooKeeper session timeout, ms. */
  sessionTimeout: number;
  /** `user:password` for ZooKeeper's digest scheme. */
  auth?: string;
}

/** A standby master of `masterha.json`. */
export interface StandbyMaster {
  id: string;
  host: string;
  port: number;
}

const SERVER = /^[^\s:,/]+:(\d{1,5})$/;
const FIELDS = new Set(['server', 'path', 'timeout', 'auth']);

/**
 * The election's settings from `masterHAConfig` (unchecked, as the app set it) and the overrides
 * (`--zk` / `SHADDOCK_ZK`); throws a ConfigError naming the field at fault.
 */
export function masterHASettings(raw: unknown, where: { env: string; cluster: string; zk?: string }): MasterHASettings {
  const fail = (field: string | undefined, problem: string): never => {
    throw new ConfigError(problem, { file: MASTER_HA_CONFIG, env: where.env, ...(field ? { field } : {}) });
  };
  if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) fail(undefined, 'expected an object { server, path?, timeout?, auth? }');
  const config = (raw ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(config)) if (!FIELDS.has(key)) fail(key, `unknown field (expected one of ${[...FIELDS].join(', ')})`);
  const server = where.zk !== undefined && where.zk !== '' ? where.zk : config.server;
  if (server === undefined) fail('server', "masterHA is enabled but no ZooKeeper is given: set server ('host:port,host:port,…'), or pass --zk or SHADDOCK_ZK");
  const servers = typeof server === 'string' ? server.split(',').map((s) => s.trim()) : [];
  const badPort = (s: string): boolean => {
    const port = Number(SERVER.exec(s)?.[1]);
    return !(port >= 1 && port <= 65535);
  };
  if (servers.length === 0 || servers.some((s) => !SERVER.test(s) || badPort(s))) fail('server', `expected "host:port[,host:port…]", got ${JSON.stringify(server)}`);
  const path = config.path ?? `/shaddock/${where.cluster}/master`;
  if (typeof path !== 'string' || !/^(\/[^/\s]+)+$/.test(path)) fail('path', `expected an absolute ZooKeeper path such as "/shaddock/chat/master" (no trailing "/"), got ${JSON.stringify(path)}`);
  const timeout = config.timeout ?? DEFAULT_HA_SESSION_TIMEOUT;
  if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 1_000 || timeout > 600_000) fail('timeout', `expected the session timeout in ms, an integer from 1000 to 600000, got ${JSON.stringify(timeout)}`);
  const auth = config.auth;
  if (auth !== undefined && (typeof auth !== 'string' || !/^[^:]+:.+$/.test(auth))) fail('auth', 'expected "user:password"');
  return { servers: servers.join(','), path: path as string, sessionTimeout: timeout as number, ...(auth !== undefined ? { auth: auth as string } : {}) };
}

/**
 * master HA needs a NATS that outlives any one master: the embedded broker dies with the master
 * that started it, and the cluster with it.
 */
export function checkHANats(master: MasterConfig, env: string): void {
  if (!master.nats) {
    throw new ConfigError(
      "masterHA needs a NATS server that outlives a master, and none is configured: the embedded broker dies with the master that started it. Set nats in master.json (or --nats / SHADDOCK_NATS_URL)",
      { file: 'config/master.json', env, field: 'nats' },
    );
  }
}

/** The standbys of `env` in `<dir>/config/masterha.json`; none when the file is absent. */
export function readStandbys(dir: string, env: string, master: MasterConfig): StandbyMaster[] {
  const file = join(dir, MASTER_HA_FILE);
  if (!existsSync(file)) return [];
  const fail = (problem: string, field?: string): never => {
    throw new ConfigError(problem, { file: MASTER_HA_FILE, env, ...(field ? { field } : {}) });
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    return fail(`not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return fail('expected an object of environments, each an array of { id, host, port }');
  const list = (parsed as Record<string, unknown>)[env];
  if (list === undefined) return [];
  if (!Array.isArray(list)) return fail('expected an array of { id, host, port }');
  const seen = new Set([master.id]);
  return list.map((item, index) => {
    const at = `[${index}]`;
    if (typeof item !== 'object' || item === null) return fail('expected { id, host, port }', at);
    const { id, host, port } = item as Record<string, unknown>;
    if (typeof id !== 'string' || id === '') return fail('expected a non-empty string', `${at}.id`);
    if (seen.has(id)) return fail(`duplicate master id "${id}" (the master of master.json and every standby need their own)`, `${at}.id`);
    seen.add(id);
    if (typeof host !== 'string' || host === '') return fail('expected a non-empty string', `${at}.host`);
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) return fail(`expected a port number, got ${JSON.stringify(port)}`, `${at}.port`);
    return { id, host, port };
  });
}

/**
 * This master's own identity: master.json's, or, when `SHADDOCK_MASTER_ID` names a standby of
 * masterha.json, that standby's id, host and port.
 */
export function masterIdentity(master: MasterConfig, standbys: readonly StandbyMaster[], chosen: string | undefined, env: string): MasterConfig {
  if (chosen === undefined || chosen === '' || chosen === master.id) return master;
  const standby = standbys.find((s) => s.id === chosen);
  if (!standby) {
    throw new ConfigError(`no master "${chosen}": master.json has "${master.id}", and masterha.json lists ${standbys.length ? standbys.map((s) => `"${s.id}"`).join(', ') : 'no standby'}`, { file: MASTER_HA_FILE, env, wholeFile: true });
  }
  return { ...master, id: standby.id, host: standby.host, port: standby.port };
}
