/**
 * Shaddock's client SDK for Node (`shaddock/client/node`): everything of `shaddock/client`, with
 * WebSocket through the `ws` package (Node 20 has no global WebSocket) and raw TCP.
 *
 * @example
 * import { createClient } from 'shaddock/client/node';
 * const client = createClient({ transport: 'tcp', host: '127.0.0.1', port: 3050 });
 * await client.connect();
 */
import net from 'node:net';
import WebSocket from 'ws';
import { ShaddockClient } from './client.ts';
import { globalClock } from './clock.ts';
import { webSocketUrl } from './index.ts';
import type { DefaultRoutes, PushMap, RouteMap, UntypedPushes } from './routes.ts';
import type { TransportFactory } from './transport.ts';
import type { ClientBaseOptions, ClientClock } from './types.ts';

export * from './index.ts';

export interface NodeClientOptions extends ClientBaseOptions {
  /** `ws://host:port`: a WebSocket client (then `transport` may be left out). */
  url?: string;
  host?: string;
  port?: number;
  /** `'ws'` (the default), `'tcp'` (raw TCP, same port as WebSocket on a Shaddock frontend), or a transport of your own. */
  transport?: 'ws' | 'tcp' | TransportFactory;
}

/** WebSocket through the `ws` package. */
export function nodeWebSocketTransport(url: string): TransportFactory {
  return (listener) => {
    const socket = new WebSocket(url);
    let failure: Error | undefined;
    let closed = false;
    socket.on('open', () => listener.open());
    socket.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      if (!isBinary) {
        failure = new Error('the server sent a text WebSocket message; the protocol is binary');
        socket.close();
        return;
      }
      const chunk = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      listener.data(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    });
    socket.on('error', (error) => {
      failure ??= error;
    });
    socket.on('close', () => {
      if (closed) return;
      closed = true;
      listener.close(failure);
    });
    return {
      framing: 'message',
      send: (bytes) => {
        if (socket.readyState === WebSocket.OPEN) socket.send(bytes);
      },
      close: () => {
        if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
        else socket.close();
      },
    };
  };
}

/** Raw TCP: the package stream straight on the socket. `clock` times the wait for the peer's end after `close()`. */
export function tcpTransport(host: string, port: number, clock: ClientClock = globalClock): TransportFactory {
  return (listener) => {
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    let failure: Error | undefined;
    let connected = false;
    socket.on('connect', () => {
      connected = true;
      listener.open();
    });
    socket.on('data', (chunk: Buffer) => listener.data(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
    socket.on('error', (error) => {
      failure ??= error;
    });
    socket.on('close', () => listener.close(failure));
    return {
      framing: 'stream',
      send: (bytes) => {
        if (!socket.destroyed) socket.write(bytes);
      },
      close: () => {
        if (!connected || socket.destroyed) {
          socket.destroy();
          return;
        }
        socket.end();
        // A peer that never closes its side must not keep the socket forever.
        clock.setTimeout(() => socket.destroy(), 1000, { unref: true });
      },
    };
  };
}

/** A client of one frontend, over WebSocket (`ws`) or raw TCP. Nothing is sent until `connect()`. */
export function createClient<R extends RouteMap = DefaultRoutes, P extends PushMap = UntypedPushes>(options: NodeClientOptions): ShaddockClient<R, P> {
  const { transport } = options;
  if (typeof transport === 'function') return new ShaddockClient<R, P>(options.url ?? 'custom transport', transport, options);
  if (transport === 'tcp') {
    if (options.port === undefined) throw new Error('createClient: a tcp client needs a port');
    const host = options.host ?? '127.0.0.1';
    return new ShaddockClient<R, P>(`tcp://${host}:${options.port}`, tcpTransport(host, options.port, options.clock), options);
  }
  const url = webSocketUrl(options);
  return new ShaddockClient<R, P>(url, nodeWebSocketTransport(url), options);
}
