/** `loadConfig`: one environment of an application's config, read, validated and completed. */
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_ENV } from './defaults.ts';
import { parseMaster } from './master-json.ts';
import { resolveNatsFiles, urlList } from './nats.ts';
import { MASTER_FILE, readEnvironment, SERVERS_FILE } from './read.ts';
import { parseServers } from './servers-json.ts';
import type { ClusterConfig } from './types.ts';

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** The application directory, the one holding `config/`. May be relative to the working directory. */
  dir: string;
  /** Environment key to load from both files (default `development`). */
  env?: string;
  /** NATS URL(s), comma separated; wins over `SHADDOCK_NATS_URL` and master.json. */
  natsUrl?: string;
  /** Where `SHADDOCK_NATS_URL` and `SHADDOCK_ADMIN_TOKEN` are read (default `process.env`). */
  environment?: Record<string, string | undefined>;
}

/**
 * Loads and validates one environment of an application's `config/master.json` and
 * `config/servers.json`, applies the defaults of `defaults.ts` and the NATS / admin-token
 * overrides, and returns the complete configuration.
 *
 * NATS comes from, in order: `options.natsUrl`, `SHADDOCK_NATS_URL`, master.json `nats`. An
 * override replaces master.json's `nats` entirely (credentials included), since it usually
 * points at a different broker; put credentials in the URL (`nats://user:pass@host`) if needed.
 * Files that master.json's `nats` names (nkey seed, creds, TLS) are relative to the app
 * directory; they come back absolute, and must exist.
 * No NATS anywhere leaves `master.nats` undefined: the runtime then starts an embedded broker.
 *
 * @throws {ConfigError} naming the file, environment, server and field of the first problem.
 */
export async function loadConfig(options: LoadConfigOptions): Promise<ClusterConfig> {
  const dir = path.resolve(options.dir);
  const env = options.env ?? DEFAULT_ENV;
  const environment = options.environment ?? process.env;

  const masterRaw = await readEnvironment(dir, MASTER_FILE, env);
  const serversRaw = await readEnvironment(dir, SERVERS_FILE, env);

  const master = parseMaster(masterRaw, env);
  const servers = parseServers(serversRaw, env, master, os.cpus().length);

  const natsOverride = urlList(options.natsUrl) ?? urlList(environment['SHADDOCK_NATS_URL']);
  if (natsOverride !== undefined) master.nats = { servers: natsOverride };
  else if (master.nats !== undefined) master.nats = resolveNatsFiles(master.nats, dir, { file: MASTER_FILE, env, serverId: master.id });
  const adminToken = environment['SHADDOCK_ADMIN_TOKEN'];
  if (adminToken !== undefined && adminToken !== '') master.adminToken = adminToken;

  return { env, dir, master, servers };
}
