import { readFileSync } from 'node:fs';
import { credsAuthenticator, nkeyAuthenticator, type Authenticator, type ConnectionOptions, type TlsOptions } from '@nats-io/nats-core';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DEFAULT_NATS_MAX_PING_OUT, DEFAULT_NATS_PING_INTERVAL, DEFAULT_NATS_RECONNECT_TIME_WAIT } from '../config/defaults.ts';
import type { NatsSettings } from '../config/types.ts';

export type { NatsConnection };

export interface ConnectNatsOptions {
  /**
   * Keep trying a NATS that is not there yet, for up to this many ms (then fail). Without it the
   * first failed attempt fails the connect.
   */
  firstConnectTimeout?: number;
}

/** `connecting`, or an error once `ms` have passed without a connection (which is then closed when it comes). */
async function withinFirstConnect(connecting: Promise<NatsConnection>, ms: number): Promise<NatsConnection> {
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new Error(`no connection within ${ms} ms`));
    }, ms);
  });
  // A connection that arrives after the deadline is not wanted: close it.
  void connecting.then(
    (nc) => {
      if (timedOut) void nc.close();
    },
    () => undefined,
  );
  try {
    return await Promise.race([connecting, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** What {@link natsCredentials} makes of a {@link NatsSettings}: URLs without credentials, and the credentials. */
export interface NatsTarget {
  servers: string[];
  token?: string;
  user?: string;
  pass?: string;
}

/** `scheme://` (optional), the userinfo before `@`, and the rest of a URL. */
const withUserinfo = /^((?:[A-Za-z][A-Za-z0-9+.-]*:\/\/)?)([^/@]*)@(.*)$/;

/**
 * nats.js ignores credentials written in a URL, so they are taken out here:
 * `nats://user:pass@host:4222` gives `user` and `pass`, `nats://token@host:4222` a `token`
 * (percent-decoded, as in any URL), the way other NATS clients read them. That is how a URL from
 * `--nats` or `SHADDOCK_NATS_URL` (which replaces master.json `nats` entirely) carries them.
 * Credentials given as fields (`token`, `user`, `pass`) win over those in URLs. The URLs come back
 * without their credentials, so no error message or log line shows them.
 *
 * @throws when two URLs carry different credentials (a connection presents only one set).
 */
export function natsCredentials(settings: NatsSettings): NatsTarget {
  let fromUrl: { userinfo: string; url: string } | undefined;
  const servers = settings.servers.map((url) => {
    const match = withUserinfo.exec(url);
    if (!match) return url;
    const [, scheme = '', userinfo = '', rest = ''] = match;
    if (fromUrl !== undefined && fromUrl.userinfo !== userinfo) {
      throw new Error(`NATS URLs carry different credentials (${fromUrl.url} and ${scheme}${rest}): give one set, or none in the URLs and nats.user/pass or nats.token in master.json`);
    }
    fromUrl ??= { userinfo, url: `${scheme}${rest}` };
    return `${scheme}${rest}`;
  });
  const explicit = settings.token !== undefined || settings.user !== undefined || settings.pass !== undefined;
  if (explicit || fromUrl === undefined || fromUrl.userinfo === '') {
    return {
      servers,
      ...(settings.token !== undefined ? { token: settings.token } : {}),
      ...(settings.user !== undefined ? { user: settings.user } : {}),
      ...(settings.pass !== undefined ? { pass: settings.pass } : {}),
    };
  }
  const colon = fromUrl.userinfo.indexOf(':');
  if (colon === -1) return { servers, token: decodeURIComponent(fromUrl.userinfo) };
  return { servers, user: decodeURIComponent(fromUrl.userinfo.slice(0, colon)), pass: decodeURIComponent(fromUrl.userinfo.slice(colon + 1)) };
}

/** How the connection proves who it is, for error messages: never the secret itself. */
function authKind(target: NatsTarget, settings: NatsSettings): string | undefined {
  if (settings.credsFile) return `the creds file ${settings.credsFile}`;
  if (settings.nkeyFile) return `the nkey seed in ${settings.nkeyFile}`;
  if (target.token !== undefined) return 'a token';
  if (target.user !== undefined) return `user "${target.user}"`;
  return undefined;
}

/** A file's contents for an authenticator, or an error naming the setting and the file. */
function readSecret(field: string, file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new Error(`nats.${field}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
  }
}

/** nkey seed or creds file, read now (so a missing file fails start-up), as a nats.js authenticator. */
function authenticatorOf(settings: NatsSettings): Authenticator | undefined {
  if (settings.credsFile) return credsAuthenticator(readSecret('credsFile', settings.credsFile));
  if (settings.nkeyFile) {
    const seed = new TextDecoder().decode(readSecret('nkeyFile', settings.nkeyFile)).trim();
    if (!seed.startsWith('SU')) throw new Error(`nats.nkeyFile: ${settings.nkeyFile} does not hold a user NKey seed (one line starting with "SU")`);
    return nkeyAuthenticator(new TextEncoder().encode(seed));
  }
  return undefined;
}

function tlsOf(settings: NatsSettings): TlsOptions | undefined {
  const { tls } = settings;
  if (!tls) return undefined;
  return {
    ...(tls.ca !== undefined ? { caFile: tls.ca } : {}),
    ...(tls.cert !== undefined ? { certFile: tls.cert } : {}),
    ...(tls.key !== undefined ? { keyFile: tls.key } : {}),
    ...(tls.handshakeFirst !== undefined ? { handshakeFirst: tls.handshakeFirst } : {}),
  };
}

/**
 * The nats.js options for a {@link NatsSettings}: credentials (fields, URLs, nkey or creds
 * file), TLS, and keepalive. Defaults (defaults.ts) make a server outlive any NATS outage: it
 * reconnects forever, and pings often enough to notice a dead connection within seconds rather
 * than nats.js's minutes.
 */
export function natsOptions(settings: NatsSettings, name: string): ConnectionOptions & { servers: string[] } {
  const target = natsCredentials(settings);
  const authenticator = authenticatorOf(settings);
  const tls = tlsOf(settings);
  return {
    ...target,
    ...(authenticator ? { authenticator } : {}),
    ...(tls ? { tls } : {}),
    name: settings.name ? `${settings.name}:${name}` : name,
    // Servers must survive a NATS restart: keep trying, and buffer while away.
    maxReconnectAttempts: settings.maxReconnectAttempts ?? -1,
    reconnectTimeWait: settings.reconnectTimeWait ?? DEFAULT_NATS_RECONNECT_TIME_WAIT,
    pingInterval: settings.pingInterval ?? DEFAULT_NATS_PING_INTERVAL,
    maxPingOut: settings.maxPingOut ?? DEFAULT_NATS_MAX_PING_OUT,
    // nats.js otherwise builds (and captures stacks for) extra Error objects on every request,
    // about half the CPU of a request under load. Shaddock turns transport failures into its own
    // errors (RpcTimeoutError, ServerUnavailableError) naming server and method, so the call
    // site those traces would add is not needed.
    noAsyncTraces: true,
    // No option for "no responders": nats.js asks for it (`headers` and `no_responders` in its
    // CONNECT) whenever the server supports headers, as every nats-server since 2.2 does. The
    // server then answers a request nobody subscribes to with an empty 503 status message on
    // its reply subject, which RpcCaller turns into ServerUnavailableError.
  };
}

/**
 * Connects to NATS with the cluster's settings (see {@link natsOptions}). `name` shows up in NATS
 * monitoring (`/connz`), so an operator can tell which server a connection belongs to.
 *
 * @throws an Error naming the servers and, on a refused credential, how the connection authenticated.
 */
export async function connectNats(settings: NatsSettings, name: string, options: ConnectNatsOptions = {}): Promise<NatsConnection> {
  const opts = natsOptions(settings, name);
  const { firstConnectTimeout } = options;
  try {
    const connecting = connect({
      ...opts,
      // A server started while NATS is away keeps trying (every reconnectTimeWait) rather than exiting.
      ...(firstConnectTimeout !== undefined ? { waitOnFirstConnect: true } : {}),
    });
    if (firstConnectTimeout === undefined) return await connecting;
    return await withinFirstConnect(connecting, firstConnectTimeout);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const auth = /authori[sz]ation|authentication/i.test(reason) ? authKind(opts, settings) : undefined;
    throw new Error(`cannot connect to NATS at ${opts.servers.join(', ')}: ${reason}${auth ? ` (authenticating with ${auth})` : ''}`, { cause: error });
  }
}
