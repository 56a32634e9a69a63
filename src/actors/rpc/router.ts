import { NoServerAvailableError, RouteError, ServerUnavailableError, UnknownServerTypeError } from '../../errors.ts';
import type { RouteFunction, RouteParam, ServerInfo } from '../../types.ts';
import type { ServerDirectory } from '../server/directory.ts';
import { defaultRoute } from './route.ts';

/** Where a call goes: routed by a parameter through the type's route function, or to one server by id. */
export type RouteTarget = { routeParam: RouteParam } | { serverId: string };

/**
 * Picks the server of a type that handles a call, from the servers running now (the directory)
 * and the app's route functions. One router serves both `app.rpc` and the client requests a
 * frontend forwards, so both route the same way.
 */
export class Router {
  constructor(
    private readonly directory: ServerDirectory,
    private readonly routes: ReadonlyMap<string, RouteFunction>,
    /** Server types the configuration lists (a type with none running is then "unavailable", not "unknown"). */
    private readonly configuredTypes: () => readonly string[],
  ) {}

  /** The server of `serverType` that `routeParam` routes to. */
  serverFor(serverType: string, routeParam: RouteParam): ServerInfo {
    return this.pick(serverType, { routeParam });
  }

  pick(serverType: string, target: RouteTarget): ServerInfo {
    const { directory } = this;
    const servers = directory.ofType(serverType);
    if (servers.length === 0) {
      const configured = this.configuredTypes();
      if (!configured.includes(serverType) && !directory.types().includes(serverType)) {
        throw new UnknownServerTypeError(serverType, [...new Set([...configured, ...directory.types()])]);
      }
      if (!('serverId' in target)) throw new NoServerAvailableError(serverType);
    }
    if ('serverId' in target) {
      const server = directory.get(target.serverId);
      if (!server || server.serverType !== serverType || server.state !== 'running') throw new ServerUnavailableError(target.serverId);
      return server;
    }
    const route = this.routes.get(serverType) ?? defaultRoute;
    const chosen = route(target.routeParam, servers, serverType);
    const server = typeof chosen === 'string' ? servers.find((s) => s.id === chosen) : chosen;
    if (!server || server.serverType !== serverType) {
      throw new RouteError(serverType, `returned ${JSON.stringify(typeof chosen === 'string' ? chosen : chosen?.id)}, which is not a running "${serverType}" server`);
    }
    return server;
  }
}
