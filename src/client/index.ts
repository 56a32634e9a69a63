/**
 * Shaddock's client SDK, browser-safe (`shaddock/client`): Pomelo's client protocol over the
 * platform's WebSocket. In Node, import `shaddock/client/node` instead: the same API, plus
 * WebSocket through the `ws` package and raw TCP.
 *
 * @example
 * import { createClient } from 'shaddock/client';
 * const client = createClient({ url: 'ws://127.0.0.1:3050' });
 * await client.connect();
 * const reply = await client.request('connector.entryHandler.enter', { username: 'alice', rid: 'lobby' });
 */
import { ShaddockClient } from './client.ts';
import type { DefaultRoutes, PushMap, RouteMap, UntypedPushes } from './routes.ts';
import { webSocketTransport, type TransportFactory } from './transport.ts';
import type { ClientBaseOptions } from './types.ts';

export { ShaddockClient } from './client.ts';
export { DisconnectedError, HandshakeError, RequestTimeoutError } from './errors.ts';
export { CLIENT_TYPE, CLIENT_VERSION } from './handshake.ts';
export type {
  ClientBaseOptions,
  ClientClock,
  ClientEvents,
  ConnectionState,
  ConnectResult,
  DisconnectEvent,
  DisconnectReason,
  Json,
  ReconnectOptions,
  RequestOptions,
} from './types.ts';
export type { DefaultRoutes, HandlerRoutes, PushMap, RequestArgs, RouteMap, UntypedPushes, UntypedRoutes } from './routes.ts';
export { webSocketTransport, type Transport, type TransportFactory, type TransportListener } from './transport.ts';
export { ProtocolError } from '../transport/connector/protocol.ts';

export interface ClientOptions extends ClientBaseOptions {
  /** `ws://host:port` (or `wss://`); else built from `host` and `port`. */
  url?: string;
  host?: string;
  port?: number;
  /** `'ws'` (the default), or a transport of your own. */
  transport?: 'ws' | TransportFactory;
}

/** `ws://host:port` from the options (`url` wins). */
export function webSocketUrl(options: { url?: string; host?: string; port?: number }): string {
  if (options.url) return options.url;
  if (options.port === undefined) throw new Error('createClient: give a url, or a host and port');
  const host = options.host ?? '127.0.0.1';
  return `ws://${host.includes(':') ? `[${host}]` : host}:${options.port}`;
}

/** A client of one frontend over the browser's WebSocket. Nothing is sent until `connect()`. */
export function createClient<R extends RouteMap = DefaultRoutes, P extends PushMap = UntypedPushes>(options: ClientOptions): ShaddockClient<R, P> {
  if (typeof options.transport === 'function') return new ShaddockClient<R, P>(options.url ?? 'custom transport', options.transport, options);
  const url = webSocketUrl(options);
  return new ShaddockClient<R, P>(url, webSocketTransport(url), options);
}
