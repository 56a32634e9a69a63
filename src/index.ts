/**
 * Shaddock's public API: create an app, declare remotes, call them with `app.rpc`.
 * The config loader (`loadConfig`) is exported for tools and tests; the machine definitions in
 * src/machines are not a package export.
 */
export { Application, createApp } from './actors/app/application.ts';
export type { CreateAppOptions, Feature } from './actors/app/application.ts';
export type { CallOptions } from './actors/rpc/proxy.ts';
export { defaultRoute, stableHash, routeKey } from './actors/rpc/route.ts';
export type { ServerRow } from './transport/wire.ts';
export { Channel, ChannelService, type Receiver } from './actors/channel/channel.ts';
// Types only: the service's module (and ioredis) loads in a server whose app enables global channels.
export type { GlobalChannelService, GlobalChannelCallback, GlobalPushOptions, GlobalPushResult } from './actors/channel/global-channel-service.ts';
export { ChannelDestroyedError, GlobalChannelError } from './actors/channel/errors.ts';
export type { ConnectorConfig, HandshakeRequest } from './actors/connector/connector.ts';
export {
  BackendSession,
  BackendSessionService,
  FrontendSession,
  type Session,
  type SessionClosedListener,
  type SessionService,
  type SessionSnapshot,
} from './actors/connector/session.ts';
export * from './errors.ts';
export type * from './types.ts';
export { ConfigError } from './config/errors.ts';
export { loadConfig } from './config/lazy.ts';
export type { LoadConfigOptions } from './config/load.ts';
export type { ClusterConfig, MasterConfig, NatsOptions, NatsSettings, NatsTls, ServerEntry } from './config/types.ts';
export type { NatsConnection } from './transport/nats.ts';
