import type { ConsoleAddress } from '../../../config/console.ts';
import type { Logger } from '../../../logger.ts';
import { ConsoleServer } from './http-server.ts';
import { RouteTable } from './routes.ts';

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

  constructor(
    /** Where to listen; `undefined`: master.json has no port, and this master serves no console. */
    private readonly address: ConsoleAddress | undefined,
    private readonly logger: Logger,
  ) {}

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
