import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig } from '../../config/lazy.ts';
import type { ClusterConfig, ServerEntry } from '../../config/types.ts';
import type { AppHost } from './host.ts';

/** The role this process plays, chosen from how it was started. */
export type Role = { kind: 'master'; serverId: string; serverType: 'master' } | { kind: 'server'; serverId: string; serverType: string; entry: ServerEntry };

/** A started role: the master or one server. */
export interface RunningRole {
  stop(): Promise<void>;
}

/**
 * The configuration this process runs with: the one the master validated and handed down
 * (`SHADDOCK_CONFIG`), so that a server neither re-reads the files nor loads the validator;
 * else the files under `base`, validated.
 */
export async function bootConfig(base: string, env: string): Promise<ClusterConfig> {
  const text = process.env.SHADDOCK_CONFIG;
  return text ? (JSON.parse(text) as ClusterConfig) : loadConfig({ dir: base, env });
}

/** No server id means "run the master"; otherwise the server's entry, from servers.json or from the master. */
export function chooseRole(config: ClusterConfig, base: string, env: string, serverId: string, serverType: string): Role {
  if (!serverId) return { kind: 'master', serverId: config.master.id, serverType: 'master' };
  const entry = config.servers.find((server) => server.id === serverId) ?? entryFromMaster(serverId);
  if (!entry) throw new Error(`server "${serverId}" is not in ${base}/config/servers.json [${env}]`);
  return { kind: 'server', serverId, serverType: serverType || entry.serverType, entry };
}

/** Starts the chosen role; resolves once it is up. Each role's code is loaded only by the processes that run it. */
export async function startRole<App>(role: Role, host: AppHost<App>, config: ClusterConfig): Promise<RunningRole> {
  if (role.kind === 'master') {
    const { runMaster } = await import('../master/master.ts');
    const { masterHA } = await import('../master/ha.ts');
    const ha = await masterHA(host, config);
    return runMaster(host, ha?.config ?? config, { entry: findEntry(host.base), ...(ha ? { leadership: ha.leadership } : {}) });
  }
  const { runServer } = await import('../server/server-process.ts');
  return runServer(host, config, role.entry);
}

/**
 * The type of a server given only by id (`shaddock start -i chat-server-1`). `configure()` runs
 * before `start()` and filters by type, so it has to be known now: a quick look in servers.json.
 * Any problem with the file is left for `start()`, which validates it properly and says what is wrong.
 */
export function serverTypeInConfig(base: string, env: string, serverId: string): string {
  const fromMaster = entryFromMaster(serverId);
  if (fromMaster) return fromMaster.serverType;
  try {
    const servers = JSON.parse(readFileSync(resolve(base, 'config', 'servers.json'), 'utf8')) as Record<string, Record<string, { id?: unknown }[]>>;
    for (const [type, entries] of Object.entries(servers[env] ?? {})) {
      if (Array.isArray(entries) && entries.some((entry) => entry?.id === serverId)) return type;
    }
  } catch {
    // Reported by start().
  }
  return '';
}

/** The entry the master passed in `SHADDOCK_SERVER` (for servers added at runtime), if it is this server's. */
function entryFromMaster(serverId: string): ServerEntry | undefined {
  const text = process.env.SHADDOCK_SERVER;
  if (!text) return undefined;
  const entry = JSON.parse(text) as ServerEntry;
  return entry.id === serverId ? entry : undefined;
}

/** The entry the master spawns for each server: `SHADDOCK_ENTRY`, else `app.ts` or `app.js` in the app directory. */
function findEntry(base: string): string {
  const fromEnv = process.env.SHADDOCK_ENTRY;
  if (fromEnv) return resolve(fromEnv);
  for (const name of ['app.ts', 'app.mts', 'app.js', 'app.mjs']) {
    const candidate = resolve(base, name);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`no app entry in ${base}: expected app.ts or app.js (or set SHADDOCK_ENTRY)`);
}
