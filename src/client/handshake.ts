/** The client's half of the handshake: what it says about itself, and the shape of the server's answer. */
import { encodePackage, PackageType } from '../transport/connector/protocol.ts';
import type { Json } from './types.ts';
import { jsonBytes } from './wire.ts';

/** Sent in the handshake's `sys.type` and `sys.version`. */
export const CLIENT_TYPE = 'shaddock-js';
export const CLIENT_VERSION = '0.1.0';

export interface HandshakeReply {
  code?: number;
  sys?: {
    heartbeat?: number;
    dict?: Record<string, number>;
    routeToCode?: Record<string, number>;
    codeToRoute?: Record<string, string>;
    dictVersion?: string | number;
    useDict?: boolean;
  };
  user?: unknown;
}

/** The handshake package: client type and version, the cached dictionary's version, the user's part. */
export function handshakePackage(dictVersion: string | number | undefined, user: Json | undefined): Uint8Array {
  const sys: Record<string, Json> = { type: CLIENT_TYPE, version: CLIENT_VERSION };
  if (dictVersion !== undefined) sys.dictVersion = dictVersion;
  const hello: Record<string, Json> = { sys };
  if (user !== undefined) hello.user = user;
  return encodePackage(PackageType.Handshake, jsonBytes(hello));
}
