import type { NatsConnection } from '@nats-io/transport-node';
import type { Clock } from '../../clock.ts';
import { PendingCalls } from '../../transport/pending-calls.ts';
import { RpcCaller } from '../../transport/rpc.ts';
import type { ServerDirectory } from './directory.ts';

/** A process's one call layer over its NATS connection. */
export interface CallLayer {
  /** Every call sent and not yet answered: RPC and forwarded client requests, one sweeper for their timeouts. */
  calls: PendingCalls;
  /** RPC over that table (`app.rpc`, backend session operations). */
  rpc: RpcCaller;
}

/**
 * Makes the call layer of one NATS connection: the pending-calls table (its timeouts on `clock`)
 * and the RPC caller on it. A server the directory finds silent fails its calls at once, RPC and
 * forwarded alike; a server that says it is draining or stopping still answers what it took.
 * While the connection itself is down, every call fails at once (see {@link PendingCalls.busDown}).
 */
export function openCallLayer(nc: NatsConnection, directory: ServerDirectory, clock: Clock): CallLayer {
  const calls = new PendingCalls(clock);
  directory.on('down', (server, why) => {
    if (why === 'silent') calls.failServer(server.id);
  });
  void followConnection(nc, calls);
  return { calls, rpc: new RpcCaller(nc, calls) };
}

/** Tells the table when the connection goes and comes back, until it closes. */
async function followConnection(nc: NatsConnection, calls: PendingCalls): Promise<void> {
  for await (const status of nc.status()) {
    if (status.type === 'disconnect') calls.busDown();
    else if (status.type === 'reconnect') calls.busUp();
  }
}
