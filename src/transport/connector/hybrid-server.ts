import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { decodePackages, PackageReader, ProtocolError, type Package } from './protocol.ts';

/**
 * One listening port for both kinds of Pomelo client, as Pomelo's hybrid connector does:
 * WebSocket clients open with an HTTP upgrade request (`GET ...`), raw TCP clients with a
 * package header whose first byte is a package type (1-5). The first byte decides; anything
 * else is dropped at once.
 *
 * This layer only moves packages: a {@link ClientLink} per client delivers whole packages up
 * and bytes down. What the packages mean is the connector's business.
 */

export interface LinkHandler {
  /** Whole packages, in order. */
  packages(packages: Package[]): void;
  /** The client sent bytes that are not Pomelo packages (or a package over the size limit). */
  invalid(error: ProtocolError): void;
  /** The link is gone, for this reason. Called once. */
  closed(reason: string): void;
}

/** One connected client, over WebSocket or TCP. */
export interface ClientLink {
  readonly kind: 'ws' | 'tcp';
  /** `address:port` of the client. */
  readonly remote: string;
  send(bytes: Uint8Array): void;
  /** Polite close: WebSocket close frame, or TCP FIN after what was queued. */
  close(): void;
  /** Immediate close. */
  destroy(): void;
}

export interface HybridServerOptions {
  host: string;
  /** 0 = any free port; `listen()` returns the one bound. */
  port: number;
  /** Largest package body a client may send, in bytes. */
  maxPackageSize: number;
  /** Most clients connected at once (Pomelo's `max-connections`); more are refused at accept. */
  maxConnections?: number;
  /** ms a new connection has to send its first byte. */
  firstByteTimeout: number;
  /** Bytes queued towards one client beyond which it is dropped as too slow to read. */
  maxBufferedBytes: number;
  /** A client arrived; return what receives its packages. */
  accept(link: ClientLink): LinkHandler;
  /** A connection was refused (`max-connections`) or dropped before it was a client. */
  refused?(remote: string, reason: string): void;
}

const HTTP_FIRST_BYTE = /^[A-Z]$/;

export class HybridServer {
  private readonly net: NetServer;
  private readonly http: HttpServer;
  private readonly wss: WebSocketServer;
  /** Sockets accepted and not yet closed, clients or not: `max-connections` counts these. */
  private open = 0;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly options: HybridServerOptions) {
    this.net = createNetServer({ noDelay: true }, (socket) => this.connection(socket));
    this.http = createHttpServer({ headersTimeout: options.firstByteTimeout, requestTimeout: options.firstByteTimeout });
    this.http.on('request', (_request, response) => {
      response.writeHead(426, { 'content-type': 'text/plain', connection: 'close' });
      response.end('this port speaks Pomelo over WebSocket (upgrade) or TCP\n');
    });
    this.http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.wss.handleUpgrade(request, socket, head, (ws) => this.webSocket(ws, socket as Socket));
    });
    this.http.on('clientError', (_error, socket) => socket.destroy());
    // A WebSocket message may hold several packages, each up to the limit; the header is 4 bytes.
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: options.maxPackageSize + 4,
    });
  }

  /** Starts listening; resolves with the port bound. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.net.once('error', reject);
      this.net.listen(this.options.port, this.options.host, () => {
        this.net.off('error', reject);
        resolve((this.net.address() as AddressInfo).port);
      });
    });
  }

  /** Number of open client connections (including ones still deciding what they are). */
  get connections(): number {
    return this.open;
  }

  /** Stops accepting connections; the ones open stay open. */
  stopAccepting(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.net.listening) return resolve();
      this.net.close(() => resolve());
      // close() waits for every connection to end: resolve as soon as the port is released.
      setImmediate(resolve);
    });
  }

  /** Destroys every connection left. */
  destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  private connection(socket: Socket): void {
    const max = this.options.maxConnections;
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    if (max !== undefined && this.open >= max) {
      socket.destroy();
      this.options.refused?.(remote, `max-connections (${max}) reached`);
      return;
    }
    this.open++;
    this.sockets.add(socket);
    socket.once('close', () => {
      this.open--;
      this.sockets.delete(socket);
    });
    socket.on('error', () => {
      // A reset or broken pipe: 'close' follows and tells the link.
    });
    socket.setTimeout(this.options.firstByteTimeout, () => {
      socket.destroy();
      this.options.refused?.(remote, 'sent nothing');
    });
    socket.once('data', (chunk: Buffer) => {
      socket.setTimeout(0);
      const first = chunk[0]!;
      if (HTTP_FIRST_BYTE.test(String.fromCharCode(first))) {
        // Hand the socket, and the bytes already read, to the HTTP parser; `ws` takes the upgrade.
        this.http.emit('connection', socket);
        socket.emit('data', chunk);
      } else if (first >= 1 && first <= 5) {
        new TcpLink(socket, remote, this.options).start(chunk);
      } else {
        socket.destroy();
        this.options.refused?.(remote, `first byte 0x${first.toString(16).padStart(2, '0')} is neither HTTP nor a package type`);
      }
    });
  }

  private webSocket(ws: WebSocket, socket: Socket): void {
    new WsLink(ws, `${socket.remoteAddress}:${socket.remotePort}`, this.options).start();
  }
}

class TcpLink implements ClientLink {
  readonly kind = 'tcp';
  private readonly reader: PackageReader;
  private handler: LinkHandler | undefined;

  constructor(
    private readonly socket: Socket,
    readonly remote: string,
    private readonly options: HybridServerOptions,
  ) {
    this.reader = new PackageReader(options.maxPackageSize);
  }

  start(first: Buffer): void {
    const handler = (this.handler = this.options.accept(this));
    let closed = false;
    this.socket.once('close', (hadError) => {
      closed = true;
      handler.closed(hadError ? 'connection error' : 'client closed');
    });
    const receive = (chunk: Buffer): void => {
      if (closed) return;
      let packages: Package[];
      try {
        packages = this.reader.push(chunk);
      } catch (error) {
        this.socket.off('data', receive);
        handler.invalid(error as ProtocolError);
        return;
      }
      if (packages.length) handler.packages(packages);
    };
    this.socket.on('data', receive);
    receive(first);
  }

  send(bytes: Uint8Array): void {
    if (this.socket.destroyed) return;
    if (this.socket.writableLength > this.options.maxBufferedBytes) {
      this.socket.destroy();
      return;
    }
    this.socket.write(bytes);
  }

  close(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

class WsLink implements ClientLink {
  readonly kind = 'ws';

  constructor(
    private readonly ws: WebSocket,
    readonly remote: string,
    private readonly options: HybridServerOptions,
  ) {}

  start(): void {
    const handler = this.options.accept(this);
    const { maxPackageSize } = this.options;
    let failed = false;
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (failed) return;
      let packages: Package[];
      try {
        if (!isBinary) throw new ProtocolError('text frame: Pomelo packages travel in binary frames', 0);
        packages = decodePackages(data, maxPackageSize);
      } catch (error) {
        failed = true;
        handler.invalid(error as ProtocolError);
        return;
      }
      handler.packages(packages);
    });
    this.ws.on('error', () => {
      // e.g. a frame over maxPayload: `ws` closes the connection and 'close' follows.
    });
    this.ws.once('close', (code: number) => {
      handler.closed(code === 1009 ? `package over the ${maxPackageSize}-byte limit` : code === 1000 || code === 1005 ? 'client closed' : `connection closed (${code})`);
    });
  }

  send(bytes: Uint8Array): void {
    if (this.ws.readyState !== 1) return;
    if (this.ws.bufferedAmount > this.options.maxBufferedBytes) {
      this.ws.terminate();
      return;
    }
    this.ws.send(bytes, { binary: true });
  }

  close(): void {
    this.ws.close();
  }

  destroy(): void {
    this.ws.terminate();
  }
}
