// Unit: the NATS micro service's checks and counters, the JSON codec's header, the metrics
// labelling the master applies, and createApp's check of the registry it is given. No network:
// the service's replies are built by the same methods that answer $SRV requests.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { Registry } from 'prom-client';
import { createApp } from '../src/index.ts';
import { countRestarts, labelled } from '../src/actors/master/metrics.ts';
import type { MetricFamily } from '../src/transport/wire.ts';
import { ProcessMetrics } from '../src/actors/runtime/metrics.ts';
import { decodeBody, encode, encodeJson, isJson } from '../src/transport/codec.ts';
import { EndpointStats, MicroService, microSubject } from '../src/transport/micro.ts';

/** A connection that is never used: these tests do not start the service. */
const unused = {} as NatsConnection;

describe('NATS micro service', () => {
  test('subjects: plain, by name, by name and id', () => {
    assert.equal(microSubject('PING'), '$SRV.PING');
    assert.equal(microSubject('INFO', 'shaddock-chat-chat'), '$SRV.INFO.shaddock-chat-chat');
    assert.equal(microSubject('STATS', 'shaddock-chat-chat', 'chat-server-1'), '$SRV.STATS.shaddock-chat-chat.chat-server-1');
    assert.throws(() => microSubject('PING', undefined, 'x'), /an id needs a name/);
  });

  test('a bad name, id or version is refused, naming it', () => {
    const config = { name: 'svc', id: 'one', version: '1.0.0', description: '' };
    assert.throws(() => new MicroService(unused, { ...config, name: 'a.b' }), /service name "a\.b" must match/);
    assert.throws(() => new MicroService(unused, { ...config, id: '' }), /service id must not be empty/);
    assert.throws(() => new MicroService(unused, { ...config, version: '1.0' }), /service version "1\.0" is not a semantic version/);
    assert.throws(() => new EndpointStats({ name: 'remote.chat', subject: 's' }), /endpoint name "remote\.chat" must match/);
    assert.throws(() => new EndpointStats({ name: 'ok', subject: '' }), /subject must not be empty/);
  });

  test('ping, info and stats carry the schemas\' fields; stats count requests, errors and nanoseconds', () => {
    const service = new MicroService(unused, { name: 'svc', id: 'one', version: '1.2.3-rc.1', description: 'd', metadata: { k: 'v' } }, Date.UTC(2026, 11, 3, 12));
    const stats = service.endpoint({ name: 'remote-a', subject: 'p.c.rpc.one', metadata: { kind: 'remote' } });
    assert.equal(service.endpoint({ name: 'remote-a', subject: 'p.c.rpc.one' }), stats, 'one endpoint per name');
    assert.deepEqual(service.ping(), { type: 'io.nats.micro.v1.ping_response', name: 'svc', id: 'one', version: '1.2.3-rc.1', metadata: { k: 'v' } });
    assert.deepEqual(service.info().endpoints, [{ name: 'remote-a', subject: 'p.c.rpc.one', metadata: { kind: 'remote' } }]);
    stats.record(1.5);
    stats.record(0.5, new RangeError('too far'));
    const reply = service.statsResponse();
    assert.equal(reply.started, '2026-12-03T12:00:00.000Z');
    assert.deepEqual(reply.endpoints, [
      { name: 'remote-a', subject: 'p.c.rpc.one', num_requests: 2, num_errors: 1, last_error: 'RangeError: too far', processing_time: 2_000_000, average_processing_time: 1_000_000 },
    ]);
  });
});

describe('JSON bodies', () => {
  test('the Content-Type header picks JSON; without it the body is msgpack', () => {
    const marked = headers();
    marked.set('Content-Type', 'application/json; charset=utf-8');
    const json = { data: encodeJson({ remote: 'r', method: 'm', args: [1] }), headers: marked };
    assert.equal(isJson(json), true);
    assert.deepEqual(decodeBody(json), { remote: 'r', method: 'm', args: [1] });
    const plain = { data: encode({ a: 1 }) };
    assert.equal(isJson(plain), false);
    assert.deepEqual(decodeBody(plain), { a: 1 });
    assert.throws(() => decodeBody({ data: new TextEncoder().encode('{"a":'), headers: marked }), SyntaxError);
  });
});

describe('metrics', () => {
  test('the master labels each value with its server, keeping labels it already has', () => {
    const family: MetricFamily = { name: 'm', help: 'h', type: 'counter', aggregator: 'sum', values: [{ value: 1, labels: {} }, { value: 2, labels: { server_id: 'other' } }] };
    assert.deepEqual(labelled([family], { id: 's1', serverType: 't' })[0]!.values, [
      { value: 1, labels: { server_id: 's1', server_type: 't' } },
      { value: 2, labels: { server_id: 'other', server_type: 't' } },
    ]);
  });

  test('shaddock_restarts_total reads the restarts at each scrape', async () => {
    const registry = new Registry();
    let restarts = 1;
    countRestarts(registry, () => [{ id: 'chat-1', serverType: 'chat', restarts }]);
    assert.match(await registry.metrics(), /^shaddock_restarts_total\{server_id="chat-1",server_type="chat"\} 1$/m);
    restarts = 3;
    assert.match(await registry.metrics(), /^shaddock_restarts_total\{server_id="chat-1",server_type="chat"\} 3$/m);
  });

  test('the process metrics go on the registry given, under shaddock_ names', async () => {
    const registry = new Registry();
    const metrics = new ProcessMetrics(registry);
    metrics.countConnections(() => 4);
    metrics.pushes.inc();
    const text = await registry.metrics();
    assert.match(text, /^shaddock_client_connections 4$/m);
    assert.match(text, /^shaddock_pushes_total 1$/m);
    for (const name of (await registry.getMetricsAsJSON()).map((metric) => metric.name)) assert.match(name, /^shaddock_/);
  });

  test('createApp refuses a metrics registry that is not one', () => {
    assert.throws(() => createApp({ metrics: {} as Registry, serverType: 'master' }), /`metrics` must be a prom-client Registry/);
  });
});
