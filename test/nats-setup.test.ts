// Any NATS set-up (issue #14): each authentication nats-server offers (token, user/password,
// nkey, creds) and TLS with a test CA made here with openssl, first for one connection, then for
// a whole cluster configured in master.json; a wrong credential fails start-up naming how it
// authenticated; clusters with another prefix or another name on the same NATS never see each
// other; an app's own NatsConnection is used and left open.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { nkeys } from '@nats-io/nats-core';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { parseNatsOption } from '../src/config/nats.ts';
import { ConfigError } from '../src/config/errors.ts';
import { borrowConnection } from '../src/transport/borrowed.ts';
import { decode, encode } from '../src/transport/codec.ts';
import { connectNats, natsOptions } from '../src/transport/nats.ts';
import { subjects } from '../src/transport/subjects.ts';
import type { RpcReply, ServerRow } from '../src/transport/wire.ts';
import { readRunFile } from '../src/actors/master/run-file.ts';
import { freePort, repoRoot, runCli, startCluster, startNats, type RunningService, type TestCluster } from './harness/index.ts';

// Under the repo (gitignored), so the apps copied here resolve `shaddock` and nats.js as the fixtures do.
const work = join(repoRoot, 'test/.tmp', `nats-setup-${process.pid}`);
const fixture = join(repoRoot, 'test/fixtures/embed-app');

function sh(command: string, args: string[], cwd: string): void {
  execFileSync(command, args, { cwd, stdio: 'pipe' });
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA. */
function makeCertificates(dir: string): void {
  mkdirSync(dir, { recursive: true });
  sh('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=shaddock test CA', '-keyout', 'ca-key.pem', '-out', 'ca.pem'], dir);
  for (const name of ['server', 'client']) {
    sh('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}-key.pem`, '-out', `${name}.csr`], dir);
    writeFileSync(join(dir, `${name}.ext`), name === 'server' ? 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' : 'extendedKeyUsage=clientAuth\n');
    sh('openssl', ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', '1', '-extfile', `${name}.ext`, '-out', `${name}.pem`], dir);
  }
}

/** A nats-server with this configuration text, written to a file in `work`. */
async function natsWith(name: string, config: string): Promise<RunningService> {
  const file = join(work, `${name}.conf`);
  writeFileSync(file, config);
  return startNats({ configFile: file });
}

/** Connects with settings as master.json would give them (files relative to `work`), checks the connection works, closes it. */
async function roundTrip(raw: unknown): Promise<void> {
  const nc = await connectNats(parseNatsOption(raw, work, 'test'), 'nats-setup-test');
  try {
    const sub = nc.subscribe('setup.echo', { max: 1, callback: (_e, msg) => void msg.respond(msg.data) });
    const reply = await nc.request('setup.echo', new TextEncoder().encode('ping'), { timeout: 5000 });
    assert.equal(new TextDecoder().decode(reply.data), 'ping');
    sub.unsubscribe();
  } finally {
    await nc.close();
  }
}

/** A copy of the JavaScript fixture app in `work/<name>` with this master.json entry for env `test`. */
function appWith(name: string, master: Record<string, unknown>): string {
  const dir = join(work, name);
  cpSync(fixture, dir, { recursive: true });
  writeFileSync(join(dir, 'config/master.json'), JSON.stringify({ test: { id: 'master-1', host: '127.0.0.1', heartbeatInterval: 200, stopTimeout: 5000, ...master } }));
  return dir;
}

function ids(rows: ServerRow[]): string[] {
  return rows.map((row) => `${row.id}:${row.state}`).sort();
}

/** What `list` shows for the fixture app once it is up. */
const upAndRunning = ['echo-1:connected', 'master-1:leading.running'];

const seed = nkeys.createUser();
const nkeyPublic = seed.getPublicKey();

before(() => {
  mkdirSync(work, { recursive: true });
  makeCertificates(join(work, 'tls'));
  writeFileSync(join(work, 'user.nk'), `${new TextDecoder().decode(seed.getSeed())}\n`);
  // A creds file as nsc writes it. nats-server without an operator checks only the nkey and its
  // signature (the JWT is not looked at), which is what this exercises: the file is read and its seed used.
  writeFileSync(
    join(work, 'user.creds'),
    `-----BEGIN NATS USER JWT-----\neyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.e30.c2ln\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${new TextDecoder().decode(seed.getSeed())}\n------END USER NKEY SEED------\n`,
  );
});

after(() => rmSync(work, { recursive: true, force: true }));

describe('one connection, each way of authenticating', () => {
  let nats: RunningService;
  let tls: RunningService;

  before(async () => {
    nats = await natsWith('auth', `authorization { users: [ { user: chat, password: "s3cret" }, { nkey: ${nkeyPublic} } ] }\n`);
    const t = join(work, 'tls');
    tls = await natsWith(
      'tls',
      `tls { cert_file: "${t}/server.pem", key_file: "${t}/server-key.pem", ca_file: "${t}/ca.pem", verify: true }\nauthorization { token: "t0ken" }\n`,
    );
  });
  after(async () => {
    await nats?.stop();
    await tls?.stop();
  });

  test('user and password; nkey seed file; creds file', async () => {
    await roundTrip({ servers: nats.url, user: 'chat', pass: 's3cret' });
    await roundTrip({ servers: nats.url, nkeyFile: 'user.nk' });
    await roundTrip({ servers: nats.url, credsFile: 'user.creds' });
  });

  test('TLS with the test CA and a client certificate, and a token', async () => {
    await roundTrip({ servers: tls.url, token: 't0ken', tls: { ca: 'tls/ca.pem', cert: 'tls/client.pem', key: 'tls/client-key.pem' } });
  });

  test('a wrong credential fails naming the servers and how it authenticated, never the secret', async () => {
    await assert.rejects(connectNats({ servers: [nats.url], user: 'chat', pass: 'wrong' }, 't'), (error: Error) => {
      assert.match(error.message, new RegExp(`cannot connect to NATS at ${nats.url}: .*authori[sz]ation.*\\(authenticating with user "chat"\\)`, 'i'));
      assert.ok(!error.message.includes('wrong'));
      return true;
    });
    await assert.rejects(
      connectNats(parseNatsOption({ servers: tls.url, token: 'nope', tls: { ca: 'tls/ca.pem', cert: 'tls/client.pem', key: 'tls/client-key.pem' } }, work, 'test'), 't'),
      /authenticating with a token\)/,
    );
    // No client certificate: the server, which verifies clients, refuses the handshake.
    await assert.rejects(connectNats(parseNatsOption({ servers: tls.url, token: 't0ken', tls: { ca: 'tls/ca.pem' } }, work, 'test'), 't'), /cannot connect to NATS/);
  });

  test('settings are checked: unknown fields, half pairs, two ways to authenticate, missing files name their field', () => {
    const field = (raw: unknown): string | undefined => {
      try {
        parseNatsOption(raw, work, 'test');
      } catch (error) {
        assert.ok(error instanceof ConfigError);
        return `${error.field}: ${error.problem}`;
      }
      return undefined;
    };
    assert.equal(field({ servers: 'nats://a:1', tsl: true }), 'nats.tsl: unknown field "tsl"');
    assert.equal(field({ servers: 'nats://a:1', user: 'u' }), 'nats.pass: user and pass go together: give both or neither');
    assert.equal(field({ servers: 'nats://a:1', token: 't', nkeyFile: 'user.nk' }), 'nats.nkeyFile: give one way to authenticate, not token and nkeyFile');
    assert.equal(field({ servers: 'nats://a:1', tls: { cert: 'tls/client.pem' } }), 'nats.tls.key: cert and key go together: give both or neither');
    assert.equal(field({ servers: 'nats://a:1', tls: { ca: 'nope.pem' } }), `nats.tls.ca: no such file: ${join(work, 'nope.pem')}`);
    assert.equal(field({ servers: 'nats://a:1', maxReconnectAttempts: 0 }), 'nats.maxReconnectAttempts: expected -1 (forever) or a positive integer, got 0');
    assert.equal(field({ servers: 'nats://a:1', pingInterval: 1500, maxPingOut: 3, maxReconnectAttempts: -1 }), undefined);
  });

  test('defaults: reconnect forever, ping every 5 s; each configurable', () => {
    const defaults = natsOptions({ servers: ['nats://a:1'] }, 'x');
    assert.equal(defaults.maxReconnectAttempts, -1);
    assert.equal(defaults.pingInterval, 5000);
    assert.equal(defaults.maxPingOut, 2);
    const set = natsOptions({ servers: ['nats://a:1'], pingInterval: 1500, maxPingOut: 3, maxReconnectAttempts: 7, reconnectTimeWait: 900 }, 'x');
    assert.deepEqual([set.pingInterval, set.maxPingOut, set.maxReconnectAttempts, set.reconnectTimeWait], [1500, 3, 7, 900]);
  });
});

describe('a JavaScript cluster on a TLS nats-server that verifies clients, configured in master.json', () => {
  let tls: RunningService;
  let cluster: TestCluster | undefined;

  before(async () => {
    const t = join(work, 'tls');
    tls = await natsWith(
      'cluster-tls',
      `tls { cert_file: "${t}/server.pem", key_file: "${t}/server-key.pem", ca_file: "${t}/ca.pem", verify: true }\nauthorization { users: [ { nkey: ${nkeyPublic} } ] }\n`,
    );
  });
  after(async () => {
    await cluster?.destroy();
    await tls?.stop();
  });

  test('the master, its servers and the CLI all connect with TLS and the nkey; list shows the server; stop stops it', async () => {
    const nats = { servers: tls.url, nkeyFile: '../user.nk', tls: { ca: '../tls/ca.pem', cert: '../tls/client.pem', key: '../tls/client-key.pem' }, pingInterval: 2000 };
    const dir = appWith('tls-app', { nats, cluster: 'tlsapp' });
    cluster = await startCluster(dir, 'test', undefined);
    assert.deepEqual(ids(await cluster.list()), upAndRunning);
    const stopped = await runCli(['stop', '-d', dir, '-e', 'test']);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /stopped: echo-1 and the master/);
  });

  test('a wrong nkey: start fails with a message naming the servers and the seed file', async () => {
    const other = nkeys.createUser();
    writeFileSync(join(work, 'other.nk'), new TextDecoder().decode(other.getSeed()));
    const dir = appWith('tls-wrong', { nats: { servers: tls.url, nkeyFile: '../other.nk', tls: { ca: '../tls/ca.pem', cert: '../tls/client.pem', key: '../tls/client-key.pem' } } });
    const started = await runCli(['start', '-d', dir, '-e', 'test']);
    assert.equal(started.code, 1);
    assert.match(`${started.stdout}${started.stderr}`, new RegExp(`cannot connect to NATS at ${tls.url}: .*\\(authenticating with the nkey seed in ${join(work, 'other.nk')}\\)`, 'i'));
  });
});

describe('isolation on one NATS: another prefix or another cluster name sees nothing', () => {
  let nats: RunningService;
  let watcher: NatsConnection;
  const clusters: TestCluster[] = [];
  const seen = new Set<string>();

  before(async () => {
    nats = await startNats();
    watcher = await connect({ servers: nats.url });
    watcher.subscribe('>', { callback: (_e, msg) => void seen.add(msg.subject.split(".").slice(0, 2).join(".")) });
  });
  after(async () => {
    for (const cluster of clusters) await cluster.destroy();
    await watcher?.close();
    await nats?.stop();
  });

  test('three clusters with the same server ids: each lists only its own, and stopping one leaves the others', async () => {
    const variants = [
      { prefix: 'game', cluster: 'eu' },
      { prefix: 'game', cluster: 'us' },
      { prefix: 'other', cluster: 'eu' },
    ];
    for (const [index, variant] of variants.entries()) {
      clusters.push(await startCluster(appWith(`iso-${index}`, variant), 'test', nats.url));
    }
    // Each master answers its own admin subject with its own server; the same ids would collide otherwise.
    for (const cluster of clusters) assert.deepEqual(ids(await cluster.list()), upAndRunning);
    const [first, ...rest] = clusters as [TestCluster, ...TestCluster[]];
    const stopped = await runCli(['stop', ...first.args]);
    assert.equal(stopped.code, 0, stopped.stderr);
    for (const cluster of rest) assert.deepEqual(ids(await cluster.list()), upAndRunning);
    // Every subject the clusters used starts with one of their bases (plus nats.js's inboxes).
    const bases = new Set(variants.map((v) => `${v.prefix}.${v.cluster}`));
    for (const base of seen) assert.ok(bases.has(base) || base.startsWith('_INBOX.'), `a subject outside the clusters' bases: ${base}`);
    for (const base of bases) assert.ok(seen.has(base), `nothing seen on ${base}`);
  });
});

describe("the app's own NatsConnection (createApp({ nats: nc }))", () => {
  let nats: RunningService;
  let monitorPort: number;
  let cluster: TestCluster | undefined;

  before(async () => {
    monitorPort = await freePort();
    nats = await natsWith('own', `http: "127.0.0.1:${monitorPort}"\n`);
  });
  after(async () => {
    await cluster?.destroy();
    await nats?.stop();
  });

  test('a borrowed connection ends only its own subscriptions; the owner keeps using it', async () => {
    const nc = await connect({ servers: nats.url });
    try {
      const view = borrowConnection(nc);
      const mine = view.subscribe('borrowed.mine');
      const owners = nc.subscribe('borrowed.owner', { callback: (_e, msg) => void msg.respond(msg.data) });
      await view.drain();
      assert.ok(view.isClosed(), 'the view counts as closed');
      assert.ok(!nc.isClosed(), 'the owner connection is open');
      assert.equal(await mine.closed, undefined, "the view's subscription is closed (without an error)");
      assert.ok(!owners.isClosed(), "the owner's subscription is not");
      const reply = await nc.request('borrowed.owner', encode('still here'), { timeout: 5000 });
      assert.equal(decode(reply.data), 'still here');
    } finally {
      await nc.close();
    }
  });

  test('the master and its servers run on the connections the app opened (no embedded broker, none of their own); remotes answer', async () => {
    // No nats in master.json and no --nats: without the app's connection the master would embed a broker.
    const dir = appWith('own-connection', { cluster: 'own' });
    cluster = await startCluster(dir, 'test', undefined, { env: { EMBED_NATS_CONNECT: JSON.stringify({ servers: nats.url, name: 'the-apps-own' }) } });
    assert.deepEqual(ids(await cluster.list()), upAndRunning);
    const run = readRunFile(dir, 'test');
    assert.equal(run?.embeddedNatsPid, undefined, 'no embedded broker');
    const nc = await connect({ servers: nats.url });
    try {
      const reply = await nc.request(subjects('shaddock', 'own').rpc('echo-1'), encode({ remote: 'echoRemote', method: 'echo', args: ['hi'] }), { timeout: 5000 });
      assert.deepEqual(decode<RpcReply>(reply.data), { ok: true, result: { from: 'echo-1', text: 'hi' } });
    } finally {
      await nc.close();
    }
    const connz = (await (await fetch(`http://127.0.0.1:${monitorPort}/connz`)).json()) as { connections: { name?: string }[] };
    const names = connz.connections.map((c) => c.name ?? '');
    assert.equal(names.filter((name) => name === 'the-apps-own').length, 2, `the master's and echo-1's: ${names.join(', ')}`);
    assert.ok(!names.some((name) => name === 'master-1' || name === 'echo-1'), `Shaddock opened none: ${names.join(', ')}`);
    const stopped = await runCli(['stop', ...cluster.args]);
    assert.equal(stopped.code, 0, stopped.stderr);
  });
});
