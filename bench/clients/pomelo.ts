// A minimal Pomelo client over WebSocket, for the benches only: handshake, requests with a
// closed-loop callback, pushes, heartbeats (see startHeartbeats). It speaks through
// Shaddock's codec (src/transport/connector/protocol.ts) and is used unchanged against pinus,
// Shaddock and the bare `ws` server, so every side pays the same client cost.
//
// Callbacks, not promises, on the hot path: one load process drives thousands of these.
import { WebSocket } from 'ws';
import { decodeMessage, decodePackages, encodeMessage, encodePackage, MessageType, PackageType } from '../../src/transport/connector/protocol.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What the client says in its handshake (Pomelo's `sys`). */
export const HANDSHAKE = encodePackage(PackageType.Handshake, encoder.encode(JSON.stringify({ sys: { type: 'bench', version: '0.1.0' }, user: {} })));
const HANDSHAKE_ACK = encodePackage(PackageType.HandshakeAck);
const HEARTBEAT = encodePackage(PackageType.Heartbeat);

/** The server's handshake answer, as far as the client cares. */
export interface HandshakeInfo {
  code: number;
  /** Seconds between heartbeats; absent or 0 = none. */
  heartbeat?: number;
  /** Route → code, when the server compresses routes. */
  dict?: Record<string, number>;
}

/** A push from the server: route (decompressed) and the raw body bytes. */
export type PushHandler = (route: string, body: Uint8Array) => void;
/** A response: the raw body bytes, undecoded (the caller decides how much to parse). */
export type ResponseHandler = (body: Uint8Array) => void;

export interface PomeloClientOptions {
  /** `true`: plain WebSocket, no Pomelo handshake (the bare `ws` baseline). */
  raw?: boolean;
  onPush?: PushHandler;
  /** The connection closed (by either side) after it was open. */
  onClose?: (code: number, reason: string) => void;
}

/** The bare baseline's greeting (`apps/bare-ws/server.ts` answers it to the sender only). */
const RAW_HELLO = new TextEncoder().encode('{"hello":1}');

export class PomeloClient {
  readonly ws: WebSocket;
  handshake: HandshakeInfo | undefined;
  private nextId = 1;
  /** Pending requests by id: the bench keeps one or a few in flight per client. */
  private readonly pending = new Map<number, ResponseHandler>();
  private routeCodes: Record<string, number> = {};
  private codeRoutes = new Map<number, string>();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readyCallback: ((error?: Error) => void) | undefined;

  private constructor(
    url: string,
    private readonly options: PomeloClientOptions,
    ready: (error?: Error) => void,
  ) {
    this.readyCallback = ready;
    this.ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true });
    this.ws.binaryType = 'nodebuffer';
    this.ws.on('open', () => {
      // A raw client says hello and is ready once answered: one exchange, so that its socket has
      // done I/O like a Pomelo client's has after its handshake (memory is compared per idle connection).
      this.ws.send(options.raw ? RAW_HELLO : HANDSHAKE);
    });
    this.ws.on('message', (data: Buffer) => {
      if (options.raw && this.readyCallback) return this.ready();
      this.receive(data);
    });
    this.ws.on('error', (error) => this.ready(error));
    this.ws.on('close', (code, reason) => {
      this.closed = true;
      clearInterval(this.heartbeatTimer);
      this.ready(new Error(`closed before the handshake completed (code ${code})`));
      for (const [, handler] of this.pending) handler(new Uint8Array(0));
      this.pending.clear();
      options.onClose?.(code, reason.toString());
    });
  }

  /** Connects and, unless `raw`, completes the handshake; calls back once. */
  static connect(url: string, options: PomeloClientOptions, done: (error: Error | undefined, client: PomeloClient) => void): PomeloClient {
    const client: PomeloClient = new PomeloClient(url, options, (error) => done(error, client));
    return client;
  }

  /** Promise form of {@link connect}. */
  static open(url: string, options: PomeloClientOptions = {}): Promise<PomeloClient> {
    return new Promise((resolve, reject) => {
      PomeloClient.connect(url, options, (error, client) => (error ? reject(error) : resolve(client)));
    });
  }

  get isOpen(): boolean {
    return !this.closed && this.ws.readyState === WebSocket.OPEN;
  }

  /** The route as sent: its dictionary code when the server gave one. */
  encodeRequest(route: string, body: Uint8Array): Uint8Array {
    const id = this.nextId;
    this.nextId = id >= 0x7fffffff ? 1 : id + 1;
    const code = this.routeCodes[route];
    return encodePackage(
      PackageType.Data,
      encodeMessage({ type: MessageType.Request, id, route: code ?? route, compressRoute: code !== undefined, body }),
    );
  }

  /** Sends a request; `onResponse` gets the response body (empty if the connection closed first). */
  request(route: string, body: Uint8Array, onResponse: ResponseHandler): void {
    const id = this.nextId;
    this.pending.set(id, onResponse);
    this.ws.send(this.encodeRequest(route, body));
  }

  /** Promise form of {@link request}, the body parsed as JSON. */
  call<T = Record<string, unknown>>(route: string, msg: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      this.request(route, encoder.encode(JSON.stringify(msg)), (body) => {
        if (body.length === 0) reject(new Error(`${route}: connection closed before the response`));
        else {
          try {
            resolve(JSON.parse(decoder.decode(body)) as T);
          } catch (error) {
            reject(error);
          }
        }
      });
    });
  }

  /** Sends raw bytes as one WebSocket message (the bare baseline's trigger). */
  sendRaw(bytes: Uint8Array): void {
    this.ws.send(bytes);
  }

  close(): void {
    clearInterval(this.heartbeatTimer);
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
  }

  /** Closes and resolves once the socket is closed (or after `timeout` ms, terminating it). */
  closeAndWait(timeout = 5_000): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.ws.terminate();
        resolve();
      }, timeout);
      this.ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.close();
    });
  }

  private ready(error?: Error): void {
    const callback = this.readyCallback;
    this.readyCallback = undefined;
    callback?.(error);
  }

  private receive(data: Buffer): void {
    const packages = decodePackages(data);
    for (const pkg of packages) {
      switch (pkg.type) {
        case PackageType.Data: {
          const message = decodeMessage(pkg.body);
          if (message.type === MessageType.Response) {
            const handler = this.pending.get(message.id);
            if (handler) {
              this.pending.delete(message.id);
              handler(message.body);
            }
          } else if (message.type === MessageType.Push) {
            const route = typeof message.route === 'number' ? (this.codeRoutes.get(message.route) ?? String(message.route)) : message.route;
            this.options.onPush?.(route, message.body);
          }
          break;
        }
        case PackageType.Heartbeat:
          // The client heartbeats on its own clock (see startHeartbeats); the server's are ignored.
          break;
        case PackageType.Handshake:
          this.onHandshake(pkg.body);
          break;
        case PackageType.Kick:
          this.close();
          break;
        default:
          break;
      }
    }
  }

  private onHandshake(body: Uint8Array): void {
    let info: { code?: number; sys?: { heartbeat?: number; dict?: Record<string, number> } };
    try {
      info = JSON.parse(decoder.decode(body)) as typeof info;
    } catch {
      this.ready(new Error('handshake answer is not JSON'));
      this.close();
      return;
    }
    if (info.code !== 200) {
      this.ready(new Error(`handshake refused: ${decoder.decode(body)}`));
      this.close();
      return;
    }
    this.handshake = { code: info.code, heartbeat: info.sys?.heartbeat, dict: info.sys?.dict };
    this.routeCodes = info.sys?.dict ?? {};
    this.codeRoutes = new Map(Object.entries(this.routeCodes).map(([route, code]) => [code, route]));
    this.ws.send(HANDSHAKE_ACK);
    this.startHeartbeats();
    this.ready();
  }

  /**
   * One heartbeat every `heartbeat` seconds from the handshake ack on, whatever the server does.
   * pomelo-client instead answers each server heartbeat one interval later, and relies on the
   * server sending the first one at the handshake ack (pinus does); a server that waits for the
   * client would drop such a client after its timeout. Sending on its own clock works with both,
   * with the same traffic: one heartbeat each way per interval.
   */
  private startHeartbeats(): void {
    const seconds = this.handshake?.heartbeat;
    if (!seconds || this.heartbeatTimer) return;
    this.heartbeatTimer = setInterval(() => {
      if (this.isOpen) this.ws.send(HEARTBEAT);
    }, seconds * 1000);
    this.heartbeatTimer.unref();
  }
}

/** `{ code }` of a JSON response body, or undefined if it has none. */
export function responseCode(body: Uint8Array): number | undefined {
  try {
    const parsed = JSON.parse(decoder.decode(body)) as { code?: unknown };
    return typeof parsed.code === 'number' ? parsed.code : undefined;
  } catch {
    return undefined;
  }
}

export { decoder as utf8Decoder, encoder as utf8Encoder };
