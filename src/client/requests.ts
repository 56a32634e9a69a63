/** The table of requests awaiting their response, by id, each with its timeout on the client's clock. */
import { DisconnectedError, RequestTimeoutError } from './errors.ts';
import type { ClientClock } from './types.ts';

interface Pending {
  route: string;
  resolve(value: unknown): void;
  reject(error: Error): void;
  /** The clock's timeout handle (undefined: no timeout). */
  timer: unknown;
}

export class RequestTable {
  private readonly pending = new Map<number, Pending>();
  private lastId = 0;

  constructor(private readonly clock: ClientClock) {}

  /** The id of the next request: 1 to 2^32 - 1, then round again. */
  nextId(): number {
    this.lastId = this.lastId >= 0xffffffff ? 1 : this.lastId + 1;
    return this.lastId;
  }

  /** Waits for the response to request `id`; rejects with a {@link RequestTimeoutError} after `timeout` ms (0: never). */
  add(id: number, route: string, timeout: number, resolve: (value: unknown) => void, reject: (error: Error) => void): void {
    const timer =
      timeout > 0
        ? this.clock.setTimeout(() => {
            this.pending.delete(id);
            reject(new RequestTimeoutError(route, timeout));
          }, timeout)
        : undefined;
    this.pending.set(id, { route, resolve, reject, timer });
  }

  /** Whether request `id` still awaits its response (it may have timed out). */
  has(id: number): boolean {
    return this.pending.has(id);
  }

  resolve(id: number, body: unknown): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    this.clearTimer(pending);
    pending.resolve(body);
  }

  /** Rejects every request still waiting with a {@link DisconnectedError}. */
  rejectAll(detail: string): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const entry of pending) {
      this.clearTimer(entry);
      entry.reject(new DisconnectedError(entry.route, detail));
    }
  }

  private clearTimer(pending: Pending): void {
    if (pending.timer !== undefined) this.clock.clearTimeout(pending.timer);
  }
}
