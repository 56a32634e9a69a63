/**
 * Typed routes for the client: a {@link RouteMap} says, for each `type.handler.method` route,
 * what a request sends and what its response is; {@link HandlerRoutes} derives one from the
 * handler classes of a server (the `Handlers` interface an app augments).
 */
import type { Handlers } from '../types.ts';

/** Route → what a request sends (`msg`) and what the server answers (`response`). */
export type RouteMap = Record<string, { msg: unknown; response: unknown }>;

/** Push route → the body the server pushes on it. */
export type PushMap = Record<string, unknown>;

/** Any route, any message, any response: what a client is when it is not given types. */
export type UntypedRoutes = Record<string, { msg: unknown; response: unknown }>;

/** Any push route, any body. */
export type UntypedPushes = Record<string, unknown>;

type Fn = (...args: never[]) => unknown;
type MethodNames<T> = { [K in keyof T & string]: T[K] extends Fn ? K : never }[keyof T & string];

/** Every `type.handler.method` route of a `{ [serverType]: { [handlerName]: Handler } }` map. */
type RouteNames<H> = {
  [T in keyof H & string]: { [N in keyof H[T] & string]: `${T}.${N}.${MethodNames<H[T][N]>}` }[keyof H[T] & string];
}[keyof H & string];

type Entry<F> = F extends (...args: infer A) => infer R ? { msg: A extends [] ? undefined : A[0]; response: Awaited<R> } : never;

type EntryOf<H, Route extends string> = Route extends `${infer T}.${infer N}.${infer M}`
  ? T extends keyof H
    ? N extends keyof H[T]
      ? M extends keyof H[T][N]
        ? Entry<H[T][N][M]>
        : never
      : never
    : never
  : never;

/**
 * The {@link RouteMap} of a map of handlers, `{ [serverType]: { [handlerName]: HandlerClass } }`:
 * route `${type}.${handler}.${method}`, `msg` the method's first parameter, `response` what it
 * returns (awaited).
 *
 * @example
 * type Routes = HandlerRoutes<{ chat: { chatHandler: ChatHandler } }>;
 * const client = createClient<Routes>({ url: 'ws://127.0.0.1:3050' });
 * await client.request('chat.chatHandler.send', { rid, content, from, target: '*' });
 */
export type HandlerRoutes<H> = { [Route in RouteNames<H>]: EntryOf<H, Route> };

/**
 * The routes a client is typed with when none are given: those of the app's `Handlers` (augmented
 * with `declare module 'shaddock' { interface Handlers { ... } }`) when it has any, else untyped.
 */
export type DefaultRoutes = [keyof Handlers] extends [never] ? UntypedRoutes : HandlerRoutes<Handlers>;

/** The arguments after the route: the message may be left out when the route takes none. */
export type RequestArgs<Msg, Options> = undefined extends Msg ? [msg?: Msg, options?: Options] : [msg: Msg, options?: Options];
