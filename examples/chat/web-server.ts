// The chat example's web page server (chatofpomelo's web-server): serves examples/chat/web/ and,
// at /shaddock-client.js, the browser build of the client SDK (src/client/index.ts), bundled
// once with esbuild when the server starts.
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const webRoot = fileURLToPath(new URL('./web/', import.meta.url));
const clientEntry = fileURLToPath(new URL('../../src/client/index.ts', import.meta.url));

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

export interface WebServer {
  /** The page's address, `http://127.0.0.1:<port>/`. */
  url: string;
  close(): Promise<void>;
}

/** The SDK as one browser ES module. */
export async function bundleClient(): Promise<string> {
  const result = await build({
    entryPoints: [clientEntry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    write: false,
    logLevel: 'silent',
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error(`esbuild produced no output for ${clientEntry}`);
  return file.text;
}

/** Starts the page server on 127.0.0.1 (`port` 0: any free port; default 3001, chatofpomelo's). */
export async function startWebServer(options: { host?: string; port?: number } = {}): Promise<WebServer> {
  const host = options.host ?? '127.0.0.1';
  const bundle = await bundleClient();
  const server = createServer((req, res) => {
    serve(req, res, bundle).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(error instanceof Error ? error.message : String(error));
    });
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 3001, host, () => {
      server.off('error', fail);
      done();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    close: () =>
      new Promise<void>((done, fail) => {
        server.close((error) => (error ? fail(error) : done()));
        server.closeAllConnections();
      }),
  };
}

async function serve(req: IncomingMessage, res: ServerResponse, bundle: string): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
  } catch {
    res.writeHead(400).end('bad path');
    return;
  }
  if (pathname === '/shaddock-client.js') {
    send(res, req, 200, types['.js']!, bundle);
    return;
  }
  const file = resolve(join(webRoot, pathname === '/' ? 'index.html' : pathname));
  // No way out of web/: `..`, encoded or not, and absolute paths end up outside the root.
  if (!file.startsWith(webRoot.endsWith(sep) ? webRoot : webRoot + sep) || pathname.includes('\0')) {
    res.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden');
    return;
  }
  let content: Buffer;
  try {
    content = await readFile(file);
  } catch {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    return;
  }
  send(res, req, 200, types[extname(file)] ?? 'application/octet-stream', content);
}

function send(res: ServerResponse, req: IncomingMessage, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}
