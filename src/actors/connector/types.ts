import type { FrontendSession } from './session.ts';

// What a frontend's connector is configured with and exchanges with the rest of the server.

/** `app.set('connectorConfig', {...})`: Pomelo's connector settings. */
export interface ConnectorConfig {
  /** Seconds between client heartbeats, told to clients in the handshake (default 10; 0 = none). */
  heartbeat?: number;
  /** Seconds of silence after which a client is dropped (default 2 × heartbeat). */
  heartbeatTimeout?: number;
  /** Send the route dictionary in the handshake and accept compressed routes (default true). */
  useDict?: boolean;
  /** Largest package body a client may send, in bytes (default 65536); a bigger one closes it. */
  maxPackageSize?: number;
  /**
   * ms a client has to complete the handshake (default 10000); also, from accept, to send its
   * first byte and, over WebSocket, its HTTP request head with the upgrade done.
   */
  handshakeTimeout?: number;
  /** Bytes a WebSocket client's HTTP request head may take (default 8192); a bigger one gets 431. */
  maxHeaderSize?: number;
  /** Bytes queued towards a client beyond which it is dropped as too slow (default 4 MiB). */
  maxBufferedBytes?: number;
  /** Pomelo's `checkClient(type, version)`: false answers the handshake with code 501. */
  checkClient?: (type: string, version: string) => boolean;
  /**
   * The app's own handshake step: gets the client's handshake (`{sys, user}`) and the session;
   * what it returns is sent back as `user`; a throw answers code 500.
   */
  handshake?: (request: HandshakeRequest, session: FrontendSession) => unknown;
}

/** A client's handshake body. */
export interface HandshakeRequest {
  sys: { type?: string; version?: string; dictVersion?: string; protoVersion?: unknown; rsa?: unknown; [key: string]: unknown };
  user?: unknown;
}

/** One push for clients of this frontend (the `push.<frontendId>` payload, defined in src/transport/wire.ts). */
export type { PushMessage } from '../../transport/wire.ts';

/** Handles one request or notify: resolves with the response body (ignored for notifies). */
export type RouteRequest = (route: ParsedRoute, msg: unknown, session: FrontendSession) => Promise<unknown>;

export interface ParsedRoute {
  route: string;
  serverType: string;
  handler: string;
  method: string;
}
