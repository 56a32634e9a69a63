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

/**
 * Connects to NATS with the cluster's settings. `name` shows up in NATS monitoring
 * (`/connz`), so an operator can tell which server a connection belongs to.
 */
export async function connectNats(settings: NatsSettings, name: string, options: ConnectNatsOptions = {}): Promise<NatsConnection> {
  const { firstConnectTimeout } = options;
  try {
    const connecting = connect({
      servers: settings.servers,
      name: settings.name ? `${settings.name}:${name}` : name,
      ...(settings.token !== undefined ? { token: settings.token } : {}),
      ...(settings.user !== undefined ? { user: settings.user } : {}),
      ...(settings.pass !== undefined ? { pass: settings.pass } : {}),
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
    });
    if (firstConnectTimeout === undefined) return await connecting;
    return await withinFirstConnect(connecting, firstConnectTimeout);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot connect to NATS at ${settings.servers.join(', ')}: ${reason}`, { cause: error });
  }
}
