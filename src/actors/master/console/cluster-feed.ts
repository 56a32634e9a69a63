import type { Clock } from '../../../clock.ts';
import { serverMachine } from '../../../machines/server.ts';
import { supervisorMachine } from '../../../machines/supervisor.ts';
import type { ServerRow } from '../../../transport/wire.ts';
import { watchState } from '../../runtime/watch.ts';
import type { SupervisedServer } from '../supervised-server.ts';

/** One state change of a machine the master runs for a server (its `server` or `supervisor` machine). */
export interface MachineChange {
  /** The server the machine is about. */
  server: string;
  /** The machine's name in src/machines/registry.ts. */
  machine: string;
  /** Its dotted state, the server machine's `live` group included (`live.connected`), as its definition names it. */
  state: string;
  /** Epoch ms. */
  at: number;
  /** The server's state as `shaddock list` shows it after this change (`restarting` while its supervisor backs off). */
  shown: string;
}

/** The cluster as the leading master sees it: `shaddock list`'s rows and each server's two machines. */
export interface ClusterSnapshot {
  at: number;
  rows: ServerRow[];
  /** Server id → machine name → dotted state. */
  machines: Record<string, Record<string, string>>;
  /** The last state changes, oldest first: in the first view a listener gets, empty after. */
  recent: MachineChange[];
}

export interface ClusterListener {
  cluster(snapshot: ClusterSnapshot): void;
  transition(change: MachineChange): void;
}

/** ms after a change before the rows are sent (changes in a burst make one update). */
const SETTLE_MS = 100;
/** ms between updates while nothing changes (uptime, RSS). */
const REFRESH_MS = 2_000;
/** State changes kept for a page that opens now. */
const RECENT = 200;

/**
 * The cluster view's live data: the master's own view of its servers. Every supervised server's
 * `server` and `supervisor` machine is tracked; each state change goes to the listeners at once,
 * and the `list` rows follow (after a change settles, and every 2 s while anyone listens).
 */
export class ClusterFeed {
  private readonly listeners = new Set<ClusterListener>();
  private readonly machines = new Map<string, Record<string, string>>();
  private readonly recent: MachineChange[] = [];
  private pending: unknown;
  private refresh: unknown;

  constructor(
    private readonly rows: () => Promise<ServerRow[]>,
    private readonly clock: Clock,
  ) {}

  /** Follows a server's machines from now on (a server supervised again replaces the one before). */
  track(server: SupervisedServer): void {
    const states: Record<string, string> = {};
    this.machines.set(server.id, states);
    const follow = (machine: string, actor: SupervisedServer['server'] | SupervisedServer['supervisor']): void => {
      watchState(actor, () => {
        if (this.machines.get(server.id) !== states) return;
        const state = dotted(actor.getSnapshot().value);
        states[machine] = state;
        const change: MachineChange = { server: server.id, machine, state, at: this.clock.wall(), shown: server.state };
        this.recent.push(change);
        if (this.recent.length > RECENT) this.recent.splice(0, this.recent.length - RECENT);
        for (const listener of this.listeners) listener.transition(change);
        this.soon();
      });
    };
    follow(serverMachine.id, server.server);
    follow(supervisorMachine.id, server.supervisor);
  }

  /** The current view: rows, machine states and recent changes. */
  async snapshot(withRecent = true): Promise<ClusterSnapshot> {
    const rows = await this.rows();
    return { at: this.clock.wall(), rows, machines: Object.fromEntries(this.machines), recent: withRecent ? [...this.recent] : [] };
  }

  /** Listens until the returned function is called; the listener gets the current view first. */
  subscribe(listener: ClusterListener): () => void {
    this.listeners.add(listener);
    void this.snapshot().then((snapshot) => this.listeners.has(listener) && listener.cluster(snapshot));
    this.refresh ??= this.clock.setInterval(() => this.publish(), REFRESH_MS, { unref: true });
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size > 0) return;
      this.clock.clearInterval(this.refresh);
      this.refresh = undefined;
    };
  }

  private soon(): void {
    if (this.listeners.size === 0 || this.pending !== undefined) return;
    this.pending = this.clock.setTimeout(
      () => {
        this.pending = undefined;
        this.publish();
      },
      SETTLE_MS,
      { unref: true },
    );
  }

  private publish(): void {
    if (this.listeners.size === 0) return;
    this.snapshot(false).then(
      (snapshot) => {
        for (const listener of this.listeners) listener.cluster(snapshot);
      },
      () => undefined,
    );
  }
}

/** A state value as one dotted path, every level kept (`live.connected`): the ids of the definition's graph. */
function dotted(value: unknown): string {
  if (typeof value === 'string') return value;
  const [key, child] = Object.entries(value as Record<string, unknown>)[0] ?? [];
  return key === undefined ? '' : `${key}.${dotted(child)}`;
}
