import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../../../clock.ts';

/** ms between the comments that keep an idle stream open through proxies. */
const KEEPALIVE_MS = 15_000;

/**
 * One Server-Sent Events stream to a browser (`text/event-stream`): named events with JSON data.
 * It ends when the browser goes, or on {@link close}; `onClose` callbacks run once either way.
 */
export class EventStream {
  private closed = false;
  private readonly closers: (() => void)[] = [];
  private readonly keepalive: unknown;

  constructor(
    req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly clock: Clock,
  ) {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
    // Tells EventSource to reconnect after 2 s (its default is 3 s) when the stream breaks.
    res.write('retry: 2000\n\n');
    this.keepalive = clock.setInterval(() => this.res.write(': keepalive\n\n'), KEEPALIVE_MS, { unref: true });
    req.once('close', () => this.close());
    res.once('close', () => this.close());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends one event; nothing once closed. */
  send(event: string, data: unknown): void {
    if (this.closed) return;
    this.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  onClose(fn: () => void): void {
    if (this.closed) fn();
    else this.closers.push(fn);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clock.clearInterval(this.keepalive);
    this.res.end();
    for (const fn of this.closers.splice(0)) fn();
  }
}
