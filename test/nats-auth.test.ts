// Any NATS set-up (issue #14): each authentication nats-server offers (token, user/password,
// nkey, creds) and TLS with a test CA made here with openssl, first for one connection, then for
// a whole cluster of a JavaScript app configured in master.json; a wrong credential fails
// start-up naming how it authenticated.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { nkeys } from '@nats-io/nats-core';
import { parseNatsOption } from '../src/config/nats.ts';
import { ConfigError } from '../src/config/errors.ts';
import { connectNats, natsOptions } from '../src/transport/nats.ts';
import { appWith, ids, natsWith, upAndRunning, workDir } from './harness/embed.ts';
import { runCli, startCluster, type RunningService, type TestCluster } from './harness/index.ts';

const work = workDir('nats-auth');

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

const seed = nkeys.createUser();
const nkeyPublic = seed.getPublicKey();

before(() => {
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
    nats = await natsWith(work, 'auth', `authorization { users: [ { user: chat, password: "s3cret" }, { nkey: ${nkeyPublic} } ] }\n`);
    const t = join(work, 'tls');
    tls = await natsWith(
      work,
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
      work,
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
    const dir = appWith(work, 'tls-app', { nats, cluster: 'tlsapp' });
    cluster = await startCluster(dir, 'test', undefined);
    assert.deepEqual(ids(await cluster.list()), upAndRunning);
    const stopped = await runCli(['stop', '-d', dir, '-e', 'test']);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /stopped: echo-1 and the master/);
  });

  test('a wrong nkey: start fails with a message naming the servers and the seed file', async () => {
    const other = nkeys.createUser();
    writeFileSync(join(work, 'other.nk'), new TextDecoder().decode(other.getSeed()));
    const dir = appWith(work, 'tls-wrong', { nats: { servers: tls.url, nkeyFile: '../other.nk', tls: { ca: '../tls/ca.pem', cert: '../tls/client.pem', key: '../tls/client-key.pem' } } });
    const started = await runCli(['start', '-d', dir, '-e', 'test']);
    assert.equal(started.code, 1);
    assert.match(`${started.stdout}${started.stderr}`, new RegExp(`cannot connect to NATS at ${tls.url}: .*\\(authenticating with the nkey seed in ${join(work, 'other.nk')}\\)`, 'i'));
  });
});

