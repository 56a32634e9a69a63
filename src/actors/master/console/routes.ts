import type { IncomingMessage, ServerResponse } from 'node:http';

/** One request to the console, as a route handler gets it. */
export interface ConsoleRequest {
  req: IncomingMessage;
  res: ServerResponse;
  /** The request's URL, parsed (the `token` query parameter already taken out by the sign-in). */
  url: URL;
}

export type RouteHandler = (request: ConsoleRequest) => void | Promise<void>;

export interface RouteOptions {
  /**
   * `token` (the default): only for a signed-in browser (the console's cookie) or a client that
   * sends `Authorization: Bearer <admin token>`; anyone else gets 401. `none`: open to anyone who
   * reaches the address.
   */
  auth?: 'token' | 'none';
  /** The HTTP methods it answers (default GET and HEAD); any other gets 405. */
  methods?: readonly string[];
}

export interface Route {
  path: string;
  handler: RouteHandler;
  auth: 'token' | 'none';
  methods: readonly string[];
}

/**
 * The console's routes, by exact path (no patterns: a route that needs parameters reads the query).
 * The console mounts its page and streams here; other parts of the master mount theirs
 * (`/metrics`) on the same table before or after the server starts.
 *
 * @example
 * ```ts
 * routes.add('/metrics', ({ res }) => res.end(text), { auth: 'token' });
 * ```
 */
export class RouteTable {
  private readonly routes = new Map<string, Route>();

  /** Adds a route; throws if `path` does not start with `/` or already has a handler. */
  add(path: string, handler: RouteHandler, options: RouteOptions = {}): this {
    if (!path.startsWith('/')) throw new Error(`console route "${path}" must start with "/"`);
    if (this.routes.has(path)) throw new Error(`console route "${path}" is already taken`);
    const methods = (options.methods ?? ['GET', 'HEAD']).map((method) => method.toUpperCase());
    this.routes.set(path, { path, handler, auth: options.auth ?? 'token', methods });
    return this;
  }

  /** The route for `path`, if one is mounted. */
  find(path: string): Route | undefined {
    return this.routes.get(path);
  }

  /** Every mounted path, in the order they were added. */
  paths(): string[] {
    return [...this.routes.keys()];
  }
}
