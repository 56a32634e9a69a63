import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { NatsSettings } from '../config/types.ts';

export type { NatsConnection };

/**
 * Connects to NATS with the cluster's settings. `name` shows up in NATS monitoring
 * (`/connz`), so an operator can tell which server a connection belongs to.
 */
export async function connectNats(settings: NatsSettings, name: string): Promise<NatsConnection> {
  try {
    return await connect({
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
      // No option for "no responders": nats.js asks for it (`headers` and `no_responders` in its
      // CONNECT) whenever the server supports headers, as every nats-server since 2.2 does. The
      // server then answers a request nobody subscribes to with an empty 503 status message on
      // its reply subject, which RpcCaller turns into ServerUnavailableError.
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot connect to NATS at ${settings.servers.join(', ')}: ${reason}`, { cause: error });
  }
}
