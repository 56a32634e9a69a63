/**
 * A NATS cluster on loopback for tests: `size` nats-server processes (started by the harness's
 * {@link startNats}, so found, tracked and stopped by pid like any other), each with a route
 * listener and the routes to all the others, and an HTTP monitoring port (`/routez`, `/connz`).
 */
import { eventually } from './cluster.ts';
import { freePorts } from './ports.ts';
import { startNats, type RunningService, type StartOptions } from './services.ts';

const HOST = '127.0.0.1';

/** One connection a node holds, as its `/connz` reports it. */
export interface NatsNodeConnection {
  cid: number;
  /** The name the client gave in its CONNECT (Shaddock names its connections by server id). */
  name?: string;
}

export interface NatsCluster {
  /** The client URLs, `nats://127.0.0.1:PORT`, node 0 first. */
  urls: string[];
  /** The nodes' pids, node 0 first. */
  pids: number[];
  /** The nodes' HTTP monitoring ports, node 0 first. */
  monitorPorts: number[];
  /** The client connections node `i` holds now (its `/connz`). */
  connections(i: number): Promise<NatsNodeConnection[]>;
  /** SIGKILLs node `i` by pid and resolves once the process has exited. */
  kill(i: number): Promise<void>;
  /** Stops every node still running (SIGTERM, SIGKILL after 5 s); idempotent. */
  stop(): Promise<void>;
}

async function monitor<T>(port: number, endpoint: string): Promise<T> {
  const response = await fetch(`http://${HOST}:${port}/${endpoint}`);
  if (!response.ok) throw new Error(`GET ${HOST}:${port}/${endpoint}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

/**
 * Starts a `size`-node NATS cluster (`-a 127.0.0.1 -p PORT -m MONITOR --cluster
 * nats://127.0.0.1:ROUTE --routes <the other nodes' route URLs> --cluster_name NAME`) and
 * resolves once every node's `/routez` shows a route to each of the others.
 */
export async function startNatsCluster(size = 3, options: StartOptions = {}): Promise<NatsCluster> {
  if (!Number.isInteger(size) || size < 2) throw new Error(`startNatsCluster: size must be an integer ≥ 2, got ${size}`);
  const ports = await freePorts(2 * size);
  const routePorts = ports.slice(0, size);
  const monitorPorts = ports.slice(size);
  const name = `shaddock-test-${process.pid}-${routePorts[0]}`;
  const started = await Promise.allSettled(
    routePorts.map((routePort, i) =>
      startNats({
        ...options,
        args: [
          '-m',
          String(monitorPorts[i]),
          '--cluster',
          `nats://${HOST}:${routePort}`,
          '--routes',
          routePorts
            .filter((_, j) => j !== i)
            .map((p) => `nats://${HOST}:${p}`)
            .join(','),
          '--cluster_name',
          name,
        ],
      }),
    ),
  );
  const nodes = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= Promise.all(nodes.map((node) => node.stop())).then(() => undefined));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed !== undefined) {
    await stop();
    throw failed.reason;
  }
  const node = (i: number): RunningService => {
    const found = nodes[i];
    if (found === undefined) throw new Error(`startNatsCluster: no node ${i} (there are ${size})`);
    return found;
  };
  try {
    await Promise.all(
      monitorPorts.map((port, i) =>
        eventually(
          async () => ((await monitor<{ num_routes: number }>(port, 'routez')).num_routes >= size - 1 ? true : undefined),
          `node ${i} of the NATS cluster routed to the other ${size - 1}`,
          options.timeoutMs ?? 20_000,
        ),
      ),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    urls: nodes.map((n) => n.url),
    pids: nodes.map((n) => n.pid),
    monitorPorts,
    async connections(i) {
      node(i);
      return (await monitor<{ connections: NatsNodeConnection[] }>(monitorPorts[i]!, 'connz')).connections;
    },
    async kill(i) {
      const target = node(i);
      try {
        process.kill(target.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      // Nothing left to signal: this waits for the exit and drops the node from the registry.
      await target.stop();
    },
    stop,
  };
}
