import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { ServerResponse } from 'node:http';
import type { Clock } from '../../../clock.ts';
import { machineExport } from '../../../machines/export.ts';
import { machineRegistry } from '../../../machines/registry.ts';
import type { ClusterFeed } from './cluster-feed.ts';
import { EventStream } from './event-stream.ts';
import type { InspectSource } from './inspect-source.ts';
import type { RouteTable } from './routes.ts';

/** What the console's routes read: the master's view, the inspection watcher, the time. */
export interface ConsoleData {
  feed: ClusterFeed;
  /** Read on each watch, so that the master can plug its watcher in once NATS is up. */
  inspect(): InspectSource;
  clock: Clock;
  /** This master's id: what `?id=master` means. */
  masterId: string;
}

/** A server id as subjects take it (config/fields.ts's token rule). */
const SERVER_ID = /^[A-Za-z0-9_-]+$/;

const page = (name: string): URL => new URL(`./page/${name}`, import.meta.url);

/** The browser bundle of elkjs (no worker, no CDN): served from the package's own node_modules. */
const elkBundle = (): string => createRequire(import.meta.url).resolve('elkjs/lib/elk.bundled.js');

/**
 * Mounts the console on `routes`: the page (`/`, `/console.js`, `/console.css`, `/elk.js`), the
 * machine definitions (`/api/machines`), the cluster view (`/api/cluster`, and live as SSE on
 * `/events/cluster`), and one process's machines live (`/events/server?id=<serverId|master>`).
 */
export function mountConsole(routes: RouteTable, data: ConsoleData): void {
  const files = new Map<string, Promise<Buffer>>();
  const file = (path: string | URL): Promise<Buffer> => {
    const key = String(path);
    let content = files.get(key);
    if (!content) {
      content = readFile(path);
      // A failed read is tried again next time rather than cached.
      content.catch(() => files.delete(key));
      files.set(key, content);
    }
    return content;
  };
  const serve = (path: () => string | URL, type: string) => async ({ res }: { res: ServerResponse }) => send(res, 200, type, await file(path()));
  routes.add('/', serve(() => page('index.html'), 'text/html; charset=utf-8'));
  routes.add('/console.js', serve(() => page('console.js'), 'text/javascript; charset=utf-8'));
  routes.add('/console.css', serve(() => page('console.css'), 'text/css; charset=utf-8'));
  routes.add('/elk.js', serve(elkBundle, 'text/javascript; charset=utf-8'));

  const machines = JSON.stringify(machineRegistry.map(machineExport));
  routes.add('/api/machines', ({ res }) => send(res, 200, 'application/json; charset=utf-8', machines));
  routes.add('/api/cluster', async ({ res }) => send(res, 200, 'application/json; charset=utf-8', JSON.stringify(await data.feed.snapshot())));

  routes.add('/events/cluster', ({ req, res }) => {
    const stream = new EventStream(req, res, data.clock);
    const unsubscribe = data.feed.subscribe({
      cluster: (snapshot) => stream.send('cluster', snapshot),
      transition: (change) => stream.send('transition', change),
    });
    stream.onClose(unsubscribe);
  });

  routes.add('/events/server', ({ req, res, url }) => {
    const asked = url.searchParams.get('id') ?? '';
    const id = asked === 'master' ? data.masterId : asked;
    if (!SERVER_ID.test(id)) return send(res, 400, 'text/plain; charset=utf-8', `?id= must name a server (letters, digits, "_" or "-"), or "master"; got ${JSON.stringify(asked)}\n`);
    const detail = url.searchParams.get('detail') ?? undefined;
    const stream = new EventStream(req, res, data.clock);
    const watch = data.inspect()(
      id,
      {
        snapshot: (snapshot) => stream.send('snapshot', snapshot),
        batch: (batch) => stream.send('batch', batch),
        error: (error) => stream.send('unavailable', { server: id, error }),
      },
      detail,
    );
    stream.onClose(() => watch.close());
  });
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
