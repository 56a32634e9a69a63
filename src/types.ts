/**
 * Public types of Shaddock's application API. Apps declare their remotes by augmenting
 * `Remotes`, which types `app.rpc`:
 *
 * @example
 * import type ChatRemote from './app/servers/chat/remote/chatRemote.ts';
 * declare module 'shaddock' {
 *   interface Remotes { chat: { chatRemote: ChatRemote } }
 * }
 * // then: await app.rpc.chat.chatRemote.add(rid, uid, sid, rid) is type-checked.
 */

import type { ServerInfo } from './transport/wire.ts';

/** What every server announces on the heartbeat subject: the cluster's view of one server (defined in src/transport/wire.ts). */
export type { ServerInfo } from './transport/wire.ts';

/** Map of server type → remote name → remote implementation type. Augment it in your app. */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface Remotes {}

/**
 * Map of server type → handler name → handler implementation type. Augment it in your app so
 * clients get typed routes (`HandlerRoutes<Handlers>` in `shaddock/client`).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface Handlers {}

/** Whatever a route function hashes to pick a server: a uid, a room id, a session... */
export type RouteParam = unknown;

/** Picks the server (by id, or the server itself) that handles a call to `serverType`. */
export type RouteFunction = (routeParam: RouteParam, servers: readonly ServerInfo[], serverType: string) => string | ServerInfo;

type Method = (...args: never[]) => unknown;
type MethodNames<T> = { [K in keyof T]: T[K] extends Method ? K : never }[keyof T] & string;
type Call<F, Lead extends unknown[]> = F extends (...args: infer A) => infer R ? (...args: [...Lead, ...A]) => Promise<Awaited<R>> : never;

/** Calls of one remote on one chosen server: `app.rpc.chat.chatRemote.toServer('chat-1').add(...)`. */
export type RemoteOnServer<T> = { [K in MethodNames<T>]: Call<T[K], []> } & {
  /** The same calls with other per-call options (e.g. `{ timeout: 500 }` ms). */
  withOptions(options: { timeout?: number }): RemoteOnServer<T>;
};

/** Calls of one remote, routed by the first argument: `app.rpc.chat.chatRemote.add(routeParam, ...)`. */
export type RemoteClient<T> = { [K in MethodNames<T>]: Call<T[K], [routeParam: RouteParam]> } & {
  toServer(serverId: string): RemoteOnServer<T>;
  /** The same calls with other per-call options (e.g. `{ timeout: 500 }` ms). */
  withOptions(options: { timeout?: number }): RemoteClient<T>;
};

/** The type of `app.rpc`. */
export type RpcClient<R = Remotes> = {
  [Type in keyof R]: { [Name in keyof R[Type]]: RemoteClient<R[Type][Name]> };
};

/** A remote as a module's default export: a class taking the app, a factory function, or a plain object. */
export type RemoteDefinition<App = unknown> = (new (app: App) => object) | ((app: App) => object) | object;

/** Pomelo's `fn(app, cb)` or an async `fn(app)`. */
export type BeforeStopHook<App = unknown> = ((app: App, done: (error?: unknown) => void) => void) | ((app: App) => Promise<void> | void);
