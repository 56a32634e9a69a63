// Integration: W3C trace context across the processes of the example chat cluster. Each process
// loads a minimal OpenTelemetry set-up written for this test (harness/span-recorder.mjs: context
// manager, traceparent propagator, a tracer that publishes its ended spans on NATS), as a user's
// SDK would be; Shaddock itself uses only @opentelemetry/api. A client request is then one trace:
// the frontend's spans, the forwarded handler's and the remote calls it makes, parent to child.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { headers } from '@nats-io/transport-node';
import { Packr } from 'msgpackr';
import { PinusClient } from './harness/pinus-client.ts';
import { repoRoot, startCluster, useNats, type TestCluster } from './harness/index.ts';

const bus = useNats();
const SPANS = 'test.spans';
const recorder = pathToFileURL(fileURLToPath(new URL('./harness/span-recorder.mjs', import.meta.url))).href;
const msgpack = new Packr({ useRecords: false, mapsAsObjects: true });

interface RecordedSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  serverId: string;
  attributes: Record<string, unknown>;
  status?: { code: number };
}

/** Every span the cluster's processes ended, as they arrive; `next` waits for one that matches. */
function spanLog() {
  const spans: RecordedSpan[] = [];
  const waiters: { match: (span: RecordedSpan) => boolean; resolve: (span: RecordedSpan) => void }[] = [];
  const subscription = bus.nc.subscribe(SPANS, {
    callback: (_error, msg) => {
      const span = JSON.parse(new TextDecoder().decode(msg.data)) as RecordedSpan;
      spans.push(span);
      for (const waiter of waiters.splice(0)) {
        if (waiter.match(span)) waiter.resolve(span);
        else waiters.push(waiter);
      }
    },
  });
  const next = (what: string, match: (span: RecordedSpan) => boolean): Promise<RecordedSpan> => {
    const seen = spans.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no span ${what}; got ${spans.map((s) => `${s.serverId}:${s.name}`).join(', ')}`)), 10_000);
      waiters.push({ match, resolve: (span) => (clearTimeout(timer), resolve(span)) });
    });
  };
  return { next, stop: () => subscription.unsubscribe() };
}

describe('one trace across the servers of a request', () => {
  let cluster: TestCluster;
  let log: ReturnType<typeof spanLog>;
  before(async () => {
    log = spanLog();
    await bus.nc.flush();
    cluster = await startCluster(join(repoRoot, 'examples/chat'), 'test', bus.url, {
      env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${recorder}`.trim(), SHADDOCK_TEST_SPANS_NATS: bus.url, SHADDOCK_TEST_SPANS: SPANS },
    });
  });
  after(async () => {
    log?.stop();
    await cluster?.destroy();
  });

  test('an RPC request carrying traceparent is served in a child span of it', async () => {
    const traceId = randomBytes(16).toString('hex');
    const parent = randomBytes(8).toString('hex');
    const traced = headers();
    traced.set('traceparent', `00-${traceId}-${parent}-01`);
    const reply = await bus.nc.request('shaddock.chat.rpc.chat-server-1', msgpack.pack({ remote: 'chatRemote', method: 'whereIs', args: ['room-t'] }), { timeout: 5_000, headers: traced });
    assert.equal((msgpack.unpack(reply.data) as { ok: boolean }).ok, true);
    const span = await log.next('remote chatRemote.whereIs of our trace', (s) => s.traceId === traceId);
    assert.equal(span.name, 'remote chatRemote.whereIs');
    assert.equal(span.serverId, 'chat-server-1');
    assert.equal(span.parentSpanId, parent);
    assert.equal(span.attributes['rpc.method'], 'whereIs');
  });

  test('a client request is one trace: frontend handler, remote call, forwarded handler', async () => {
    const port = (await cluster.list()).find((row) => row.id === 'connector-server-1')!.clientPort!;
    const client = await PinusClient.connect('tcp', port);
    try {
      await client.request('connector.entryHandler.enter', { username: 'tia', rid: 'room-trace' });
      const entry = await log.next('handler connector.entryHandler.enter', (s) => s.name === 'handler connector.entryHandler.enter' && s.serverId === 'connector-server-1');
      // The handler's app.rpc call carried the handler's context to the chat server.
      const add = await log.next('remote chatRemote.add under the entry', (s) => s.name === 'remote chatRemote.add' && s.parentSpanId === entry.spanId);
      assert.equal(add.traceId, entry.traceId);
      assert.match(add.serverId, /^chat-server-\d$/);

      await client.request('chat.chatHandler.send', { content: 'traced', target: '*' });
      const request = await log.next('request chat.chatHandler.send', (s) => s.name === 'request chat.chatHandler.send' && s.serverId === 'connector-server-1');
      const handler = await log.next('handler chat.chatHandler.send under the request', (s) => s.name === 'handler chat.chatHandler.send' && s.parentSpanId === request.spanId);
      assert.equal(handler.traceId, request.traceId);
      assert.equal(handler.serverId, add.serverId, 'the room\'s chat server ran the forwarded handler');
      assert.notEqual(request.traceId, entry.traceId, 'each client request is a trace of its own');
    } finally {
      client.close();
    }
  });
});
