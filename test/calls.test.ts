// The one call layer: RPC and forwarded client requests wait in one pending-calls table, time out
// through its one sweeper and fail together when their server goes; servers drain on one counter.
// Against a real nats-server; time is a SimulatedClock, advanced by hand.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Msg } from '@nats-io/transport-node';
import { openCallLayer } from '../src/actors/server/call-layer.ts';
import { ServerDirectory } from '../src/actors/server/directory.ts';
import { SimulatedClock } from '../src/clock.ts';
import { decode, encode } from '../src/transport/codec.ts';
import { ForwardClient, ForwardServer } from '../src/transport/forwarding.ts';
import { InFlight } from '../src/transport/in-flight.ts';
import { SWEEP_INTERVAL } from '../src/transport/pending-calls.ts';
import { RpcServer, type RpcReply } from '../src/transport/rpc.ts';
import { subjects } from '../src/transport/subjects.ts';
import type { ServerInfo } from '../src/types.ts';
import { useNats } from './harness/cluster.ts';
import { startEmbeddedNats } from '../src/actors/master/embedded-broker.ts';
import { connectNats } from '../src/transport/nats.ts';
import type { BusUnavailableError } from '../src/errors.ts';

const nats = useNats();

/** What a call has come to so far: `pending` until it settles. */
function watch(promise: Promise<unknown>): { readonly outcome: 'pending' | { value: unknown } | { error: Error } } {
  const state: { outcome: 'pending' | { value: unknown } | { error: Error } } = { outcome: 'pending' };
  promise.then(
    (value) => (state.outcome = { value }),
    (error: Error) => (state.outcome = { error }),
  );
  return state;
}

/** Lets NATS deliver and promise callbacks run: one turn of the event loop, no time passing. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

function failure(call: ReturnType<typeof watch>): Error {
  const outcome = call.outcome;
  assert.ok(outcome !== 'pending' && 'error' in outcome, `expected a rejection, got ${JSON.stringify(outcome)}`);
  return outcome.error;
}

/**
 * A process's call layer on its own cluster's subjects and a simulated clock: the table, the RPC
 * caller and a forwarder on it, and the directory (300 ms heartbeat timeout, not started) whose
 * silent servers fail their calls.
 */
function layer(cluster: string) {
  const clock = new SimulatedClock();
  const names = subjects('shaddock', cluster);
  const directory = new ServerDirectory(nats.nc, names, 300, undefined, clock);
  const { calls, rpc } = openCallLayer(nats.nc, directory, clock);
  const forwarder = new ForwardClient(nats.nc, names, 'connector-1', calls);
  forwarder.start();
  const rpcTo = (serverId: string, timeout = 10_000) =>
    watch(rpc.call(names.rpc(serverId), serverId, { remote: 'muteRemote', method: 'wait', args: [] }, timeout));
  const forwardTo = (serverId: string, timeout = 10_000) => watch(forwarder.call(serverId, 'muteHandler', 'wait', {}, {}, timeout));
  const close = () => {
    directory.stop();
    forwarder.stop();
    calls.stop();
  };
  return { clock, names, directory, calls, rpc, forwarder, rpcTo, forwardTo, close };
}

/**
 * A server that takes requests on its RPC and handler subjects and never answers, so that no
 * "no responders" comes back; `received` resolves once it has `count` messages.
 */
async function muteServer(names: ReturnType<typeof subjects>, serverId: string, count: number) {
  let seen = 0;
  let done: () => void = () => {};
  const received = new Promise<void>((resolve) => (done = resolve));
  const callback = () => {
    if (++seen === count) done();
  };
  const subscriptions = [nats.nc.subscribe(names.rpc(serverId), { callback }), nats.nc.subscribe(names.handler(serverId), { callback })];
  await nats.nc.flush();
  return { received, close: () => subscriptions.forEach((subscription) => subscription.unsubscribe()) };
}

describe('one pending-calls table for RPC and forwarded calls', () => {
  test('an RPC and a forwarded call time out through the one sweeper, within one sweep of their deadline', async () => {
    const { clock, names, calls, rpcTo, forwardTo, close } = layer('calls-timeout');
    const mute = await muteServer(names, 'mute-1', 2);
    try {
      const rpc = rpcTo('mute-1', 250);
      const forwarded = forwardTo('mute-1', 250);
      await mute.received;
      assert.equal(calls.size, 2);
      assert.equal(clock.pending, 1, 'one sweeper for both calls, no timer per call');

      clock.advance(250 - SWEEP_INTERVAL / 2);
      await turn();
      assert.equal(rpc.outcome, 'pending');
      assert.equal(forwarded.outcome, 'pending');

      // The deadline (250) falls between two sweeps: the one at 300 rejects both.
      clock.advance(SWEEP_INTERVAL / 2);
      await turn();
      assert.equal(rpc.outcome, 'pending', 'the sweep at 200 is before the deadline');
      clock.advance(SWEEP_INTERVAL);
      await turn();
      const rpcError = failure(rpc);
      assert.equal(rpcError.name, 'RpcTimeoutError');
      assert.equal(rpcError.message, 'rpc muteRemote.wait on server "mute-1" timed out after 250 ms');
      const forwardError = failure(forwarded);
      assert.equal(forwardError.name, 'RpcTimeoutError');
      assert.equal(forwardError.message, 'rpc muteHandler.wait on server "mute-1" timed out after 250 ms');
      assert.equal(calls.size, 0);
      assert.equal(clock.pending, 0, 'the sweeper stops when no call is waiting');
    } finally {
      mute.close();
      close();
    }
  });

  test('an RPC nobody subscribes to fails at once with ServerUnavailableError, through NATS "no responders"', async () => {
    const { calls, rpc, names, close } = layer('calls-no-responders');
    const error = await rpc.call(names.rpc('nobody-1'), 'nobody-1', { remote: 'r', method: 'm', args: [] }, 10_000).then(
      () => assert.fail('resolved'),
      (e: Error) => e,
    );
    assert.equal(error.name, 'ServerUnavailableError');
    assert.equal(error.message, 'server "nobody-1" is not connected');
    assert.equal(calls.size, 0);
    close();
  });

  test('failServer rejects the RPC and forwarded calls to that server at once, and only those; stop rejects the rest', async () => {
    const { clock, names, calls, rpcTo, forwardTo, close } = layer('calls-fail-server');
    const gone = await muteServer(names, 'mute-1', 2);
    const staying = await muteServer(names, 'mute-2', 1);
    try {
      const rpc = rpcTo('mute-1');
      const forwarded = forwardTo('mute-1');
      const other = rpcTo('mute-2');
      await Promise.all([gone.received, staying.received]);

      calls.failServer('mute-1');
      await turn();
      for (const call of [rpc, forwarded]) {
        const error = failure(call);
        assert.equal(error.name, 'ServerUnavailableError');
        assert.equal(error.message, 'server "mute-1" is not connected');
      }
      assert.equal(other.outcome, 'pending');
      assert.equal(calls.size, 1);

      calls.stop();
      await turn();
      assert.equal(failure(other).name, 'ServerUnavailableError');
      assert.equal(clock.pending, 0);
    } finally {
      gone.close();
      staying.close();
      close();
    }
  });

  test('a server the directory finds silent fails its waiting calls at once, RPC and forwarded alike', async () => {
    const { clock, names, directory, calls, rpcTo, forwardTo, close } = layer('calls-silent');
    directory.start();
    const mute = await muteServer(names, 'quiet-1', 2);
    try {
      const up = new Promise((resolve) => directory.once('up', resolve));
      const info: ServerInfo = { id: 'quiet-1', serverType: 'chat', host: '127.0.0.1', frontend: false, pid: 1, state: 'running', remotes: {}, startedAt: 0, rss: 0 };
      nats.nc.publish(names.heartbeat, encode(info));
      await up;
      const rpc = rpcTo('quiet-1');
      const forwarded = forwardTo('quiet-1');
      await mute.received;

      clock.advance(200);
      await turn();
      assert.equal(rpc.outcome, 'pending', 'not silent yet');
      clock.advance(200);
      await turn();
      assert.equal(failure(rpc).name, 'ServerUnavailableError');
      assert.equal(failure(forwarded).name, 'ServerUnavailableError');
      assert.equal(calls.size, 0);
    } finally {
      mute.close();
      close();
    }
  });

  test('an RpcServer answers the RpcCaller and a plain NATS request alike, in the documented wire format', async () => {
    const { names, rpc, calls, close } = layer('calls-wire');
    const server = new RpcServer(nats.nc, names.rpc('echo-1'), (request) => {
      if (request.method === 'fail') throw Object.assign(new Error('out of gold'), { code: 'NO_GOLD' });
      return { echoed: request.args };
    });
    server.start();
    await nats.nc.flush();
    try {
      assert.deepEqual(await rpc.call(names.rpc('echo-1'), 'echo-1', { remote: 'echoRemote', method: 'echo', args: [1, 'a'] }, 5_000), { echoed: [1, 'a'] });
      const error = (await rpc.call(names.rpc('echo-1'), 'echo-1', { remote: 'echoRemote', method: 'fail', args: [] }, 5_000).catch((e: Error) => e)) as Error & { code: string };
      assert.equal(error.name, 'RemoteError');
      assert.equal(error.code, 'NO_GOLD');
      assert.equal(error.message, 'out of gold');
      const plain: Msg = await nats.nc.request(names.rpc('echo-1'), encode({ remote: 'echoRemote', method: 'echo', args: ['x'] }), { timeout: 5_000 });
      assert.deepEqual(decode<RpcReply>(plain.data), { ok: true, result: { echoed: ['x'] } });
      assert.equal(calls.size, 0);
    } finally {
      await server.drain();
      close();
    }
  });
});

describe('one drain counter', () => {
  test('idle() resolves at once when nothing is in flight, else only when the last call ends, for every waiter', async () => {
    const inFlight = new InFlight();
    const atOnce = watch(inFlight.idle());
    await turn();
    assert.deepEqual(atOnce.outcome, { value: undefined });

    inFlight.begin();
    inFlight.begin();
    const first = watch(inFlight.idle());
    const second = watch(inFlight.idle());
    inFlight.end();
    await turn();
    assert.equal(first.outcome, 'pending', 'one call is still in flight');
    assert.equal(inFlight.size, 1);
    inFlight.end();
    await turn();
    assert.deepEqual(first.outcome, { value: undefined });
    assert.deepEqual(second.outcome, { value: undefined });
  });

  test('RpcServer and ForwardServer drain only once their last call has answered, and the answers get out', async () => {
    const { names, rpc, forwarder, close } = layer('calls-drain');
    const rpcFinish: (() => void)[] = [];
    const forwardFinish: (() => void)[] = [];
    const slow = (finish: (() => void)[]) => () => new Promise((resolve) => finish.push(() => resolve('done')));
    const rpcServer = new RpcServer(nats.nc, names.rpc('slow-1'), slow(rpcFinish));
    const forwardServer = new ForwardServer(nats.nc, names, 'slow-1', slow(forwardFinish));
    rpcServer.start();
    forwardServer.start();
    await nats.nc.flush();
    try {
      const calling = [
        rpc.call(names.rpc('slow-1'), 'slow-1', { remote: 'slowRemote', method: 'wait', args: [] }, 5_000),
        rpc.call(names.rpc('slow-1'), 'slow-1', { remote: 'slowRemote', method: 'wait', args: [] }, 5_000),
        forwarder.call('slow-1', 'slowHandler', 'wait', {}, {}, 5_000),
      ];
      while (rpcFinish.length < 2 || forwardFinish.length < 1) await turn();
      const rpcDrained = watch(rpcServer.drain());
      const forwardDrained = watch(forwardServer.drain());
      rpcFinish[0]!();
      await turn();
      assert.equal(rpcDrained.outcome, 'pending', 'one RPC call is still in flight');
      assert.equal(forwardDrained.outcome, 'pending', 'the forwarded call is still in flight');
      forwardFinish[0]!();
      await turn();
      assert.deepEqual(forwardDrained.outcome, { value: undefined });
      assert.equal(rpcDrained.outcome, 'pending');
      rpcFinish[1]!();
      await turn();
      assert.deepEqual(rpcDrained.outcome, { value: undefined });
      assert.deepEqual(await Promise.all(calling), ['done', 'done', 'done']);
    } finally {
      close();
    }
  });
});

describe('calls while the NATS connection is down', () => {
  test('a waiting call fails at once, a new one is refused unsent, and calls flow again once NATS is back', { timeout: 60_000 }, async () => {
    let broker = await startEmbeddedNats();
    const caller = await connectNats({ servers: [broker.url] }, 'caller');
    const callee = await connectNats({ servers: [broker.url] }, 'callee');
    const clock = new SimulatedClock();
    const names = subjects('shaddock', 'calls-outage');
    const directory = new ServerDirectory(caller, names, 300, undefined, clock);
    const { calls, rpc } = openCallLayer(caller, directory, clock);
    const forwarder = new ForwardClient(caller, names, 'connector-1', calls);
    forwarder.start();
    // The callee answers calls whose first argument is "answer" and keeps the others waiting.
    const received: unknown[] = [];
    let heard: (request: { args: unknown[] }) => void = () => {};
    callee.subscribe(names.rpc('server-1'), {
      callback: (_error, msg) => {
        const request = decode<{ args: unknown[] }>(msg.data);
        received.push(request.args[0]);
        heard(request);
        if (request.args[0] === 'answer') msg.respond(encode({ ok: true, result: 'answered' } satisfies RpcReply));
      },
    });
    await callee.flush();
    const call = (tag: string) => rpc.call(names.rpc('server-1'), 'server-1', { remote: 'r', method: 'm', args: [tag] }, 60_000);
    try {
      const arrived = new Promise((resolve) => (heard = resolve));
      const waiting = call('waiting').then(() => assert.fail('resolved'), (e: Error) => e);
      await arrived;
      const port = broker.port;
      await broker.stop();
      // No timer: the lost connection fails it, long before its 60 s timeout.
      const lost = await waiting;
      assert.equal(lost.name, 'BusUnavailableError');
      assert.equal((lost as BusUnavailableError).sent, true);
      assert.match(lost.message, /^r\.m on server "server-1" got no answer: the NATS connection was lost/);

      const refusedRpc = await call('refused').then(() => assert.fail('resolved'), (e: Error) => e);
      assert.equal(refusedRpc.name, 'BusUnavailableError');
      assert.equal((refusedRpc as BusUnavailableError).sent, false);
      assert.equal(refusedRpc.message, 'r.m on server "server-1" was not sent: no NATS connection (reconnecting)');
      const refusedForward = await forwarder.call('server-1', 'h', 'm', {}, {}, 60_000).then(() => assert.fail('resolved'), (e: Error) => e);
      assert.equal(refusedForward.name, 'BusUnavailableError');
      assert.equal(calls.size, 0);

      const back = (nc: typeof caller) =>
        (async () => {
          for await (const status of nc.status()) if (status.type === 'reconnect') return;
        })();
      const reconnected = Promise.all([back(caller), back(callee)]);
      broker = await startEmbeddedNats({ port });
      await reconnected;
      await callee.flush();
      assert.equal(await call('answer'), 'answered');
      // What was refused was never sent: nats.js did not deliver it after the reconnect.
      assert.deepEqual(received, ['waiting', 'answer']);
    } finally {
      directory.stop();
      forwarder.stop();
      calls.stop();
      await caller.close();
      await callee.close();
      await broker.stop();
    }
  });
});
