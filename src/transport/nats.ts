import { connect, type NatsConnection } from '@nats-io/transport-node';
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

/**
 * Connects to NATS with the cluster's settings (credentials from the fields or the URLs, see
 * {@link natsCredentials}). `name` shows up in NATS monitoring (`/connz`), so an operator can tell
 * which server a connection belongs to.
 */
export async function connectNats(settings: NatsSettings, name: string, options: ConnectNatsOptions = {}): Promise<NatsConnection> {
  const target = natsCredentials(settings);
  const { firstConnectTimeout } = options;
  try {
    const connecting = connect({
      ...target,
      name: settings.name ? `${settings.name}:${name}` : name,
      // Servers must survive a NATS restart: keep trying, and buffer while away.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      // nats.js otherwise builds (and captures stacks for) extra Error objects on every request,
      // about half the CPU of a request under load. Shaddock turns transport failures into its own
      // errors (RpcTimeoutError, ServerUnavailableError) naming server and method, so the call
      // site those traces would add is not needed.
      noAsyncTraces: true,
      // A server started while NATS is away keeps trying (every 250 ms) rather than exiting.
      ...(firstConnectTimeout !== undefined ? { waitOnFirstConnect: true } : {}),
      // No option for "no responders": nats.js asks for it (`headers` and `no_responders` in its
      // CONNECT) whenever the server supports headers, as every nats-server since 2.2 does. The
      // server then answers a request nobody subscribes to with an empty 503 status message on
      // its reply subject, which RpcCaller turns into ServerUnavailableError.
    });
    if (firstConnectTimeout === undefined) return await connecting;
    return await withinFirstConnect(connecting, firstConnectTimeout);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot connect to NATS at ${target.servers.join(', ')}: ${reason}`, { cause: error });
  }
}
