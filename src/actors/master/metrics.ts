/**
 * The cluster's one Prometheus scrape target: the leading master's `/metrics`. At each scrape
 * the master asks every server it hears heartbeats from for its metrics on
 * `<base>.metrics.<serverId>` (in parallel, each bounded by a timeout), labels each server's
 * values with `server_id` and `server_type` (a value that has those labels already keeps them),
 * adds its own (labelled as the master) and answers the lot in the Prometheus text format.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NatsConnection } from '@nats-io/transport-node';
import { AggregatorRegistry, Counter, type Registry } from 'prom-client';
import { decodeBody, encode } from '../../transport/codec.ts';
import type { Subjects } from '../../transport/subjects.ts';
import { checkMetricsReply } from '../../transport/wire-check.ts';
import type { MetricFamily, MetricSample } from '../../transport/wire.ts';

/** A server to gather from. */
export interface ScrapedServer {
  id: string;
  serverType: string;
}

/** What the gatherer needs: the master's NATS side, who to ask, and the master's own metrics. */
export interface ClusterMetricsSource {
  /** The master's connection; `undefined` while it has none (only its own metrics are answered). */
  nc(): NatsConnection | undefined;
  subjects: Subjects;
  /** The servers to ask now (the leading master: every server heartbeating). */
  servers(): readonly ScrapedServer[];
  /** The master's id (its `server_id` label) and registry. */
  self: { id: string; registry: Registry };
  /** Longest wait for one server's answer, in ms. */
  timeout: number;
}

/** One `shaddock_scrape_up` family: 1 for each server that answered, 0 for each that did not. */
function scrapeUp(results: readonly { server: ScrapedServer; ok: boolean }[]): MetricFamily {
  return {
    name: 'shaddock_scrape_up',
    help: 'Whether a server answered the master for this scrape (1) or not (0)',
    type: 'gauge',
    aggregator: 'sum',
    values: results.map(({ server, ok }) => ({ value: ok ? 1 : 0, labels: { server_id: server.id, server_type: server.serverType } })),
  };
}

/** `families` with `server_id` and `server_type` on every value that lacks them. */
export function labelled(families: readonly MetricFamily[], server: ScrapedServer): MetricFamily[] {
  const label = (sample: MetricSample): MetricSample => ({ ...sample, labels: { server_id: server.id, server_type: server.serverType, ...sample.labels } });
  return families.map((family) => ({ ...family, values: family.values.map(label) }));
}

async function ask(nc: NatsConnection, source: ClusterMetricsSource, server: ScrapedServer): Promise<MetricFamily[] | undefined> {
  try {
    const reply = checkMetricsReply(decodeBody(await nc.request(source.subjects.metrics(server.id), encode({}), { timeout: source.timeout })));
    return labelled(reply.metrics, { id: reply.serverId, serverType: reply.serverType });
  } catch {
    // Gone, slow or garbled: `shaddock_scrape_up` says so, and the scrape goes on without it.
    return undefined;
  }
}

/**
 * Every server's metrics and the master's, as one Prometheus text exposition.
 *
 * @example
 * const { body, contentType } = await gatherClusterMetrics(source);
 */
export async function gatherClusterMetrics(source: ClusterMetricsSource): Promise<{ body: string; contentType: string }> {
  const nc = source.nc();
  const servers = nc ? source.servers() : [];
  const answers = await Promise.all(servers.map((server) => ask(nc!, source, server)));
  const own = labelled((await source.self.registry.getMetricsAsJSON()) as unknown as MetricFamily[], { id: source.self.id, serverType: 'master' });
  const families = [own, ...answers.filter((answer) => answer !== undefined), [scrapeUp(servers.map((server, i) => ({ server, ok: answers[i] !== undefined })))]];
  // Every value now has its own server labels, so merging by name and labels keeps each one as it is.
  const merged = AggregatorRegistry.aggregate(families as unknown as Parameters<typeof AggregatorRegistry.aggregate>[0]);
  return { body: await merged.metrics(), contentType: merged.contentType };
}

/**
 * The `/metrics` handler, for the master's HTTP server.
 *
 * @example
 * http.createServer((req, res) => void metricsHandler(source)(req, res));
 */
export function metricsHandler(source: ClusterMetricsSource): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('only GET and HEAD\n');
      return;
    }
    try {
      const { body, contentType } = await gatherClusterMetrics(source);
      res.writeHead(200, { 'Content-Type': contentType });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (error) {
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`cannot gather metrics: ${(error as Error).message}\n`);
    }
  };
}

/** What the master counts of its servers. */
export interface RestartCount {
  id: string;
  serverType: string;
  restarts: number;
}

/**
 * `shaddock_restarts_total{server_id, server_type}` on the master's registry: the restarts the
 * supervisor has made of each server, read at each scrape.
 */
export function countRestarts(registry: Registry, servers: () => Iterable<RestartCount>): Counter<'server_id' | 'server_type'> {
  return new Counter({
    name: 'shaddock_restarts_total',
    help: 'Restarts of each server by its supervisor',
    labelNames: ['server_id', 'server_type'],
    registers: [registry],
    collect() {
      this.reset();
      for (const server of servers()) this.inc({ server_id: server.id, server_type: server.serverType }, server.restarts);
    },
  });
}
