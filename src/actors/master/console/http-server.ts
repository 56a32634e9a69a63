import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../../logger.ts';
import { ConsoleAuth } from './auth.ts';
import { loginPage } from './login-page.ts';
import type { RouteTable } from './routes.ts';

export interface ConsoleServerOptions {
  host: string;
  /** 0: any free port. */
  port: number;
  /** The admin token: the console's only credential. */
  token: string;
  routes: RouteTable;
  logger: Logger;
}

/** Headers on every answer: nothing is cached, nothing is loaded from anywhere but the console itself. */
const COMMON_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
} as const;

/**
 * The console's HTTP server: dispatches by {@link RouteTable}, behind the admin token. A request
 * without a credential, or with a wrong one, gets 401; a browser asking for a page gets the
 * sign-in form with it. `?token=<admin token>` on any route signs a browser in: it is answered
 * with the cookie and a redirect to the same address without the token.
 */
export class ConsoleServer {
  private server: Server | undefined;
  private readonly auth: ConsoleAuth;
  private address = '';

  constructor(private readonly options: ConsoleServerOptions) {
    this.auth = new ConsoleAuth(options.token);
  }

  /** `http://host:port/`, once listening. */
  get url(): string {
    return this.address;
  }

  /** Listens; resolves with the console's address, rejects if the port cannot be had. */
  async start(): Promise<string> {
    const server = createServer((req, res) => this.dispatch(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => this.options.logger.error({ err: error }, `console server: ${error.message}`));
    this.server = server;
    const { port } = server.address() as AddressInfo;
    const host = this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host;
    this.address = `http://${host}:${port}/`;
    return this.address;
  }

  /** Closes the port and every open connection (event streams included). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  private dispatch(req: IncomingMessage, res: ServerResponse): void {
    for (const [name, value] of Object.entries(COMMON_HEADERS)) res.setHeader(name, value);
    const url = new URL(req.url ?? '/', 'http://console.invalid');
    const route = this.options.routes.find(url.pathname);
    if (!route) return plain(res, 404, `no such page: ${url.pathname}\n`);
    const method = (req.method ?? 'GET').toUpperCase();
    if (!route.methods.includes(method)) {
      res.setHeader('allow', route.methods.join(', '));
      return plain(res, 405, `${method} is not allowed on ${url.pathname} (allowed: ${route.methods.join(', ')})\n`);
    }
    if (route.auth === 'token') {
      const offered = url.searchParams.get('token');
      if (offered !== null) return this.signIn(req, res, url, offered);
      if (!this.auth.allows(req)) return this.refuse(req, res, url, undefined);
    }
    Promise.resolve()
      .then(() => route.handler({ req, res, url }))
      .catch((error: unknown) => {
        this.options.logger.error({ err: error, path: url.pathname }, `console ${url.pathname} failed`);
        if (!res.headersSent) plain(res, 500, `${error instanceof Error ? error.message : String(error)}\n`);
        else res.end();
      });
  }

  private signIn(req: IncomingMessage, res: ServerResponse, url: URL, offered: string): void {
    if (!this.auth.isToken(offered)) {
      this.options.logger.warn({ path: url.pathname }, 'console sign-in refused: wrong token');
      return this.refuse(req, res, url, 'That is not this cluster\u2019s admin token.');
    }
    url.searchParams.delete('token');
    res.writeHead(303, { location: `${url.pathname}${url.search}`, 'set-cookie': this.auth.setCookie() });
    res.end();
  }

  /** 401: the sign-in form for a browser that asks for a page, a line of text for anything else. */
  private refuse(req: IncomingMessage, res: ServerResponse, url: URL, problem: string | undefined): void {
    res.setHeader('www-authenticate', 'Bearer realm="shaddock console"');
    if ((req.headers.accept ?? '').includes('text/html')) {
      res.writeHead(401, { 'content-type': 'text/html; charset=utf-8' });
      res.end(loginPage(url.pathname, problem));
      return;
    }
    plain(res, 401, `${problem ?? 'sign in with the admin token: ?token=<admin token>, or Authorization: Bearer <admin token>'}\n`);
  }
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(text);
}
