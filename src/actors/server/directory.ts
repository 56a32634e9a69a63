import { subscribeGuarded } from '../../transport/inbound.ts';
import { checkDiscover, checkServerInfo } from '../../transport/wire-check.ts';
import { EventEmitter } from 'node:events';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { decode, encode } from '../../transport/codec.ts';
import type { Subjects } from '../../transport/subjects.ts';
import type { DiscoverMessage, ServerInfo } from '../../transport/wire.ts';
import { systemClock, type Clock } from '../../clock.ts';

interface Entry {
  info: ServerInfo;
  /** Monotonic time of its last heartbeat, so setting the system clock moves no server up or down. */
  lastSeen: number;
}

export interface DirectoryEvents {
  /** A server announced itself (first time, or again after going away). */
  up: [ServerInfo];
  /** Every heartbeat, including the first. */
  heartbeat: [ServerInfo];
  /** A server said goodbye or went silent for longer than the heartbeat timeout. */
  down: [ServerInfo, 'stopped' | 'silent'];
}

/**
 * Every process's view of which servers are up, built from the heartbeat subject alone: no
 * process (not even the master) has to be asked, so servers keep routing if the master dies.
 * A newcomer publishes on `discover` and everyone answers with a heartbeat at once.
 */
export class ServerDirectory extends EventEmitter<DirectoryEvents> {
  private readonly servers = new Map<string, Entry>();
  private readonly byType = new Map<string, ServerInfo[]>();
  private subscriptions: Subscription[] = [];
  private sweeper: unknown;
  /** While this process's own NATS connection is down it hears nobody: silence proves nothing then. */
  private blind = false;
  private stopped = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly heartbeatTimeout: number,
    /** Called when someone asks everyone to announce themselves (servers answer; the master does not). */
    private readonly onDiscover?: () => void,
    /** Measures heartbeat silence (monotonic) and runs the sweep. */
    private readonly clock: Clock = systemClock,
  ) {
    super();
  }

  start(): void {
    this.subscriptions.push(
      subscribeGuarded(this.nc, this.subjects.heartbeat, { kind: 'hb', check: checkServerInfo, handle: (info) => this.record(info) }),
    );
    if (this.onDiscover) {
      const answer = this.onDiscover;
      this.subscriptions.push(subscribeGuarded(this.nc, this.subjects.discover, { kind: 'discover', check: checkDiscover, handle: () => answer() }));
    }
    this.nc.publish(this.subjects.discover, encode({} satisfies DiscoverMessage));
    void this.followConnection();
    const every = Math.max(50, Math.floor(this.heartbeatTimeout / 3));
    this.sweeper = this.clock.setInterval(() => this.sweep(), every, { unref: true });
  }

  stop(): void {
    this.stopped = true;
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    this.subscriptions = [];
    if (this.sweeper !== undefined) this.clock.clearInterval(this.sweeper);
  }

  get(id: string): ServerInfo | undefined {
    return this.servers.get(id)?.info;
  }

  all(): ServerInfo[] {
    return [...this.servers.values()].map((entry) => entry.info);
  }

  /** Running servers of a type, sorted by id so every process routes the same way. */
  ofType(serverType: string): readonly ServerInfo[] {
    return this.byType.get(serverType) ?? [];
  }

  types(): string[] {
    return [...this.byType.keys()];
  }

  private record(info: ServerInfo): void {
    if (leaving(info.state)) {
      // A server on its way out takes no new calls: route around it from now on.
      const known = this.servers.get(info.id);
      if (known) this.remove(known.info, 'stopped');
      return;
    }
    const known = this.servers.get(info.id);
    this.servers.set(info.id, { info, lastSeen: this.clock.now() });
    if (!known || known.info.pid !== info.pid || known.info.state !== info.state) this.reindex(info.serverType);
    if (!known) this.emit('up', info);
    this.emit('heartbeat', info);
  }

  private remove(info: ServerInfo, why: 'stopped' | 'silent'): void {
    this.servers.delete(info.id);
    this.reindex(info.serverType);
    this.emit('down', info, why);
  }

  private reindex(serverType: string): void {
    const list = [...this.servers.values()]
      .map((entry) => entry.info)
      .filter((info) => info.serverType === serverType && info.state === 'running')
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (list.length) this.byType.set(serverType, list);
    else this.byType.delete(serverType);
  }

  /**
   * While the connection is down no server is found silent; once it is back, each known server has
   * a fresh heartbeat timeout to be heard again, and everyone is asked to announce themselves at once.
   */
  private async followConnection(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (this.stopped) break;
      if (status.type === 'disconnect') this.blind = true;
      else if (status.type === 'reconnect') {
        this.blind = false;
        const now = this.clock.now();
        for (const entry of this.servers.values()) entry.lastSeen = now;
        try {
          this.nc.publish(this.subjects.discover, encode({} satisfies DiscoverMessage));
        } catch {
          // Closed meanwhile.
        }
      }
    }
  }

  private sweep(): void {
    if (this.blind) return;
    const now = this.clock.now();
    for (const entry of this.servers.values()) {
      if (now - entry.lastSeen > this.heartbeatTimeout) this.remove(entry.info, 'silent');
    }
  }
}

/**
 * A server on its way out: `draining`, `stopping` and its sub-states (`stopping.hooks`,
 * `stopping.components`, as the lifecycle machine names them), or `stopped`.
 */
export function leaving(state: string): boolean {
  return state === 'draining' || state === 'stopped' || state === 'stopping' || state.startsWith('stopping.');
}
