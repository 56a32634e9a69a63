/** Reconnecting after a lost connection: the attempts allowed, and the backoff timer of the next one (on the client's clock). */
import type { ClientClock, ReconnectOptions } from './types.ts';

export class Reconnector {
  readonly options: Required<ReconnectOptions>;
  /** The clock's handle of the next attempt's timer (undefined: none waiting). */
  private timer: unknown;
  private attempt = 0;

  constructor(
    options: true | ReconnectOptions,
    private readonly clock: ClientClock,
  ) {
    this.options = { maxAttempts: 10, initialDelay: 500, maxDelay: 10_000, ...(options === true ? {} : options) };
  }

  /** Every attempt allowed has been made. */
  get exhausted(): boolean {
    return this.attempt >= this.options.maxAttempts;
  }

  /** Counts attempts from the first again (a connection was lost, or one is back). */
  reset(): void {
    this.attempt = 0;
  }

  /** Runs `attempt` after the next delay: `initialDelay`, doubled after each attempt, at most `maxDelay`. */
  schedule(attempt: () => void): void {
    const delay = Math.min(this.options.initialDelay * 2 ** this.attempt, this.options.maxDelay);
    this.attempt++;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      attempt();
    }, delay);
  }

  cancel(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
