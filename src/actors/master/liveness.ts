import type { NatsConnection } from '@nats-io/transport-node';
import type { Clock } from '../../clock.ts';
import { decode, encode } from '../../transport/codec.ts';
import type { Subjects } from '../../transport/subjects.ts';
import type { SysCommand, SysReply } from '../../transport/wire.ts';

/** A server the probe asks about: its id, and its current pid when it has one. */
export interface ProbeTarget {
  id: string;
  pid: number | undefined;
}

/**
 * The master's proof that a server works: a `ping` round trip on its `sys` subject, which only a
 * process whose NATS subscriptions still run can answer. A heartbeat on `hb` proves less: a timer
 * publishes it, and a server whose message processing has stopped keeps sending it. So the
 * master counts a server as heard from when it answers a ping in state `running`; the heartbeats
 * only make it ask at once (a server that just came up is connected after one round trip).
 *
 * Every `interval` each target with a pid gets a ping, unless one is still out; a ping waits up
 * to `timeout` (the heartbeat timeout), so a server slow within that limit still counts.
 */
export class LivenessProbe {
  private readonly outstanding = new Set<string>();
  private timer: unknown;
  /** Monotonic time of the last answer from any server (the bus carried a round trip then). */
  lastAnswer = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly clock: Clock,
    private readonly interval: number,
    private readonly timeout: number,
    private readonly targets: () => Iterable<ProbeTarget>,
    private readonly answered: (id: string, pid: number) => void,
  ) {}

  start(): void {
    this.timer = this.clock.setInterval(() => this.round(), this.interval, { unref: true });
  }

  stop(): void {
    if (this.timer !== undefined) this.clock.clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Pings `id` now, unless a ping to it is still out. */
  probe(id: string): void {
    if (this.outstanding.has(id) || this.nc.isClosed()) return;
    this.outstanding.add(id);
    this.nc
      .request(this.subjects.sys(id), encode({ command: 'ping' } satisfies SysCommand), { timeout: this.timeout })
      .then((msg) => {
        const reply = decode<SysReply>(msg.data);
        if (reply?.ok !== true || typeof reply.pid !== 'number') return;
        this.lastAnswer = this.clock.now();
        if (reply.state === 'running') this.answered(id, reply.pid);
      })
      .catch(() => {
        // No answer in time, no responders, or the connection is down: silence is what counts.
      })
      .finally(() => this.outstanding.delete(id));
  }

  private round(): void {
    for (const target of this.targets()) if (target.pid !== undefined) this.probe(target.id);
  }
}
