import { Packr } from 'msgpackr';

/**
 * The one msgpack codec every Shaddock payload goes through. Records (msgpackr's shared-structure
 * extension) are off, so any msgpack library in any language can read what we write.
 */
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

export function encode(value: unknown): Uint8Array {
  return packr.pack(value);
}

export function decode<T = unknown>(bytes: Uint8Array): T {
  return packr.unpack(bytes) as T;
}

/**
 * The header that marks a JSON body, for clients without a msgpack library: a request carrying
 * `Content-Type: application/json` is read as UTF-8 JSON and answered in JSON, with the same
 * header on the reply (docs/protocol.md, Encoding).
 */
export const CONTENT_TYPE = 'Content-Type';
export const JSON_TYPE = 'application/json';

/** The part of a NATS message the codec looks at: its body and headers. */
export interface Encoded {
  data: Uint8Array;
  headers?: { get(key: string): string } | undefined;
}

/** Whether the message says its body is JSON. */
export function isJson(msg: Encoded): boolean {
  return msg.headers?.get(CONTENT_TYPE).split(';')[0]?.trim().toLowerCase() === JSON_TYPE;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const toUtf8 = new TextEncoder();

/** A message's body, as msgpack, or as JSON when its header says so. */
export function decodeBody<T = unknown>(msg: Encoded): T {
  if (!isJson(msg)) return decode<T>(msg.data);
  return JSON.parse(utf8.decode(msg.data)) as T;
}

/** `value` as JSON bytes (`undefined` fields are left out, as JSON has no such value). */
export function encodeJson(value: unknown): Uint8Array {
  return toUtf8.encode(JSON.stringify(value));
}
