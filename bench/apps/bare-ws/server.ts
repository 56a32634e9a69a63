// The broadcast bench's baseline: a bare `ws` server, nothing else. Its clients send nothing but a
// trigger, `{"blast":K}`: the server then sends K pushes to every connected socket, each push
// encoded once (the same Pomelo push package Shaddock's frontend sends, so the load client does the
// same work per delivery on both sides) and handed to every socket's `send`.
// Prints "ready <port>" on stdout once listening on 127.0.0.1 (any free port).
import { WebSocketServer } from 'ws';
import { encodeMessage, encodePackage, MessageType, PackageType } from '../../../src/transport/connector/protocol.ts';

const encoder = new TextEncoder();
const HELLO = encoder.encode('{"hello":1}');
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });

wss.on('connection', (socket) => {
  socket.on('message', (data: Buffer) => {
    const request = JSON.parse(data.toString()) as { blast?: number; hello?: number };
    if (request.hello !== undefined) {
      // A client's greeting: one answer to it alone (its socket has then done I/O, as a Pomelo one has).
      socket.send(HELLO);
      return;
    }
    const count = Number(request.blast ?? 1);
    for (let seq = 0; seq < count; seq++) {
      const push = encodePackage(
        PackageType.Data,
        encodeMessage({ type: MessageType.Push, id: 0, route: 'onBlast', compressRoute: false, body: encoder.encode(JSON.stringify({ seq, text: 'blast' })) }),
      );
      for (const client of wss.clients) client.send(push);
    }
  });
});

wss.on('listening', () => {
  const address = wss.address();
  process.stdout.write(`ready ${typeof address === 'object' && address ? address.port : address}\n`);
});
process.on('SIGTERM', () => process.exit(0));
