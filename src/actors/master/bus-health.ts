import type { NatsConnection } from '@nats-io/transport-node';
import type { Clock } from '../../clock.ts';
import type { Logger } from '../../logger.ts';

/**
 * Whether a silent server is silent on its own, or because the bus is: the master's judgement
 * before it kills a server for silence. The bus is suspect while the master's own NATS connection
 * is down, for a heartbeat timeout after it comes back (servers reconnect too), and, with more
 * than one server live, while every one of them has fallen silent at once.
 */
export class BusHealth {
  private downSince: number | undefined;
  private reconnectedAt: number | undefined;
  private recovery: unknown;

  constructor(
    private readonly clock: Clock,
    private readonly heartbeatTimeout: number,
    private readonly logger: Logger,
    /** Servers whose process may be running. */
    private readonly liveServers: () => number,
    /** Monotonic time of the last ping any server answered (-Infinity before the first). */
    private readonly lastAnswer: () => number,
    /** Called once the bus is trusted again after an outage: a heartbeat timeout after the reconnect. */
    private readonly recovered: () => void = () => {},
  ) {}

  /** Follows the connection's status until it closes. */
  async watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        this.downSince ??= this.clock.now();
        this.clock.clearTimeout(this.recovery);
        this.logger.warn('NATS unreachable: no server is killed for silence until it is back');
      } else if (status.type === 'reconnect') {
        this.downSince = undefined;
        this.reconnectedAt = this.clock.now();
        this.logger.info('NATS reachable again');
        this.clock.clearTimeout(this.recovery);
        this.recovery = this.clock.setTimeout(() => this.recovered(), this.heartbeatTimeout, { unref: true });
      }
    }
  }

  healthy(): boolean {
    const now = this.clock.now();
    if (this.downSince !== undefined) return false;
    if (this.reconnectedAt !== undefined && now - this.reconnectedAt < this.heartbeatTimeout) return false;
    const lastAnswer = this.lastAnswer();
    if (this.liveServers() <= 1 || lastAnswer === Number.NEGATIVE_INFINITY) return true;
    return now - lastAnswer < this.heartbeatTimeout;
  }
}
