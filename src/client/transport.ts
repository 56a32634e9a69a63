/**
 * What the client needs from a connection: send bytes, close, and be told about bytes and the end.
 * A transport delivers either whole WebSocket messages (`framing: 'message'`: each holds whole
 * packages) or a byte stream (`framing: 'stream'`: TCP, packages split and joined at random).
 */

/** Callbacks a transport calls; `close` exactly once, whether the connection opened or not. */
export interface TransportListener {
  open(): void;
  data(bytes: Uint8Array): void;
  /** The connection ended; `error` when it failed rather than closed. */
  close(error?: Error): void;
}

export interface Transport {
  readonly framing: 'message' | 'stream';
  send(bytes: Uint8Array): void;
  /** Starts closing; the listener's `close` follows. */
  close(): void;
}

/** Opens one connection; the client calls it again for every reconnect. */
export type TransportFactory = (listener: TransportListener) => Transport;

/** A WebSocket transport over the platform's `WebSocket` (`globalThis.WebSocket` in a browser). */
export function webSocketTransport(url: string, WebSocketClass: typeof WebSocket | undefined = globalThis.WebSocket): TransportFactory {
  return (listener) => {
    if (!WebSocketClass) throw new Error('no global WebSocket here; in Node use createClient from "shaddock/client/node"');
    const socket = new WebSocketClass(url);
    socket.binaryType = 'arraybuffer';
    let failure: Error | undefined;
    let closed = false;
    socket.onopen = () => listener.open();
    socket.onmessage = (event: MessageEvent) => {
      const data: unknown = event.data;
      if (data instanceof ArrayBuffer) listener.data(new Uint8Array(data));
      else if (ArrayBuffer.isView(data)) listener.data(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      else {
        failure = new Error('the server sent a text WebSocket message; the protocol is binary');
        socket.close();
      }
    };
    socket.onerror = () => {
      failure ??= new Error(`WebSocket error on ${url}`);
    };
    socket.onclose = (event: CloseEvent) => {
      if (closed) return;
      closed = true;
      if (!failure && event.code !== 1000 && event.code !== 1005) failure = new Error(`WebSocket ${url} closed with code ${event.code}${event.reason ? `: ${event.reason}` : ''}`);
      listener.close(failure);
    };
    return {
      framing: 'message',
      send: (bytes) => socket.send(bytes),
      close: () => socket.close(),
    };
  };
}
