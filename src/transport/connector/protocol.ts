/**
 * Pomelo's client wire protocol, so that existing Pomelo clients (browser, Unity, Cocos...) talk
 * to Shaddock frontends unchanged. Two layers:
 *
 * - **package**: 1 byte type, 3 bytes body length (big-endian), body. Several may share one
 *   chunk and one may span chunks: {@link PackageReader} reassembles them.
 * - **message** (the body of a data package): a flag byte (bit 0 route compressed, bits 1-3
 *   message type, bit 4 gzip), a base-128 varint id for requests and responses, a route for
 *   requests, notifies and pushes (a 2-byte dictionary code, or a 1-byte length and UTF-8), then
 *   the body.
 *
 * Every decoding error is a {@link ProtocolError} naming what was wrong and its byte offset; the
 * connector closes that client, never the server.
 */

export const PackageType = {
  Handshake: 1,
  HandshakeAck: 2,
  Heartbeat: 3,
  Data: 4,
  Kick: 5,
} as const;
export type PackageType = (typeof PackageType)[keyof typeof PackageType];

export const MessageType = {
  Request: 0,
  Notify: 1,
  Response: 2,
  Push: 3,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** Largest body a package header can describe (3 length bytes). */
export const MAX_BODY_LENGTH = 0xffffff;
const HEADER_LENGTH = 4;

/** Malformed input from a client: what was wrong, and where (byte offset within the package or message). */
export class ProtocolError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (at byte ${offset})`);
    this.name = 'ProtocolError';
  }
}

/**
 * A decoded package. Its `body` is a view into the bytes it was decoded from (no copy on the hot
 * path): decode it, or copy it with `slice()` if it must outlive the chunk it came in.
 */
export interface Package {
  type: PackageType;
  body: Uint8Array;
}

/** A plain Uint8Array view (even of a Buffer): no copy. */
function view(bytes: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset + start, end - start);
}

/** A plain Uint8Array copy, for bytes kept across chunks (a view would pin the socket's buffer). */
function copy(bytes: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(bytes.subarray(start, end));
}

function isPackageType(type: number): type is PackageType {
  return type >= PackageType.Handshake && type <= PackageType.Kick;
}

/** One package: header and body. */
export function encodePackage(type: PackageType, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (body.length > MAX_BODY_LENGTH) throw new RangeError(`package body of ${body.length} bytes exceeds ${MAX_BODY_LENGTH}`);
  const out = new Uint8Array(HEADER_LENGTH + body.length);
  out[0] = type;
  out[1] = (body.length >> 16) & 0xff;
  out[2] = (body.length >> 8) & 0xff;
  out[3] = body.length & 0xff;
  out.set(body, HEADER_LENGTH);
  return out;
}

/** Every package in `bytes`, which must hold whole packages only (as one WebSocket frame does). */
export function decodePackages(bytes: Uint8Array, maxBodyLength = MAX_BODY_LENGTH): Package[] {
  const reader = new PackageReader(maxBodyLength);
  const packages = reader.push(bytes);
  if (reader.buffered > 0) throw new ProtocolError(`truncated package: ${reader.buffered} byte(s) left over`, bytes.length - reader.buffered);
  return packages;
}

/**
 * Reassembles packages from a byte stream (TCP): feed it chunks as they come, get whole packages
 * back. A header announcing a body over `maxBodyLength`, or an unknown type, is rejected as soon
 * as the header is read, before any body is buffered.
 */
export class PackageReader {
  private pending: Uint8Array = new Uint8Array(0);
  /** Offset, in the whole stream, of the first pending byte: errors name stream positions. */
  private consumed = 0;

  constructor(private readonly maxBodyLength = MAX_BODY_LENGTH) {}

  /** Bytes received but not yet part of a whole package. */
  get buffered(): number {
    return this.pending.length;
  }

  push(chunk: Uint8Array): Package[] {
    let data = chunk;
    if (this.pending.length) {
      data = new Uint8Array(this.pending.length + chunk.length);
      data.set(this.pending);
      data.set(chunk, this.pending.length);
    }
    const packages: Package[] = [];
    let at = 0;
    while (data.length - at >= HEADER_LENGTH) {
      const type = data[at]!;
      if (!isPackageType(type)) throw new ProtocolError(`unknown package type ${type}`, this.consumed + at);
      const length = (data[at + 1]! << 16) | (data[at + 2]! << 8) | data[at + 3]!;
      if (length > this.maxBodyLength) {
        throw new ProtocolError(`package of ${length} bytes exceeds the limit of ${this.maxBodyLength}`, this.consumed + at + 1);
      }
      if (data.length - at - HEADER_LENGTH < length) break;
      packages.push({ type, body: view(data, at + HEADER_LENGTH, at + HEADER_LENGTH + length) });
      at += HEADER_LENGTH + length;
    }
    this.pending = at === data.length ? new Uint8Array(0) : copy(data, at, data.length);
    this.consumed += at;
    return packages;
  }
}

export interface Message {
  type: MessageType;
  /** Request id; 0 for notifies and pushes. */
  id: number;
  /** A route string, or its dictionary code when `compressRoute`; '' for responses. */
  route: string | number;
  compressRoute: boolean;
  /** The body was gzip-compressed by the sender (flag bit 4); decompressing is the caller's choice. */
  gzip: boolean;
  body: Uint8Array;
}

const hasId = (type: MessageType): boolean => type === MessageType.Request || type === MessageType.Response;
const hasRoute = (type: MessageType): boolean => type !== MessageType.Response;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** A message as the body of a data package. */
export function encodeMessage(message: Omit<Message, 'gzip'> & { gzip?: boolean }): Uint8Array {
  const parts = messageHeader(message);
  const out = new Uint8Array(parts.length + message.body.length);
  out.set(parts);
  out.set(message.body, parts.length);
  return out;
}

/** A data package holding this message, in one allocation: `encodePackage(Data, encodeMessage(m))`. */
export function encodeDataPackage(message: Omit<Message, 'gzip'> & { gzip?: boolean }): Uint8Array {
  const parts = messageHeader(message);
  const length = parts.length + message.body.length;
  if (length > MAX_BODY_LENGTH) throw new RangeError(`package body of ${length} bytes exceeds ${MAX_BODY_LENGTH}`);
  const out = new Uint8Array(HEADER_LENGTH + length);
  out[0] = PackageType.Data;
  out[1] = (length >> 16) & 0xff;
  out[2] = (length >> 8) & 0xff;
  out[3] = length & 0xff;
  out.set(parts, HEADER_LENGTH);
  out.set(message.body, HEADER_LENGTH + parts.length);
  return out;
}

/** Flag, id and route bytes of a message: everything before its body. */
function messageHeader(message: Omit<Message, 'gzip' | 'body'> & { gzip?: boolean }): number[] {
  const { type, id, route, compressRoute } = message;
  const parts: number[] = [(compressRoute ? 1 : 0) | (type << 1) | (message.gzip ? 0x10 : 0)];
  if (hasId(type)) {
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new RangeError(`message id ${id} is not a 32-bit unsigned integer`);
    let rest = id;
    do {
      const low = rest % 128;
      rest = Math.floor(rest / 128);
      parts.push(rest > 0 ? low | 0x80 : low);
    } while (rest > 0);
  }
  if (hasRoute(type)) {
    if (compressRoute) {
      if (typeof route !== 'number' || route < 0 || route > 0xffff) throw new RangeError(`compressed route ${String(route)} is not a 16-bit code`);
      parts.push((route >> 8) & 0xff, route & 0xff);
    } else {
      const bytes = encoder.encode(String(route));
      if (bytes.length > 255) throw new RangeError(`route "${String(route)}" is ${bytes.length} bytes; the limit is 255`);
      parts.push(bytes.length, ...bytes);
    }
  }
  return parts;
}

/** Parses a data package's body; a malformed one is a {@link ProtocolError} with its offset. */
export function decodeMessage(bytes: Uint8Array): Message {
  if (bytes.length === 0) throw new ProtocolError('empty message', 0);
  const flag = bytes[0]!;
  const type = ((flag >> 1) & 0x7) as MessageType;
  if (type > MessageType.Push) throw new ProtocolError(`unknown message type ${type}`, 0);
  const compressRoute = (flag & 1) === 1;
  const gzip = (flag & 0x10) !== 0;
  let at = 1;
  let id = 0;
  if (hasId(type)) {
    let shift = 1;
    for (let i = 0; ; i++) {
      if (i === 5) throw new ProtocolError('message id longer than 5 bytes', at);
      if (at >= bytes.length) throw new ProtocolError('truncated message id', at);
      const byte = bytes[at++]!;
      id += (byte & 0x7f) * shift;
      shift *= 128;
      if (byte < 0x80) break;
    }
    // Five varint bytes hold 35 bits; ids are 32-bit (and could not be answered otherwise).
    if (id > 0xffffffff) throw new ProtocolError(`message id ${id} exceeds 32 bits`, 1);
  }
  let route: string | number = '';
  if (hasRoute(type)) {
    if (compressRoute) {
      if (at + 2 > bytes.length) throw new ProtocolError('truncated route code', at);
      route = (bytes[at]! << 8) | bytes[at + 1]!;
      at += 2;
    } else {
      if (at >= bytes.length) throw new ProtocolError('missing route length', at);
      const length = bytes[at++]!;
      if (at + length > bytes.length) throw new ProtocolError(`route of ${length} bytes runs past the end of the message`, at - 1);
      try {
        route = decoder.decode(bytes.subarray(at, at + length));
      } catch {
        throw new ProtocolError('route is not valid UTF-8', at);
      }
      at += length;
    }
  }
  return { type, id, route, compressRoute, gzip, body: view(bytes, at, bytes.length) };
}
