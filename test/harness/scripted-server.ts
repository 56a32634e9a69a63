// A scripted Pomelo server on raw TCP for the client SDK's tests (test/client.test.ts,
// test/client-clock.test.ts): it accepts connections and lets a test read the client's packages
// and write its own, for what a real server does not do on demand (refused handshakes, malformed
// bytes, silence, out-of-order responses).
import assert from 'node:assert/strict';
import net from 'node:net';
import type { ShaddockClient, UntypedRoutes } from '../../src/client/node.ts';
import { decodeMessage, encodeMessage, encodePackage, PackageReader, PackageType, type Message, type Package } from '../../src/transport/connector/protocol.ts';

const text = new TextEncoder();
export const json = (value: unknown): Uint8Array => text.encode(JSON.stringify(value));
export const parse = (bytes: Uint8Array): unknown => JSON.parse(new TextDecoder().decode(bytes));

/** Resolves with the next call of `on(event)` on a client. */
export function next<T = unknown>(client: ShaddockClient<UntypedRoutes>, event: string, timeout = 10_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${event}" within ${timeout} ms`)), timeout);
    client.once(event, (payload: unknown) => {
      clearTimeout(timer);
      resolve(payload as T);
    });
  });
}

/** One client connection as the scripted server sees it: packages in, bytes out. */
export class ScriptedConnection {
  private readonly reader = new PackageReader();
  private readonly queue: Package[] = [];
  private waiting: ((pkg: Package) => void) | undefined;
  readonly closed: Promise<void>;

  constructor(readonly socket: net.Socket) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => {
      for (const pkg of this.reader.push(chunk)) {
        if (this.waiting) {
          const waiting = this.waiting;
          this.waiting = undefined;
          waiting(pkg);
        } else this.queue.push(pkg);
      }
    });
    socket.on('error', () => {});
  }

  /** The next package from the client, skipping heartbeats unless asked for them. */
  async next(options: { heartbeats?: boolean } = {}): Promise<Package> {
    for (;;) {
      const pkg = this.queue.shift() ?? (await new Promise<Package>((resolve) => (this.waiting = resolve)));
      if (pkg.type === PackageType.Heartbeat && !options.heartbeats) continue;
      return pkg;
    }
  }

  async nextMessage(): Promise<Message> {
    const pkg = await this.next();
    assert.equal(pkg.type, PackageType.Data);
    return decodeMessage(pkg.body);
  }

  send(type: PackageType, body?: Uint8Array): void {
    this.socket.write(encodePackage(type, body));
  }

  sendMessage(message: Omit<Message, 'gzip'>): void {
    this.send(PackageType.Data, encodeMessage(message));
  }

  /** Reads the client's handshake, answers `reply`, and waits for the ack. Returns what the client sent. */
  async handshake(reply: unknown): Promise<{ sys: Record<string, unknown>; user?: unknown }> {
    const hello = await this.next();
    assert.equal(hello.type, PackageType.Handshake);
    this.send(PackageType.Handshake, json(reply));
    if (isRecord(reply) && reply.code === 200) assert.equal((await this.next()).type, PackageType.HandshakeAck);
    return parse(hello.body) as { sys: Record<string, unknown>; user?: unknown };
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

export interface ScriptedServer {
  port: number;
  /** The next client connection. */
  accept(): Promise<ScriptedConnection>;
  close(): Promise<void>;
}

export async function scriptedServer(): Promise<ScriptedServer> {
  const pending: ScriptedConnection[] = [];
  const sockets = new Set<net.Socket>();
  let waiting: ((connection: ScriptedConnection) => void) | undefined;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const connection = new ScriptedConnection(socket);
    if (waiting) {
      const w = waiting;
      waiting = undefined;
      w(connection);
    } else pending.push(connection);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    accept: () => {
      const ready = pending.shift();
      return ready ? Promise.resolve(ready) : new Promise((resolve) => (waiting = resolve));
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export const ok = (sys: Record<string, unknown> = {}, user?: unknown): Record<string, unknown> => ({ code: 200, sys: { heartbeat: 0, ...sys }, ...(user === undefined ? {} : { user }) });
