import type { InspectionEvent, StateValue, Subscription } from 'xstate';
import { systemClock, type Clock } from '../../clock.ts';
import { stateName } from '../../machines/state-name.ts';
import type { ActorDetail, ActorState, InspectBatch, InspectEvent, InspectSnapshot, WatchRequest } from '../../transport/wire.ts';
import { runnerInspection, type RunnerProbe } from '../runtime/inspection.ts';
import { plainData } from './plain.ts';

/** Shortest and longest lease a watcher may ask for, in ms. */
export const LEASE_BOUNDS = { min: 1_000, max: 60_000 } as const;

/**
 * Many actors of one machine that run without an actor each (sessions on a {@link MachineRunner}):
 * the inspector counts them per state when asked, and shows one in full on demand.
 */
export interface ActorSource {
  machine: string;
  /** The state value of every instance alive now. */
  states(): Iterable<StateValue>;
  /** One instance, by id: its state value and context; undefined when there is none. */
  find(actor: string): { value: StateValue; context: unknown } | undefined;
}

export interface InspectorOptions {
  /** Times leases and batches; stamps events. */
  clock?: Clock;
  /** ms between two batches. Default 50. */
  flushMs?: number;
  /** Events held between two batches; one more is dropped and counted. Default 1 000. */
  bufferSize?: number;
  /** The switch machine runners test; default the process's. */
  runners?: { watching: boolean; probe: RunnerProbe | undefined };
}

/** What the inspector reads of a full xstate actor (`createActor(machine)`). */
export interface InspectableActor {
  readonly logic: { readonly id: string };
  readonly system: { inspect(observer: (event: InspectionEvent) => void): Subscription };
  getSnapshot(): { value: StateValue; context: unknown; status: string };
}

/** One actor with an actor of its own (master, supervisors, servers, a server's lifecycle). */
interface Registered {
  ref: InspectableActor;
  actor: string;
  machine: string;
  /** Its state as last reported, so that a transition to the same state is not an event. */
  last: string;
  subscription: Subscription | undefined;
}

interface Lease {
  expires: number;
  detail: string | undefined;
}

/**
 * A process's inspector: every actor of the process reports its transitions here, and while at
 * least one watcher holds a lease ({@link watch}) they are buffered and handed to `publish` as one
 * {@link InspectBatch} every `flushMs`. With no lease nothing is recorded: full actors are not
 * even subscribed to, and machine runners test one boolean.
 *
 * Single-instance actors register with {@link register}; many-instance machines (sessions) are
 * an {@link ActorSource}, reported as counts per state, the one a lease names in `detail` in full.
 *
 * @example
 * const inspector = new Inspector();
 * inspector.open('chat-server-1', (batch) => nc.publish(subjects.inspect('chat-server-1'), encode(batch)));
 * inspector.register(lifecycleActor, 'chat-server-1');
 * const snapshot = inspector.watch({ watcher: 'cli-1', ttlMs: 5000 });
 */
export class Inspector implements RunnerProbe {
  private serverId = '';
  private publish: ((batch: InspectBatch) => void) | undefined;
  private readonly clock: Clock;
  private readonly flushMs: number;
  private readonly bufferSize: number;
  private readonly runners: { watching: boolean; probe: RunnerProbe | undefined };
  private readonly actors: Registered[] = [];
  private readonly sources = new Set<ActorSource>();
  private readonly leases = new Map<string, Lease>();
  /** The actors leases name in `detail`, whose runner steps become events. */
  private detailed = new Set<string>();
  private buffer: InspectEvent[] = [];
  private countsChanged = false;
  private timer: unknown;
  private droppedEvents = 0;

  constructor(options: InspectorOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.flushMs = options.flushMs ?? 50;
    this.bufferSize = options.bufferSize ?? 1_000;
    this.runners = options.runners ?? runnerInspection;
  }

  /** Events dropped since the start because the buffer was full. */
  get dropped(): number {
    return this.droppedEvents;
  }

  /** Whether a lease is alive. */
  get watching(): boolean {
    return this.leases.size > 0;
  }

  /** Answers for `serverId` from now on, publishing batches through `publish`. */
  open(serverId: string, publish: (batch: InspectBatch) => void): void {
    this.serverId = serverId;
    this.publish = publish;
  }

  /** Ends every lease and publishes nothing more (the process's connection is closing). */
  close(): void {
    this.publish = undefined;
    this.leases.clear();
    this.stopWatching();
  }

  /**
   * Reports an actor's transitions from now on, as `actor` (its machine is the actor's own id).
   * Returns the function that stops it; an actor that has been stopped is dropped by itself.
   */
  register(ref: InspectableActor, actor: string): () => void {
    const entry: Registered = { ref, actor, machine: ref.logic.id, last: '', subscription: undefined };
    this.actors.push(entry);
    if (this.watching) this.follow(entry);
    return () => this.unregister(entry);
  }

  /** Counts `source`'s actors in snapshots and batches until the returned function is called. */
  addSource(source: ActorSource): () => void {
    this.sources.add(source);
    this.countsChanged = true;
    return () => {
      this.sources.delete(source);
      this.countsChanged = true;
    };
  }

  /**
   * Takes or renews `request.watcher`'s lease (its ttl clamped to {@link LEASE_BOUNDS}) and
   * returns the process's snapshot, with the actor `request.detail` names in full.
   */
  watch(request: WatchRequest): InspectSnapshot {
    const ttl = Math.min(LEASE_BOUNDS.max, Math.max(LEASE_BOUNDS.min, request.ttlMs));
    const starting = !this.watching;
    this.leases.set(request.watcher, { expires: this.clock.now() + ttl, detail: request.detail });
    this.detailed = new Set([...this.leases.values()].flatMap((lease) => (lease.detail === undefined ? [] : [lease.detail])));
    if (starting) this.startWatching();
    const detail = request.detail === undefined ? undefined : this.detail(request.detail);
    return {
      server: this.serverId,
      at: this.clock.wall(),
      actors: this.live().map((entry): ActorState => ({ actor: entry.actor, machine: entry.machine, state: stateOf(entry.ref) })),
      counts: this.counts(),
      dropped: this.droppedEvents,
      ...(detail ? { detail } : {}),
    };
  }

  /** @internal RunnerProbe: a session machine stepped (only called while watching). */
  stepped(machine: string, actor: string | number | undefined, before: StateValue | undefined, after: StateValue, event: string): void {
    const state = stateName(after);
    if (before !== undefined && stateName(before) === state) return;
    this.countsChanged = true;
    if (actor !== undefined && this.detailed.size > 0) {
      const id = String(actor);
      if (this.detailed.has(id) || this.detailed.has(`${machine}/${id}`)) this.record(id, machine, state, event);
    }
  }

  /** Moves time on the lease and batch timer (for tests on a SimulatedClock: the timer is the clock's). */
  private tick(): void {
    this.flush();
    const now = this.clock.now();
    let expired = false;
    for (const [watcher, lease] of this.leases) {
      if (lease.expires > now) continue;
      this.leases.delete(watcher);
      expired = true;
    }
    if (expired) this.detailed = new Set([...this.leases.values()].flatMap((lease) => (lease.detail === undefined ? [] : [lease.detail])));
    if (!this.watching) this.stopWatching();
  }

  private flush(): void {
    if (this.buffer.length === 0 && !this.countsChanged) return;
    const events = this.buffer;
    this.buffer = [];
    const batch: InspectBatch = { server: this.serverId, events, dropped: this.droppedEvents };
    if (this.countsChanged) {
      batch.counts = this.counts();
      this.countsChanged = false;
    }
    this.publish?.(batch);
  }

  private record(actor: string, machine: string, state: string, event: string): void {
    if (this.buffer.length >= this.bufferSize) {
      this.droppedEvents++;
      return;
    }
    this.buffer.push({ actor, machine, state, event, at: this.clock.wall() });
  }

  private startWatching(): void {
    for (const entry of this.live()) this.follow(entry);
    this.countsChanged = true;
    this.runners.probe = this;
    this.runners.watching = true;
    this.timer = this.clock.setInterval(() => this.tick(), this.flushMs, { unref: true });
  }

  private stopWatching(): void {
    this.runners.watching = false;
    if (this.runners.probe === this) this.runners.probe = undefined;
    this.clock.clearInterval(this.timer);
    this.timer = undefined;
    for (const entry of this.actors) {
      entry.subscription?.unsubscribe();
      entry.subscription = undefined;
    }
    // What no one watches is not kept: the next watcher starts from a snapshot.
    this.buffer = [];
    this.countsChanged = false;
  }

  /** Subscribes to one actor's snapshots (through its system's inspection, so with no watcher it costs nothing). */
  private follow(entry: Registered): void {
    entry.last = stateOf(entry.ref);
    entry.subscription?.unsubscribe();
    entry.subscription = entry.ref.system.inspect((event: InspectionEvent) => {
      if (event.type !== '@xstate.snapshot' || (event.actorRef as unknown) !== entry.ref) return;
      const state = stateName((event.snapshot as unknown as { value: StateValue }).value);
      if (state === entry.last) return;
      entry.last = state;
      this.record(entry.actor, entry.machine, state, event.event.type);
    });
  }

  private unregister(entry: Registered): void {
    entry.subscription?.unsubscribe();
    const at = this.actors.indexOf(entry);
    if (at >= 0) this.actors.splice(at, 1);
  }

  /** The registered actors not stopped (a stopped one is dropped here). */
  private live(): Registered[] {
    for (const entry of [...this.actors]) {
      if (entry.ref.getSnapshot().status === 'stopped') this.unregister(entry);
    }
    return this.actors;
  }

  private counts(): Record<string, Record<string, number>> {
    const counts: Record<string, Record<string, number>> = {};
    for (const source of this.sources) {
      const states = (counts[source.machine] ??= {});
      for (const value of source.states()) {
        const state = stateName(value);
        states[state] = (states[state] ?? 0) + 1;
      }
    }
    return counts;
  }

  /** The actor `id` names: `<actor>` or `<machine>/<actor>` (when several machines share an id, as a server's and its supervisor's do). */
  private detail(id: string): ActorDetail | undefined {
    const slash = id.indexOf('/');
    const machine = slash > 0 ? id.slice(0, slash) : undefined;
    const actor = slash > 0 ? id.slice(slash + 1) : id;
    const entry = this.live().find((candidate) => candidate.actor === actor && (machine === undefined || candidate.machine === machine));
    if (entry) {
      const snapshot = entry.ref.getSnapshot();
      return { actor, machine: entry.machine, state: stateName(snapshot.value), context: plainData(snapshot.context) };
    }
    for (const source of this.sources) {
      if (machine !== undefined && source.machine !== machine) continue;
      const found = source.find(actor);
      if (found) return { actor, machine: source.machine, state: stateName(found.value), context: plainData(found.context) };
    }
    return undefined;
  }
}

function stateOf(ref: InspectableActor): string {
  return stateName(ref.getSnapshot().value);
}

let processInspector: Inspector | undefined;

/** The inspector of this process: every actor the process runs reports to it. */
export function inspectorOfProcess(): Inspector {
  return (processInspector ??= new Inspector());
}
