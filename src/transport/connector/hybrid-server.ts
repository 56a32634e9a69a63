import { createServer as createHttpServer, STATUS_CODES, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { clearTimeout, setTimeout } from 'node:timers';
import { WebSocketServer, type WebSocket } from 'ws';
import { decodePackages, PackageReader, ProtocolError, type Package } from './protocol.ts';

/**
 * One listening port for both kinds of Pomelo client, as Pomelo's hybrid connector does:
 * WebSocket clients open with an HTTP upgrade request (`GET ...`), raw TCP clients with a
 * package header whose first byte is a package type (1-5). The first byte decides; anything
 * else is dropped at once.
 *
 * Every connection has `setupTimeout` from accept to become a client: to send its first byte and,
 * for WebSocket, its whole HTTP request head, upgraded. One timer per connection until then, so a
 * trickled or half-sent head is closed on time, whatever it sent. Node's own `headersTimeout`
 * would not do: it is enforced only for servers that `listen()` (a 'listening' listener sets up
 * the connection list its checker scans, every `connectionsCheckingInterval`, 30 s by default),
 * and the HTTP server here never listens: the sniffer hands it sockets.
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
  /** Most connections open at once (Pomelo's `max-connections`); more are refused at accept. */
  maxConnections: number;
  /** ms from accept a new connection has to send its first byte and, for WebSocket, complete the upgrade. */
  setupTimeout: number;
  /** Bytes an HTTP request head (request line and headers) may take; a bigger one gets 431. */
  maxHeaderSize: number;
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

  constructor(readonly options: HybridServerOptions) {
    this.net = createNetServer({ noDelay: true }, (socket) => this.connection(socket));
    // Node's head and request timeouts never run here (see above): the setup timer does their job.
    this.http = createHttpServer({ maxHeaderSize: options.maxHeaderSize, headersTimeout: 0, requestTimeout: 0 });
    this.http.on('request', (_request, response) => {
      response.writeHead(426, { 'content-type': 'text/plain', connection: 'close' });
      response.end('this port speaks Pomelo over WebSocket (upgrade) or TCP\n');
    });
    this.http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.wss.handleUpgrade(request, socket, head, (ws) => this.webSocket(ws, socket as Socket));
    });
    this.http.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => this.badHead(error, socket as Socket));
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
    if (this.open >= max) {
      socket.destroy();
      this.options.refused?.(remoteOf(socket), `max-connections (${max}) reached`);
      return;
    }
    this.open++;
    this.sockets.add(socket);
    // Per-connection state lives on the socket and the handlers are shared functions: no closure,
    // bound function or timer is kept per client once it is connected (an idle connection's cost
    // is what the memory bench measures). A plain timer rather than socket.setTimeout, which
    // leaves a cleared timer and a bound callback on the socket for its whole life, and which
    // restarts on every byte (a trickle would never trip it).
    const state = socket as Socket & Tagged;
    state[SERVER] = this;
    state[SETUP] = setTimeout(setupTooSlow, this.options.setupTimeout, state);
    socket.on('close', socketClosed);
    socket.on('error', ignore);
    socket.once('data', firstData);
  }

  /** @internal The first chunk of a connection: decide what it is. */
  classify(socket: Socket, chunk: Buffer): void {
    const first = chunk[0]!;
    if (HTTP_FIRST_BYTE.test(String.fromCharCode(first))) {
      // Hand the socket, and the bytes already read, to the HTTP parser; `ws` takes the upgrade.
      // The setup timer runs on until the upgrade is done.
      this.http.emit('connection', socket);
      socket.emit('data', chunk);
    } else if (first >= 1 && first <= 5) {
      // From here the session's handshake timeout watches it.
      stopSetupTimer(socket as Socket & Tagged);
      new TcpLink(socket, this.options).start(chunk);
    } else {
      stopSetupTimer(socket as Socket & Tagged);
      socket.destroy();
      this.options.refused?.(remoteOf(socket), `first byte 0x${first.toString(16).padStart(2, '0')} is neither HTTP nor a package type`);
    }
  }

  /** @internal */
  closed(socket: Socket): void {
    this.open--;
    this.sockets.delete(socket);
  }

  /** A head the HTTP parser rejects: too big (431) or malformed (400), then closed. */
  private badHead(error: NodeJS.ErrnoException, socket: Socket): void {
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    if (socket.writable && error.code !== 'ECONNRESET') {
      // The setup timer still runs: a peer that does not take the answer is destroyed by it.
      socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    } else {
      socket.destroy();
    }
    this.options.refused?.(remoteOf(socket), status === 431 ? `HTTP request head over ${this.options.maxHeaderSize} bytes` : `bad HTTP request (${error.code ?? error.message})`);
  }

  private webSocket(ws: WebSocket, socket: Socket): void {
    stopSetupTimer(socket as Socket & Tagged);
    // From here `ws` watches the socket: our listeners would only turn its single 'close' and
    // 'error' handlers into arrays, per connection. The link reports the close instead.
    socket.off('close', socketClosed);
    socket.off('error', ignore);
    new WsLink(ws, socket, this).start();
  }
}

const SERVER = Symbol('shaddock.server');
const SETUP = Symbol('shaddock.setupTimer');
const LINK = Symbol('shaddock.link');

interface Tagged {
  [SERVER]: HybridServer;
  [SETUP]: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The client sockets written to in this turn of the event loop. A socket is corked at its first
 * write of a turn and all of them are uncorked together once the turn's I/O has been handled
 * (setImmediate), so that what a client gets in one turn (an answer and the pushes that came with
 * it, each a WebSocket frame or a TCP package) leaves in one write system call instead of one
 * each. Frames stay frames: only the system calls are fewer.
 */
const corkedThisTurn = new Set<Socket>();

function uncorkAll(): void {
  for (const socket of corkedThisTurn) socket.uncork();
  corkedThisTurn.clear();
}

/** Corks `socket` until the end of this turn, if it is not corked already. */
function corkForTurn(socket: Socket): void {
  if (corkedThisTurn.has(socket)) return;
  if (corkedThisTurn.size === 0) setImmediate(uncorkAll);
  corkedThisTurn.add(socket);
  socket.cork();
}

function remoteOf(socket: Socket): string {
  return `${socket.remoteAddress}:${socket.remotePort}`;
}

function ignore(): void {
  // A reset or broken pipe: 'close' follows and tells the link.
}

function stopSetupTimer(socket: Socket & Tagged): void {
  clearTimeout(socket[SETUP]);
  socket[SETUP] = undefined;
}

/** `setupTimeout` after accept, the connection is neither a TCP client nor an upgraded WebSocket. */
function setupTooSlow(socket: Socket & Tagged): void {
  socket[SETUP] = undefined;
  socket.destroy();
  const { refused, setupTimeout } = socket[SERVER].options;
  refused?.(remoteOf(socket), socket.bytesRead === 0 ? 'sent nothing' : `HTTP request head and upgrade not done within ${setupTimeout} ms`);
}

function firstData(this: Socket & Tagged, chunk: Buffer): void {
  this[SERVER].classify(this, chunk);
}

function socketClosed(this: Socket & Tagged): void {
  stopSetupTimer(this);
  this[SERVER].closed(this);
}

class TcpLink implements ClientLink {
  readonly kind = 'tcp';
  private readonly reader: PackageReader;
  private handler!: LinkHandler;
  private failed = false;

  constructor(
    private readonly socket: Socket,
    private readonly options: HybridServerOptions,
  ) {
    this.reader = new PackageReader(options.maxPackageSize);
  }

  get remote(): string {
    return remoteOf(this.socket);
  }

  start(first: Buffer): void {
    (this.socket as Socket & { [LINK]: TcpLink })[LINK] = this;
    this.handler = this.options.accept(this);
    this.socket.on('close', tcpClosed);
    this.socket.on('data', tcpData);
    this.receive(first);
  }

  /** @internal */
  receive(chunk: Buffer): void {
    if (this.failed) return;
    let packages: Package[];
    try {
      packages = this.reader.push(chunk);
    } catch (error) {
      this.failed = true;
      this.handler.invalid(error as ProtocolError);
      return;
    }
    if (packages.length) this.handler.packages(packages);
  }

  /** @internal */
  gone(hadError: boolean): void {
    this.failed = true;
    this.handler.closed(hadError ? 'connection error' : 'client closed');
  }

  send(bytes: Uint8Array): void {
    if (this.socket.destroyed) return;
    if (this.socket.writableLength > this.options.maxBufferedBytes) {
      this.socket.destroy();
      return;
    }
    corkForTurn(this.socket);
    this.socket.write(bytes);
  }

  close(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function tcpData(this: Socket & { [LINK]: TcpLink }, chunk: Buffer): void {
  this[LINK].receive(chunk);
}

function tcpClosed(this: Socket & { [LINK]: TcpLink }, hadError: boolean): void {
  this[LINK].gone(hadError);
}

class WsLink implements ClientLink {
  readonly kind = 'ws';
  private handler!: LinkHandler;
  private failed = false;
  private readonly options: HybridServerOptions;

  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Socket,
    private readonly server: HybridServer,
  ) {
    this.options = server.options;
  }

  get remote(): string {
    return remoteOf(this.socket);
  }

  start(): void {
    (this.ws as WebSocket & { [LINK]: WsLink })[LINK] = this;
    this.handler = this.options.accept(this);
    this.ws.on('message', wsMessage);
    // e.g. a frame over maxPayload: `ws` closes the connection and 'close' follows.
    this.ws.on('error', ignore);
    this.ws.on('close', wsClosed);
  }

  /** @internal */
  receive(data: Buffer, isBinary: boolean): void {
    if (this.failed) return;
    let packages: Package[];
    try {
      if (!isBinary) throw new ProtocolError('text frame: Pomelo packages travel in binary frames', 0);
      packages = decodePackages(data, this.options.maxPackageSize);
    } catch (error) {
      this.failed = true;
      this.handler.invalid(error as ProtocolError);
      return;
    }
    this.handler.packages(packages);
  }

  /** @internal */
  gone(code: number): void {
    this.failed = true;
    this.server.closed(this.socket);
    const limit = this.options.maxPackageSize;
    this.handler.closed(code === 1009 ? `package over the ${limit}-byte limit` : code === 1000 || code === 1005 ? 'client closed' : `connection closed (${code})`);
  }

  send(bytes: Uint8Array): void {
    if (this.ws.readyState !== 1) return;
    if (this.ws.bufferedAmount > this.options.maxBufferedBytes) {
      this.ws.terminate();
      return;
    }
    // ws corks and uncorks the socket around each frame; the cork of the turn outlasts that.
    corkForTurn(this.socket);
    this.ws.send(bytes, { binary: true });
  }

  close(): void {
    this.ws.close();
  }

  destroy(): void {
    this.ws.terminate();
  }
}

function wsMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  (this as WebSocket & { [LINK]: WsLink })[LINK].receive(data, isBinary);
}

function wsClosed(this: WebSocket, code: number): void {
  (this as WebSocket & { [LINK]: WsLink })[LINK].gone(code);
}
