/**
 * How many calls a server part is handling now, so that draining can wait for them: the one
 * drain counter of the RPC server, the forwarded-call server and the connector's requests.
 *
 * @example
 * const inFlight = new InFlight();
 * inFlight.begin();
 * const idle = inFlight.idle(); // pending
 * inFlight.end();               // idle resolves
 */
export class InFlight {
  private count = 0;
  private idlePromise: Promise<void> | undefined;
  private resolveIdle: (() => void) | undefined;

  /** A call is taken. */
  begin(): void {
    this.count++;
  }

  /** A call taken with {@link begin} has been answered (or has failed). */
  end(): void {
    this.count--;
    if (this.count === 0 && this.resolveIdle) {
      const resolve = this.resolveIdle;
      this.resolveIdle = undefined;
      this.idlePromise = undefined;
      resolve();
    }
  }

  /** Calls being handled now. */
  get size(): number {
    return this.count;
  }

  /** Resolves when no call is being handled: at once when none is, else when the last one ends. */
  idle(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return (this.idlePromise ??= new Promise<void>((resolve) => (this.resolveIdle = resolve)));
  }
}
