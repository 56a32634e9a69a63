/** The JSON bodies of the client's messages: a request or notify encoded, what the server sends parsed. */
import { encodeDataPackage, type MessageType, ProtocolError } from '../transport/connector/protocol.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** `value` as JSON, in UTF-8. */
export function jsonBytes(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** A request or notify data package; the route goes as its code when the dictionary (the client's `RouteDictionary`) has one. */
export function messagePackage(dictionary: { codeOf(route: string): number | undefined }, type: MessageType, id: number, route: string, msg: unknown): Uint8Array {
  const code = dictionary.codeOf(route);
  const body = jsonBytes(msg === undefined ? {} : msg);
  return code === undefined
    ? encodeDataPackage({ type, id, route, compressRoute: false, body })
    : encodeDataPackage({ type, id, route: code, compressRoute: true, body });
}

export function parseJson(bytes: Uint8Array, offset: number, what: string): unknown {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new ProtocolError(`${what} body is not valid UTF-8`, offset);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ProtocolError(`${what} body is not valid JSON`, offset);
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
