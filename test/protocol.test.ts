// Pomelo's wire protocol, checked against the independent pinus-protocol package (used only here).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pinus from 'pinus-protocol/dist/index.js';
import {
  decodeMessage,
  encodeDataPackage,
  decodePackages,
  encodeMessage,
  encodePackage,
  MessageType,
  PackageReader,
  PackageType,
  ProtocolError,
  type Message,
} from '../src/transport/connector/protocol.ts';

const { Message: PinusMessage, Package: PinusPackage } = pinus;
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** A spread of messages: every type, small and large ids, plain and compressed routes. */
function sampleMessages(): Message[] {
  // Up to 2^31 - 1: pinus-protocol mangles larger ids (clients count from 1, so none reaches them).
  const ids = [1, 127, 128, 300, 16_383, 16_384, 2_097_151, 2_097_152, 268_435_455, 268_435_456, 2_147_483_647];
  const messages: Message[] = [];
  for (const id of ids) {
    messages.push({ type: MessageType.Request, id, route: 'chat.chatHandler.send', compressRoute: false, gzip: false, body: bytes('{"content":"hi"}') });
    messages.push({ type: MessageType.Response, id, route: '', compressRoute: false, gzip: false, body: bytes('{"code":200}') });
  }
  messages.push({ type: MessageType.Request, id: 7, route: 0x1234, compressRoute: true, gzip: false, body: bytes('{}') });
  messages.push({ type: MessageType.Notify, id: 0, route: 'connector.entryHandler.leave', compressRoute: false, gzip: false, body: bytes('{"x":1}') });
  messages.push({ type: MessageType.Notify, id: 0, route: 3, compressRoute: true, gzip: false, body: new Uint8Array(0) });
  messages.push({ type: MessageType.Push, id: 0, route: 'onChat', compressRoute: false, gzip: false, body: bytes('{"msg":"ü ✓ 🎲"}') });
  messages.push({ type: MessageType.Push, id: 0, route: 'r'.repeat(255), compressRoute: false, gzip: false, body: bytes('{}') });
  messages.push({ type: MessageType.Push, id: 0, route: 65_535, compressRoute: true, gzip: true, body: new Uint8Array([1, 2, 3]) });
  return messages;
}

function pinusEncode(m: Message): Uint8Array {
  return PinusMessage.encode(m.id, m.type, m.compressRoute, m.route, Buffer.from(m.body), m.gzip);
}

describe('messages', () => {
  test('encode exactly as pinus-protocol does', () => {
    for (const m of sampleMessages()) {
      assert.deepEqual(Buffer.from(encodeMessage(m)), Buffer.from(pinusEncode(m)), `${m.type} ${m.id} ${String(m.route)}`);
    }
  });

  test('decode what pinus-protocol encodes, and round-trip', () => {
    for (const m of sampleMessages()) {
      assert.deepEqual(decodeMessage(pinusEncode(m)), m);
      assert.deepEqual(decodeMessage(encodeMessage(m)), m);
      const theirs = PinusMessage.decode(Buffer.from(encodeMessage(m)));
      assert.equal(theirs.id, m.type === MessageType.Request || m.type === MessageType.Response ? m.id : 0);
      if (m.type !== MessageType.Response) assert.equal(theirs.route, m.route);
      assert.deepEqual(Buffer.from(theirs.body), Buffer.from(m.body));
    }
  });

  test('ids up to 2^32 - 1 round-trip in five varint bytes', () => {
    const m: Message = { type: MessageType.Response, id: 0xffffffff, route: '', compressRoute: false, gzip: false, body: bytes('{}') };
    const encoded = encodeMessage(m);
    assert.deepEqual([...encoded.subarray(0, 6)], [0x04, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert.deepEqual(decodeMessage(encoded), m);
  });

  test('malformed messages are errors naming what and where', () => {
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array([]), /empty message \(at byte 0\)/],
      [new Uint8Array([0x0e]), /unknown message type 7 \(at byte 0\)/],
      [new Uint8Array([0x00, 0x80, 0x80]), /truncated message id \(at byte 3\)/],
      [new Uint8Array([0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), /message id longer than 5 bytes \(at byte 6\)/],
      // Five bytes can say 2^35 - 1: an id the server could not answer (found by the connector fuzz).
      [new Uint8Array([0x00, 0xff, 0xff, 0xff, 0xff, 0x7f]), /message id 34359738367 exceeds 32 bits \(at byte 1\)/],
      [new Uint8Array([0x00, 0x01, 0x05, 0x61]), /route of 5 bytes runs past the end of the message \(at byte 2\)/],
      [new Uint8Array([0x03, 0x01]), /truncated route code \(at byte 1\)/],
      [new Uint8Array([0x02]), /missing route length \(at byte 1\)/],
      [new Uint8Array([0x02, 0x02, 0xc3, 0x28]), /route is not valid UTF-8 \(at byte 2\)/],
    ];
    for (const [input, expected] of cases) assert.throws(() => decodeMessage(input), (e: unknown) => e instanceof ProtocolError && expected.test(e.message));
  });
});

describe('packages', () => {
  const body = encodeMessage(sampleMessages()[0]!);

  test('encode exactly as pinus-protocol does, for every type', () => {
    for (const type of Object.values(PackageType)) {
      assert.deepEqual(Buffer.from(encodePackage(type, body)), Buffer.from(PinusPackage.encode(type, Buffer.from(body))));
      assert.deepEqual(Buffer.from(encodePackage(type)), Buffer.from(PinusPackage.encode(type)));
    }
  });

  test('several packages in one chunk', () => {
    const chunk = Buffer.concat([PinusPackage.encode(PackageType.Heartbeat), PinusPackage.encode(PackageType.Data, Buffer.from(body)), PinusPackage.encode(PackageType.Kick, Buffer.from('{"reason":"x"}'))]);
    const packages = decodePackages(chunk);
    assert.deepEqual(packages.map((p) => p.type), [PackageType.Heartbeat, PackageType.Data, PackageType.Kick]);
    assert.deepEqual(Buffer.from(packages[1]!.body), Buffer.from(body));
  });

  test('a stream split at every byte offset reassembles the same packages', () => {
    const stream = Buffer.concat([encodePackage(PackageType.Data, body), encodePackage(PackageType.Heartbeat), encodePackage(PackageType.Data, bytes('x'.repeat(300)))]);
    const whole = decodePackages(stream);
    for (let cut = 0; cut <= stream.length; cut++) {
      for (const step of [1, 3, 7]) {
        const reader = new PackageReader();
        const got = [...reader.push(stream.subarray(0, cut))];
        for (let at = cut; at < stream.length; at += step) got.push(...reader.push(stream.subarray(at, Math.min(stream.length, at + step))));
        assert.deepEqual(got, whole);
        assert.equal(reader.buffered, 0);
      }
    }
  });

  test('bad packages are errors naming the stream offset, before the body is buffered', () => {
    const reader = new PackageReader(64);
    reader.push(encodePackage(PackageType.Heartbeat));
    assert.throws(() => reader.push(new Uint8Array([9, 0, 0, 0])), /unknown package type 9 \(at byte 4\)/);
    const big = new PackageReader(64);
    assert.throws(() => big.push(new Uint8Array([PackageType.Data, 0, 0, 65])), /package of 65 bytes exceeds the limit of 64 \(at byte 1\)/);
    assert.throws(() => decodePackages(encodePackage(PackageType.Data, body).subarray(0, 6)), /truncated package/);
  });

  test('fuzz: random and truncated input only ever raises ProtocolError', () => {
    let seed = 42;
    const random = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const valid = [...encodePackage(PackageType.Data, body)];
    for (let i = 0; i < 5_000; i++) {
      const length = Math.floor(random() * 40);
      const input = i % 2 ? Uint8Array.from({ length }, () => Math.floor(random() * 256)) : Uint8Array.from(valid.slice(0, length));
      for (const decode of [() => decodePackages(input, 1024), () => decodeMessage(input)]) {
        try {
          decode();
        } catch (error) {
          assert.ok(error instanceof ProtocolError, `unexpected ${String(error)} for ${Buffer.from(input).toString('hex')}`);
        }
      }
    }
  });
});

test('encodeDataPackage is encodePackage(Data, encodeMessage(m)) in one allocation, for every sample', () => {
  for (const m of sampleMessages()) {
    assert.deepEqual(encodeDataPackage(m), encodePackage(PackageType.Data, encodeMessage(m)));
  }
});
