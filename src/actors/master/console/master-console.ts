import type { Clock } from '../../../clock.ts';
import type { ConsoleAddress } from '../../../config/console.ts';
import { logFile, type Logger } from '../../../logger.ts';
import type { ServerRow } from '../../../transport/wire.ts';
import type { SupervisedServer } from '../supervised-server.ts';
import { ClusterFeed } from './cluster-feed.ts';
import { mountConsole } from './console-routes.ts';
import { ConsoleServer } from './http-server.ts';
import { noInspection, type InspectSource } from './inspect-source.ts';
import { RouteTable } from './routes.ts';

/** What the console is given by its master. */
export interface ConsoleOptions {
  logger: Logger;
  clock: Clock;
  /** The `shaddock list` rows (masters first, then servers). */
  rows(): Promise<ServerRow[]>;
  /** This master's id (`?id=master`). */
  masterId: string;
}

/**
 * The web console of the leading master: an HTTP server on master.json's `port` (see
 * config/console.ts), up while this master leads and closed when it stops leading. Its
 * {@link RouteTable} outlives the server, so that routes mounted once (`/metrics`) are served
 * again each time this master leads.
 */
export class MasterConsole {
  readonly routes = new RouteTable();
  private server: ConsoleServer | undefined;
  private starting: Promise<string | undefined> | undefined;
  private readonly feed: ClusterFeed;
  private readonly logger: Logger;
  private inspect: InspectSource = noInspection;

  constructor(
    /** Where to listen; `undefined`: master.json has no port, and this master serves no console. */
    private readonly address: ConsoleAddress | undefined,
    options: ConsoleOptions,
  ) {
    this.logger = options.logger;
    this.feed = new ClusterFeed(() => options.rows(), options.clock);
    mountConsole(this.routes, { feed: this.feed, inspect: () => this.inspect, clock: options.clock, masterId: options.masterId });
  }

  /** Shows this server's machines (as the master runs them) in the cluster view. */
  track(server: SupervisedServer): void {
    this.feed.track(server);
  }

  /** How a chosen server's own machines are watched (the inspection protocol over NATS). */
  useInspection(source: InspectSource): void {
    this.inspect = source;
  }

  /** The console's address while it is served. */
  get url(): string | undefined {
    return this.server?.url || undefined;
  }

  /**
   * This master leads: serves the console (once; a second call while serving does nothing).
   * Resolves with the address, or `undefined` when there is no port or it cannot be had: the
   * cluster runs without its console, and the log says why.
   */
  lead(token: string): Promise<string | undefined> {
    if (!this.address) return Promise.resolve(undefined);
    const address = this.address;
    this.starting ??= (async () => {
      const server = new ConsoleServer({ ...address, token, routes: this.routes, logger: this.logger });
      try {
        const url = await server.start();
        this.server = server;
        this.logger.info({ url }, `console: ${url}`);
        // A person at the terminal of a foreground cluster gets the address that signs in; a log
        // file never holds the token.
        if (process.stdout.isTTY && !logFile()) process.stdout.write(`console (signs you in): ${url}?token=${encodeURIComponent(token)}\n`);
        return url;
      } catch (error) {
        this.starting = undefined;
        this.logger.error({ err: error, host: address.host, port: address.port }, `console not served on ${address.host}:${address.port}: ${(error as Error).message}`);
        return undefined;
      }
    })();
    return this.starting;
  }

  /** This master no longer leads, or stops: the console's port and its connections close. */
  async release(): Promise<void> {
    const starting = this.starting;
    this.starting = undefined;
    await starting;
    const server = this.server;
    this.server = undefined;
    await server?.stop();
  }
}
