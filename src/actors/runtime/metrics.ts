/**
 * Shaddock's Prometheus metrics (prom-client), on a registry the app may give
 * (`createApp({ metrics: registry })`), else one of the process's own. Every name starts with
 * `shaddock_`; durations are in seconds. One process's metrics carry no server labels: the
 * leading master adds `server_id` and `server_type` when it gathers them (master/metrics.ts).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { NatsConnection } from '@nats-io/transport-node';

/** Latency buckets, in seconds: from 0.5 ms (a local call) to 10 s (the default RPC timeout). */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** How a served call ended. */
export type Outcome = 'ok' | 'error';

/** What every Shaddock process counts: servers, and the master for its NATS connection. */
export class ProcessMetrics {
  readonly registry: Registry;
  /** Remote calls this server served, by remote, method and outcome. */
  readonly rpcCalls: Counter<'remote' | 'method' | 'outcome'>;
  /** How long they took until their promise settled. */
  readonly rpcDuration: Histogram<'remote' | 'method'>;
  /** Client requests this server's handlers ran, by route and outcome. */
  readonly requests: Counter<'route' | 'outcome'>;
  readonly requestDuration: Histogram<'route'>;
  /** Push messages sent: one per frontend a channel push reaches, and one per session push. */
  readonly pushes: Counter;
  /** Times this process's NATS connection came back after being lost. */
  readonly natsReconnects: Counter;
  private connectionCount: () => number = () => 0;

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    this.rpcCalls = new Counter({ name: 'shaddock_rpc_calls_total', help: 'Remote calls served, by remote, method and outcome', labelNames: ['remote', 'method', 'outcome'], registers });
    this.rpcDuration = new Histogram({ name: 'shaddock_rpc_duration_seconds', help: 'Time to serve a remote call, until its promise settled', labelNames: ['remote', 'method'], buckets: BUCKETS, registers });
    this.requests = new Counter({ name: 'shaddock_requests_total', help: 'Client requests handled, by route and outcome', labelNames: ['route', 'outcome'], registers });
    this.requestDuration = new Histogram({ name: 'shaddock_request_duration_seconds', help: 'Time to handle a client request, until its promise settled', labelNames: ['route'], buckets: BUCKETS, registers });
    this.pushes = new Counter({ name: 'shaddock_pushes_total', help: 'Push messages sent to frontends and clients', registers });
    this.natsReconnects = new Counter({ name: 'shaddock_nats_reconnects_total', help: 'Reconnections of this process to NATS', registers });
    const metrics = this;
    new Gauge({
      name: 'shaddock_client_connections',
      help: 'Client connections open on this frontend',
      registers,
      collect() {
        this.set(metrics.connectionCount());
      },
    });
  }

  /** Where the client connection count is read at each scrape (a frontend's connector). */
  countConnections(count: () => number): void {
    this.connectionCount = count;
  }

  /** Counts the connection's reconnects until it closes. */
  async followReconnects(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) if (status.type === 'reconnect') this.natsReconnects.inc();
  }
}
