import type { RouteFunction, RouteParam, ServerInfo } from '../../types.ts';

/**
 * FNV-1a over the UTF-16 code units of a string: fast, stable across processes and versions,
 * and spreads similar keys ("room-1", "room-2") well enough for picking among a few servers.
 */
export function stableHash(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The key a route parameter hashes by: itself for strings and numbers, its `uid` or `id` for objects. */
export function routeKey(routeParam: RouteParam): string {
  if (typeof routeParam === 'string') return routeParam;
  if (typeof routeParam === 'number' || typeof routeParam === 'bigint') return String(routeParam);
  if (routeParam && typeof routeParam === 'object') {
    const { uid, id } = routeParam as { uid?: unknown; id?: unknown };
    if (uid !== undefined && uid !== null) return String(uid);
    if (id !== undefined && id !== null) return String(id);
  }
  return '';
}

/** The default route: a stable hash of the route parameter over the servers of the type, sorted by id. */
export const defaultRoute: RouteFunction = (routeParam: RouteParam, servers: readonly ServerInfo[]) => {
  const server = servers[stableHash(routeKey(routeParam)) % servers.length];
  if (!server) throw new Error('no servers to route to');
  return server;
};
