// The connector's transport (src/transport/connector/hybrid-server.ts): what a client link sends in
// one turn of the event loop leaves in one write system call (one writev of every frame), over
// TCP and over WebSocket. Seen from the server-side socket's own writes: net.Socket calls
// `_writev` for a batch of corked chunks and `_write` for a single one.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as connectTcp, Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import WebSocket from 'ws';
import { HybridServer, type ClientLink } from '../src/transport/connector/hybrid-server.ts';
import { encodePackage, PackageType } from '../src/transport/connector/protocol.ts';

interface WriteCall {
  socket: Socket;
  kind: 'write' | 'writev';
  chunks: number;
}

/** Records every `_write`/`_writev` of every net.Socket until the returned function is called. */
function recordWrites(): { calls: WriteCall[]; restore: () => void } {
  const proto = Socket.prototype as unknown as Record<'_write' | '_writev', (this: Socket, ...args: unknown[]) => void>;
  const original = { write: proto._write, writev: proto._writev };
  const calls: WriteCall[] = [];
  proto._write = function (this: Socket, ...args: unknown[]) {
    calls.push({ socket: this, kind: 'write', chunks: 1 });
    return original.write.apply(this, args);
  };
  proto._writev = function (this: Socket, ...args: unknown[]) {
    calls.push({ socket: this, kind: 'writev', chunks: (args[0] as unknown[]).length });
    return original.writev.apply(this, args);
  };
  return { calls, restore: () => Object.assign(proto, { _write: original.write, _writev: original.writev }) };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('hybrid server: one write per client per turn', () => {
  /** Resolves the next client that becomes a link. */
  let linked: (link: ClientLink) => void = () => undefined;
  const nextLink = (): Promise<ClientLink> => new Promise((resolve) => (linked = resolve));
  const server = new HybridServer({
    host: '127.0.0.1',
    port: 0,
    maxPackageSize: 65_536,
    maxConnections: 10,
    setupTimeout: 5_000,
    maxHeaderSize: 8_192,
    maxBufferedBytes: 1 << 20,
    accept: (link) => {
      linked(link);
      return { packages: () => undefined, invalid: () => undefined, closed: () => undefined };
    },
  });
  let port = 0;
  after(async () => {
    server.destroyAll();
    await server.stopAccepting();
  });

  /** Sends three packages on `link` in one turn; returns the server side's write calls for them. */
  async function sendThree(link: ClientLink, clientPort: number): Promise<WriteCall[]> {
    const recorder = recordWrites();
    try {
      for (let i = 0; i < 3; i++) link.send(encodePackage(PackageType.Data, new Uint8Array([i])));
      await nextTurn();
      await nextTurn();
    } finally {
      recorder.restore();
    }
    return recorder.calls.filter((call) => call.socket.remotePort === clientPort);
  }

  test('over TCP: three packages, one writev', async () => {
    port ||= await server.listen();
    const accepted = nextLink();
    const client = connectTcp(port, '127.0.0.1');
    await once(client, 'connect');
    // A heartbeat package: the first byte tells a Pomelo TCP client from HTTP.
    client.write(Buffer.from(encodePackage(PackageType.Heartbeat)));
    const link = await accepted;
    const writes = await sendThree(link, client.localPort!);
    client.destroy();
    assert.deepEqual(writes.map(({ kind, chunks }) => ({ kind, chunks })), [{ kind: 'writev', chunks: 3 }]);
  });

  test('over WebSocket: three frames, one writev', async () => {
    port ||= await server.listen();
    const accepted = nextLink();
    const client = new WebSocket(`ws://127.0.0.1:${port}/`);
    await once(client, 'open');
    const link = await accepted;
    const localPort = (client as unknown as { _socket: Socket })._socket.localPort!;
    const writes = await sendThree(link, localPort);
    client.terminate();
    assert.equal(writes.length, 1, `one write call, not ${JSON.stringify(writes.map(({ kind, chunks }) => ({ kind, chunks })))}`);
    assert.equal(writes[0]!.kind, 'writev');
    // ws writes each frame's header and its payload as two chunks.
    assert.ok(writes[0]!.chunks >= 3, `every frame in it: ${writes[0]!.chunks} chunks`);
  });
});
