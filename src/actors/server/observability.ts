import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Registry } from 'prom-client';
import type { ServerEntry } from '../../config/types.ts';
import { subscribeGuarded, respondInKind } from '../../transport/inbound.ts';
import { appVersion, MicroService, microName, type EndpointStats } from '../../transport/micro.ts';
import type { CallWrapper, ServedCall } from '../../transport/observe.ts';
import type { Subjects } from '../../transport/subjects.ts';
import { checkMetricsRequest } from '../../transport/wire-check.ts';
import type { MetricFamily, MetricsReply } from '../../transport/wire.ts';
import { ProcessMetrics } from '../runtime/metrics.ts';
import { whenSettled } from '../runtime/settle.ts';
import { inSpan } from '../runtime/tracing.ts';

/** What one remote method or route counts. */
interface CallCounters {
  stats: EndpointStats | undefined;
  ok: { inc(): void };
  failed: { inc(): void };
  duration: { observe(seconds: number): void };
}

/** Where a server is, for its NATS micro identity. */
export interface ObservedServer {
  entry: ServerEntry;
  prefix: string;
  cluster: string;
  /** Application directory: its package.json `version` is the service's version. */
  base: string;
  startedAt: number;
}

/**
 * What a server tells the world about itself besides its heartbeat: a NATS micro service
 * (`$SRV.PING`/`INFO`/`STATS`) named `<prefix>-<cluster>-<serverType>` with the server id as its
 * instance id, whose endpoints are its remotes (`remote-<name>`) and handlers
 * (`handler-<name>`); Prometheus metrics, answered on `<base>.metrics.<serverId>` to the
 * master; and a span per served call. {@link wrap} is the one place a served call is measured.
 */
export class ServerObservability {
  readonly metrics: ProcessMetrics;
  readonly micro: MicroService;
  private subscription: Subscription | undefined;
  private readonly counters = new Map<string, CallCounters>();
  /** `<kind>|<name>.<method>` of every remote method and handler method declared. */
  private readonly served = new Set<string>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly server: ObservedServer,
    registry?: Registry,
  ) {
    const { entry, prefix, cluster } = server;
    this.metrics = new ProcessMetrics(registry);
    this.micro = new MicroService(
      nc,
      {
        name: microName(`${prefix}-${cluster}-${entry.serverType}`),
        id: entry.id,
        version: appVersion(server.base),
        description: `Shaddock ${entry.frontend ? 'frontend' : 'backend'} server ${entry.id} (type ${entry.serverType}, cluster ${cluster})`,
        metadata: { server_id: entry.id, server_type: entry.serverType, cluster, prefix, frontend: String(entry.frontend), pid: String(process.pid) },
      },
      server.startedAt,
    );
  }

  /** Declares the remotes (RPC subject) and handlers (handler subject) as endpoints, with their methods. */
  declare(kind: ServedCall['kind'], manifest: Record<string, string[]>): void {
    const subject = kind === 'remote' ? this.subjects.rpc(this.server.entry.id) : this.subjects.handler(this.server.entry.id);
    for (const [name, methods] of Object.entries(manifest)) {
      for (const method of methods) this.served.add(`${kind}|${name}.${method}`);
      this.micro.endpoint({ name: endpointName(kind, name), subject, metadata: { kind, [kind]: name, methods: methods.join(',') } });
    }
  }

  /** Runs a served call in a span, then counts it (micro stats, Prometheus) once it has settled. */
  readonly wrap: CallWrapper = (call, run) => {
    const started = performance.now();
    const route = call.kind === 'handler' ? `${this.server.entry.serverType}.${call.name}.${call.method}` : `${call.name}.${call.method}`;
    const attributes = call.kind === 'handler' ? { 'shaddock.route': route } : { 'rpc.system': 'shaddock', 'rpc.service': call.name, 'rpc.method': call.method };
    return whenSettled(
      () => inSpan(`${call.kind} ${route}`, call.trace, run, { 'shaddock.server_id': this.server.entry.id, ...attributes }),
      (error) => this.count(call, route, performance.now() - started, error),
    );
  };

  private count(call: ServedCall, route: string, ms: number, error: unknown): void {
    const counters = this.countersOf(call, route);
    (counters.stats ?? this.micro.stats(endpointName(call.kind, call.name)))?.record(ms, error);
    (error === undefined ? counters.ok : counters.failed).inc();
    counters.duration.observe(ms / 1000);
  }

  /** The labelled counters of one remote method or route, made once: prom-client hashes labels at each use otherwise. */
  private countersOf(call: ServedCall, route: string): CallCounters {
    // A method this server does not serve (anyone on NATS may send any name) is counted as
    // `_unknown`, so that no caller can grow the label sets.
    const known = this.served.has(`${call.kind}|${call.name}.${call.method}`);
    const key = known ? `${call.kind}|${route}` : `${call.kind}|_unknown`;
    let counters = this.counters.get(key);
    if (counters) return counters;
    const { metrics } = this;
    const [name, method] = known ? [call.name, call.method] : ['_unknown', '_unknown'];
    const label = known ? route : '_unknown';
    counters =
      call.kind === 'remote'
        ? {
            stats: this.micro.stats(endpointName(call.kind, call.name)),
            ok: metrics.rpcCalls.labels({ remote: name, method, outcome: 'ok' }),
            failed: metrics.rpcCalls.labels({ remote: name, method, outcome: 'error' }),
            duration: metrics.rpcDuration.labels({ remote: name, method }),
          }
        : {
            stats: this.micro.stats(endpointName(call.kind, call.name)),
            ok: metrics.requests.labels({ route: label, outcome: 'ok' }),
            failed: metrics.requests.labels({ route: label, outcome: 'error' }),
            duration: metrics.requestDuration.labels({ route: label }),
          };
    // Shared by every unknown method: its endpoint (a remote's, when the remote exists) is looked up per call.
    if (!known) counters.stats = undefined;
    this.counters.set(key, counters);
    return counters;
  }

  /** Starts answering discovery and the master's metrics requests, and counting NATS reconnects. */
  start(): void {
    this.micro.start();
    void this.metrics.followReconnects(this.nc);
    const { entry } = this.server;
    this.subscription = subscribeGuarded(this.nc, this.subjects.metrics(entry.id), {
      kind: 'metrics',
      check: checkMetricsRequest,
      handle: (_request, msg) => {
        void this.metrics.registry.getMetricsAsJSON().then(
          (metrics) => {
            const reply: MetricsReply = { serverId: entry.id, serverType: entry.serverType, metrics: metrics as unknown as MetricFamily[] };
            respondInKind(msg, reply);
          },
          () => undefined,
        );
      },
    });
  }

  stop(): void {
    this.micro.stop();
    this.subscription?.unsubscribe();
    this.subscription = undefined;
  }
}

/** `remote-chatRemote`, `handler-entryHandler`: an endpoint name, made a valid micro name. */
function endpointName(kind: ServedCall['kind'], name: string): string {
  return microName(`${kind}-${name}`);
}

