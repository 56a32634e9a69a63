// A Pomelo client built only from the independent pinus-protocol package, `ws` and `node:net`:
// no Shaddock code, so it checks the connector against Pomelo's protocol rather than against itself.
import { connect as tcpConnect, type Socket } from 'node:net';
import pinus from 'pinus-protocol/dist/index.js';
import WebSocket from 'ws';

const { Message, Package } = pinus;
const TYPE = { handshake: 1, ack: 2, heartbeat: 3, data: 4, kick: 5 } as const;
const MSG = { request: 0, notify: 1, response: 2, push: 3 } as const;

export interface PinusClientOptions {
  /** Answer the server's heartbeats Pomelo-style (default true); false = go silent after the handshake. */
  heartbeat?: boolean;
  /** Dictionary version the client claims to hold. */
  dictVersion?: string;
  /** Compress routes found in the dictionary (default true). */
  useDict?: boolean;
}

export interface Handshake {
  code: number;
  sys?: { heartbeat?: number; dict?: Record<string, number>; dictVersion?: string; useDict?: boolean };
  user?: unknown;
}

interface Waiter {
  route: string;
  match: (body: unknown) => boolean;
  resolve: (body: unknown) => void;
}

export class PinusClient {
  handshake: Handshake | undefined;
  /** Heartbeats received from the server. */
  heartbeats = 0;
  /** Pushes whose route came as a dictionary code. */
  compressedPushes = 0;
  /** Every push received, in order. */
  readonly pushes: { route: string; body: unknown }[] = [];
  /** Resolves when the connection is gone, with the kick reason if one came first. */
  readonly closed: Promise<{ kick?: string }>;
  private kickReason: string | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, (body: unknown) => void>();
  private waiters: Waiter[] = [];
  private buffer: Buffer = Buffer.alloc(0);
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private onHandshake: ((h: Handshake) => void) | undefined;
  private markClosed!: (value: { kick?: string }) => void;

  private constructor(
    private readonly kind: 'ws' | 'tcp',
    private readonly ws: WebSocket | undefined,
    private readonly socket: Socket | undefined,
    private readonly options: PinusClientOptions,
  ) {
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
  }

  /** Opens a connection (no handshake yet). */
  static open(kind: 'ws' | 'tcp', port: number, options: PinusClientOptions = {}): Promise<PinusClient> {
    return new Promise((resolve, reject) => {
      if (kind === 'ws') {
        const ws = new WebSocket(`ws://127.0.0.1:${port}`);
        ws.binaryType = 'nodebuffer';
        const client = new PinusClient('ws', ws, undefined, options);
        ws.once('open', () => resolve(client));
        ws.once('error', reject);
        ws.on('message', (data: Buffer) => client.receive(data));
        ws.on('close', () => client.gone());
      } else {
        const socket = tcpConnect(port, '127.0.0.1');
        const client = new PinusClient('tcp', undefined, socket, options);
        socket.once('connect', () => resolve(client));
        socket.once('error', reject);
        socket.on('data', (data: Buffer) => client.receive(data));
        socket.on('close', () => client.gone());
      }
    });
  }

  /** Opens a connection and completes the handshake (handshake, answer, ack). */
  static async connect(kind: 'ws' | 'tcp', port: number, options: PinusClientOptions = {}): Promise<PinusClient> {
    const client = await PinusClient.open(kind, port, options);
    const handshake = await Promise.race([client.shake(), client.closed.then(() => undefined)]);
    if (!handshake) throw new Error(`connection to port ${port} closed before the handshake answer`);
    if (handshake.code !== 200) throw new Error(`handshake refused with code ${handshake.code}`);
    return client;
  }

  /** Sends the handshake and the ack; resolves with the server's answer. */
  shake(sys: Record<string, unknown> = { type: 'pinus-test', version: '1.7.4' }): Promise<Handshake> {
    const answer = new Promise<Handshake>((resolve) => (this.onHandshake = resolve));
    if (this.options.dictVersion) sys = { ...sys, dictVersion: this.options.dictVersion };
    this.sendRaw(Package.encode(TYPE.handshake, Buffer.from(JSON.stringify({ sys, user: {} }))));
    return answer;
  }

  request(route: string, msg: unknown): Promise<unknown> {
    const id = this.nextId++;
    const reply = new Promise<unknown>((resolve) => this.pending.set(id, resolve));
    this.sendMessage(id, MSG.request, route, msg);
    return reply;
  }

  notify(route: string, msg: unknown): void {
    this.sendMessage(0, MSG.notify, route, msg);
  }

  /** The next push on `route` (already received ones count) whose body matches. */
  push(route: string, match: (body: unknown) => boolean = () => true): Promise<unknown> {
    const seen = this.pushes.find((p) => p.route === route && match(p.body));
    if (seen) return Promise.resolve(seen.body);
    return new Promise((resolve) => this.waiters.push({ route, match, resolve }));
  }

  sendRaw(bytes: Uint8Array): void {
    if (this.ws) this.ws.send(bytes);
    else this.socket!.write(bytes);
  }

  close(): void {
    clearTimeout(this.heartbeatTimer);
    if (this.ws) this.ws.terminate();
    else this.socket!.destroy();
  }

  private sendMessage(id: number, type: number, route: string, msg: unknown): void {
    const dict = this.handshake?.sys?.dict;
    const code = this.options.useDict !== false ? dict?.[route] : undefined;
    const body = Message.encode(id, type, code !== undefined, code ?? route, Buffer.from(JSON.stringify(msg)));
    this.sendRaw(Package.encode(TYPE.data, body));
  }

  private receive(data: Buffer): void {
    // TCP is a stream: reassemble whole packages by their 4-byte headers. A WebSocket message holds whole ones.
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, data]) : data;
    while (this.buffer.length >= 4) {
      const length = this.buffer.readUIntBE(1, 3);
      if (this.buffer.length < 4 + length) break;
      const bytes = this.buffer.subarray(0, 4 + length);
      this.buffer = this.buffer.subarray(4 + length);
      const decoded = Package.decode(Buffer.from(bytes));
      for (const pkg of Array.isArray(decoded) ? decoded : [decoded]) this.handle(pkg.type, pkg.body);
    }
  }

  private handle(type: number, body: Buffer): void {
    if (type === TYPE.handshake) {
      this.handshake = JSON.parse(body.toString()) as Handshake;
      if (this.handshake.code === 200) this.sendRaw(Package.encode(TYPE.ack));
      this.onHandshake?.(this.handshake);
    } else if (type === TYPE.heartbeat) {
      this.heartbeats++;
      if (this.options.heartbeat === false) return;
      const seconds = this.handshake?.sys?.heartbeat ?? 0;
      this.heartbeatTimer = setTimeout(() => this.sendRaw(Package.encode(TYPE.heartbeat)), seconds * 1000);
    } else if (type === TYPE.kick) {
      this.kickReason = (JSON.parse(body.toString()) as { reason: string }).reason;
    } else if (type === TYPE.data) {
      const message = Message.decode(body);
      const value: unknown = JSON.parse(message.body.toString() || '{}');
      if (message.type === MSG.response) {
        this.pending.get(message.id)?.(value);
        this.pending.delete(message.id);
      } else if (message.type === MSG.push) {
        if (message.compressRoute) this.compressedPushes++;
        const route = message.compressRoute ? this.routeOf(message.route as number) : String(message.route);
        this.pushes.push({ route, body: value });
        const ready = this.waiters.filter((w) => w.route === route && w.match(value));
        this.waiters = this.waiters.filter((w) => !ready.includes(w));
        for (const waiter of ready) waiter.resolve(value);
      }
    }
  }

  private routeOf(code: number): string {
    for (const [route, c] of Object.entries(this.handshake?.sys?.dict ?? {})) if (c === code) return route;
    return `#${code}`;
  }

  private gone(): void {
    clearTimeout(this.heartbeatTimer);
    this.markClosed(this.kickReason === undefined ? {} : { kick: this.kickReason });
  }

  get transport(): 'ws' | 'tcp' {
    return this.kind;
  }
}
