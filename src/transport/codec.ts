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
