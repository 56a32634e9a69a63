import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { existsSync } from 'node:fs';
import { connect } from '@nats-io/transport-node';
import {
  fourLetterWord,
  freePort,
  redisPing,
  startNats,
  startRedis,
  startZookeeper,
  type RunningService,
} from './harness/index.ts';

function assertPidGone(pid: number): void {
  assert.throws(
    () => process.kill(pid, 0),
    (err: NodeJS.ErrnoException) => err.code === 'ESRCH',
    `pid ${pid} is still running`,
  );
}

function assertPidAlive(pid: number): void {
  assert.doesNotThrow(() => process.kill(pid, 0), `pid ${pid} is not running`);
}

function encodeCommand(args: readonly string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/** Length of one complete RESP reply at the start of `buf` (simple, error, integer, bulk), or -1. */
function completeReplyLength(buf: string): number {
  const lineEnd = buf.indexOf('\r\n');
  if (lineEnd < 0) return -1;
  if (buf[0] !== '$') return lineEnd + 2;
  const len = Number(buf.slice(1, lineEnd));
  if (len < 0) return lineEnd + 2;
  const total = lineEnd + 2 + len + 2;
  return buf.length >= total ? total : -1;
}

/** Sends RESP commands on one raw TCP connection and returns each raw reply. */
function redisRaw(port: number, commands: readonly (readonly string[])[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const replies: string[] = [];
    let buf = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis replies incomplete: ${JSON.stringify(replies)} + ${JSON.stringify(buf)}`));
    }, 5_000);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(commands.map(encodeCommand).join('')));
    socket.on('data', (chunk: string) => {
      buf += chunk;
      for (let n = completeReplyLength(buf); n > 0; n = completeReplyLength(buf)) {
        replies.push(buf.slice(0, n));
        buf = buf.slice(n);
      }
      if (replies.length === commands.length) {
        clearTimeout(timer);
        socket.end();
        resolve(replies);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

test('freePort returns a bindable loopback port', async () => {
  const port = await freePort();
  assert.ok(port > 0 && port < 65536);
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test('nats: starts, answers a request/reply round trip, stops', async () => {
  const nats = await startNats();
  try {
    assert.equal(nats.name, 'nats');
    assert.equal(nats.url, `nats://127.0.0.1:${nats.port}`);
    assert.notEqual(nats.port, 4222);
    assertPidAlive(nats.pid);

    const nc = await connect({ servers: nats.url });
    try {
      const sub = nc.subscribe('harness.echo', {
        callback: (err, msg) => {
          if (err === null) msg.respond(`echo:${msg.string()}`);
        },
      });
      await nc.flush();
      const reply = await nc.request('harness.echo', 'hello', { timeout: 2_000 });
      assert.equal(reply.string(), 'echo:hello');
      sub.unsubscribe();
    } finally {
      await nc.close();
    }
  } finally {
    await nats.stop();
  }
  assertPidGone(nats.pid);
  await nats.stop(); // idempotent
});

test('nats: token auth and JetStream options', async () => {
  const nats = await startNats({ jetstream: true, token: 's3cret' });
  try {
    await assert.rejects(connect({ servers: nats.url, reconnect: false }));
    const nc = await connect({ servers: nats.url, token: 's3cret' });
    try {
      const info = await nc.request('$JS.API.INFO', '', { timeout: 2_000 });
      const body = info.json<{ type?: string; error?: unknown }>();
      assert.equal(body.error, undefined);
      assert.equal(body.type, 'io.nats.jetstream.api.v1.account_info_response');
    } finally {
      await nc.close();
    }
  } finally {
    await nats.stop();
  }
  assertPidGone(nats.pid);
});

test('nats: two instances get different ports', async () => {
  const [a, b] = await Promise.all([startNats(), startNats()]);
  try {
    assert.notEqual(a.port, b.port);
    assert.notEqual(a.pid, b.pid);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
  assertPidGone(a.pid);
  assertPidGone(b.pid);
});

test('nats: a missing binary names the Debian package', async () => {
  const saved = process.env['SHADDOCK_NATS_SERVER'];
  process.env['SHADDOCK_NATS_SERVER'] = '/nonexistent/nats-server';
  try {
    await assert.rejects(startNats(), /apt-get install -y nats-server/);
  } finally {
    if (saved === undefined) delete process.env['SHADDOCK_NATS_SERVER'];
    else process.env['SHADDOCK_NATS_SERVER'] = saved;
  }
});

test('redis: starts, answers PING and SET/GET over raw RESP, stops', async () => {
  const redis = await startRedis();
  try {
    assert.equal(redis.name, 'redis');
    assert.equal(redis.url, `redis://127.0.0.1:${redis.port}`);
    assert.notEqual(redis.port, 6379);
    assertPidAlive(redis.pid);

    assert.equal(await redisPing(redis.port), '+PONG');
    const replies = await redisRaw(redis.port, [
      ['PING'],
      ['SET', 'harness:key', 'value with spaces'],
      ['GET', 'harness:key'],
      ['GET', 'harness:missing'],
    ]);
    assert.deepEqual(replies, ['+PONG\r\n', '+OK\r\n', '$17\r\nvalue with spaces\r\n', '$-1\r\n']);
  } finally {
    await redis.stop();
  }
  assertPidGone(redis.pid);
  await redis.stop(); // idempotent
});

test('zookeeper: starts, answers ruok with imok, stops and removes its temp dir', async () => {
  const zk = await startZookeeper();
  let dataDir: string | undefined;
  try {
    assert.equal(zk.name, 'zookeeper');
    assert.equal(zk.url, `127.0.0.1:${zk.port}`);
    assertPidAlive(zk.pid);

    assert.equal((await fourLetterWord(zk.port, 'ruok')).trim(), 'imok');
    const conf = await fourLetterWord(zk.port, 'conf');
    assert.match(conf, new RegExp(`clientPort=${zk.port}`));
    assert.match(conf, /tickTime=500/);
    dataDir = /^dataDir=(.*)$/m.exec(conf)?.[1]?.trim();
    assert.ok(dataDir !== undefined && existsSync(dataDir), `dataDir ${dataDir} exists while running`);
  } finally {
    await zk.stop();
  }
  assertPidGone(zk.pid);
  assert.ok(dataDir !== undefined && !existsSync(dataDir), 'temp dir removed on stop');
  await zk.stop(); // idempotent
});

test('all three at once, each on its own port', async () => {
  const services: RunningService[] = await Promise.all([startNats(), startRedis(), startZookeeper()]);
  try {
    assert.equal(new Set(services.map((s) => s.port)).size, 3);
  } finally {
    await Promise.all(services.map((s) => s.stop()));
  }
  for (const s of services) assertPidGone(s.pid);
});
