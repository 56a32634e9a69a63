import {
  createActor,
  type AnyActorScope,
  type AnyStateMachine,
  type ContextFrom,
  type EventFromLogic,
  type InputFrom,
  type MachineSnapshot,
  type SnapshotFrom,
  type StateValueFrom,
} from 'xstate';
import { runnerInspection } from './inspection.ts';
import { TimerWheel, type WheelEntry } from './timer-wheel.ts';

type Parts<M extends AnyStateMachine> = Pick<MachineSnapshot<ContextFrom<M>, EventFromLogic<M>, never, StateValueFrom<M>, string, unknown, never, never>, 'value' | 'context' | 'status'>;

/** The wheel runners use unless given one: Node's clock, 100 ms ticks. */
let sharedWheel: TimerWheel | undefined;

/**
 * One actor scope per machine, shared by all its runners. xstate's `transition()` makes a fresh
 * one per call: an actor and two actor systems, garbage on every event of every connection. The
 * scope only collects the actions a transition returns (nothing runs during it), so sharing is
 * safe: each call installs its own collector first.
 */
const scopes = new WeakMap<AnyStateMachine, AnyActorScope>();

function scopeOf(machine: AnyStateMachine): AnyActorScope {
  let scope = scopes.get(machine);
  if (!scope) {
    const self = createActor(machine as AnyStateMachine & { config: unknown }, { input: {} as never });
    scope = {
      self,
      id: '',
      sessionId: '',
      logger: () => {},
      defer: () => {},
      emit: () => {},
      stopChild: () => {},
      system: self.system,
      actionExecutor: () => {},
    };
    scopes.set(machine, scope);
  }
  return scope;
}

/** A transition with the machine's shared scope: the next snapshot and the actions to run. */
function step<M extends AnyStateMachine>(machine: M, snapshot: SnapshotFrom<M> | undefined, event: EventFromLogic<M> | undefined, input?: InputFrom<M>): [Parts<M>, Executable[]] {
  const scope = scopeOf(machine);
  const actions: Executable[] = [];
  scope.actionExecutor = (action) => void actions.push(action as unknown as Executable);
  const next = snapshot === undefined ? machine.getInitialSnapshot(scope, input) : machine.transition(snapshot, event!, scope);
  scope.actionExecutor = () => {};
  return [next as Parts<M>, actions];
}

/** An action's implementation as `setup({ actions })` holds it, and the params it is given. */
type ActionImplementation = (args: { context: unknown; event: unknown; self: unknown; system: unknown }, params: unknown) => void;
type DirectActions = readonly (readonly [ActionImplementation, unknown])[];

/** Per machine: state value → event type → the actions of a transition that only runs actions, or null. */
type DirectTable = Map<string, Map<string, DirectActions | null>>;
const directTables = new WeakMap<AnyStateMachine, DirectTable>();

function directTableOf(machine: AnyStateMachine): DirectTable {
  let table = directTables.get(machine);
  if (!table) directTables.set(machine, (table = new Map()));
  return table;
}

/**
 * The actions to run for `type` in top-level atomic state `value` if that transition can skip
 * xstate's step: exactly one transition for the event in the state itself, with no target, no
 * guard, and only actions that are plain functions (no assign, raise or other built-in) with
 * fixed params, in a state without eventless transitions. Such a transition leaves value and
 * context as they are, so running its actions is all a step would do (a step costs a snapshot,
 * tens of µs). Anything else, or any doubt, is null: the runner steps. The actions are given
 * the context and the event only (`self` and `system` are undefined): what plain actions use.
 */
function directActions(machine: AnyStateMachine, table: DirectTable, value: unknown, type: string): DirectActions | null {
  if (typeof value !== 'string') return null;
  let byEvent = table.get(value);
  if (!byEvent) table.set(value, (byEvent = new Map()));
  let found = byEvent.get(type);
  if (found === undefined) byEvent.set(type, (found = resolveDirect(machine, value, type)));
  return found;
}

interface TransitionShape {
  target: unknown;
  guard: unknown;
  reenter: boolean;
  actions: readonly unknown[];
}

function resolveDirect(machine: AnyStateMachine, value: string, type: string): DirectActions | null {
  const node = (machine.root.states as Record<string, { type: string; always?: unknown; transitions: Map<string, TransitionShape[]> } | undefined>)[value];
  if (!node || node.type !== 'atomic' || (node.always !== undefined && (node.always as unknown[]).length > 0)) return null;
  const candidates = node.transitions.get(type);
  if (!candidates || candidates.length !== 1) return null;
  const [transition] = candidates as [TransitionShape];
  if (transition.target !== undefined || transition.guard !== undefined || transition.reenter) return null;
  const implementations = machine.implementations.actions as Record<string, unknown>;
  const actions: [ActionImplementation, unknown][] = [];
  for (const action of transition.actions) {
    const { type: name, params } = typeof action === 'string' ? { type: action, params: undefined } : (action as { type?: unknown; params?: unknown });
    const implementation = typeof name === 'string' ? implementations[name] : undefined;
    // Built-in actions (assign, raise, sendTo...) carry a `resolve`; they need a real step.
    if (typeof implementation !== 'function' || 'resolve' in implementation || typeof params === 'function') return null;
    actions.push([implementation as ActionImplementation, params]);
  }
  return actions;
}

interface Executable {
  type: string;
  info: unknown;
  params: unknown;
  exec: ((info: unknown, params: unknown) => void) | undefined;
}

/**
 * Runs a machine without an actor: xstate's transition function, the actions it returns executed
 * here, and its delayed events (`after`) on a {@link TimerWheel}. An actor brings its own actor
 * system, mailbox and a dozen closures, about 5 KiB each: right for a server or a supervisor, too
 * heavy for each of thousands of client connections. Between events a runner keeps only the state
 * value, the context and its pending delayed event (a snapshot, with its node list and bound
 * methods, is rebuilt when the next event comes), so an idle connection's machine costs a few
 * hundred bytes. Its delays are the wheel's: rounded up to its resolution (100 ms by default).
 *
 * What it supports is what the session and channel machines use: actions with effects, `assign`,
 * `after` (delayed raise and cancel) and raise. Machines that invoke or spawn actors need a real
 * actor. An event whose transition only runs plain actions (a channel's join or push while it is
 * open) skips the step altogether: its actions are called with the context and the event, and
 * nothing else changes.
 *
 * While a watcher holds an inspection lease ({@link runnerInspection}), each step is reported to
 * the process's inspector under `actor` (a session's id); with none, the report is one boolean test.
 */
export class MachineRunner<M extends AnyStateMachine> implements WheelEntry {
  /** The current state value: cheap to read on every package. */
  value: StateValueFrom<M>;
  private context: ContextFrom<M>;
  private status: Parts<M>['status'];
  /** The pending delayed event, which the runner itself waits for on the wheel (machines rarely have two at once; more go to `others`). */
  private timerId: string | undefined;
  private timerEvent: EventFromLogic<M> | undefined;
  /** @internal */
  wheelTick: number | undefined;
  private others: Map<string, Delayed<M>> | undefined;
  /** The machine's table of transitions that skip the step (shared by all its runners). */
  private readonly directs: DirectTable;
  private queue: EventFromLogic<M>[] | undefined;
  private busy = false;
  /**
   * The snapshot of the last step while events sent from its actions are handled (resolving a
   * snapshot allocates about 4.5 KB; a handshake's verify answers within the step); dropped once
   * the runner is idle, so that an idle runner keeps only value and context.
   */
  private latest: SnapshotFrom<M> | undefined;

  constructor(
    private readonly machine: M,
    input: InputFrom<M>,
    private readonly wheel: TimerWheel = (sharedWheel ??= new TimerWheel()),
    /** The runner's id for the inspector, unique among its machine's runners in the process. */
    private readonly actor?: string | number,
  ) {
    this.directs = directTableOf(machine);
    const [snapshot, actions] = step(machine, undefined, undefined, input);
    this.value = snapshot.value;
    if (runnerInspection.watching) runnerInspection.probe?.stepped(machine.id, actor, undefined, snapshot.value, 'xstate.init');
    this.context = snapshot.context;
    this.status = snapshot.status;
    this.latest = snapshot as SnapshotFrom<M>;
    this.busy = true;
    this.execute(actions);
    this.drain();
  }

  /** The current snapshot, rebuilt from the value and context. */
  get snapshot(): SnapshotFrom<M> {
    return this.machine.resolveState({ value: this.value, context: this.context, status: this.status }) as SnapshotFrom<M>;
  }

  /**
   * Handles one event; events sent from within an action are handled after the current one. An
   * action that throws ends this send (the error is the caller's, the events it queued are
   * dropped) and leaves the runner in the state the event led to, taking events again.
   */
  send(event: EventFromLogic<M>): void {
    if (this.busy) {
      (this.queue ??= []).push(event);
      return;
    }
    this.busy = true;
    try {
      this.step(event);
      this.drain();
    } catch (error) {
      this.queue = undefined;
      this.latest = undefined;
      this.busy = false;
      throw error;
    }
  }

  /** Cancels pending delayed events; the runner takes no more events. */
  stop(): void {
    if (this.timerId !== undefined) this.cancel(this.timerId);
    if (this.others) for (const delayed of this.others.values()) this.wheel.cancel(delayed);
    this.others = undefined;
    this.queue = undefined;
  }

  /** @internal The wheel: the pending delayed event is due. */
  expire(): void {
    const event = this.timerEvent!;
    this.timerId = this.timerEvent = undefined;
    this.send(event);
  }

  private drain(): void {
    if (this.queue) {
      while (this.queue.length) this.step(this.queue.shift()!);
      this.queue = undefined;
    }
    this.latest = undefined;
    this.busy = false;
  }

  private step(event: EventFromLogic<M>): void {
    if (this.status !== 'active') return;
    const direct = directActions(this.machine, this.directs, this.value, event.type);
    if (direct) {
      const args = { context: this.context, event, self: undefined, system: undefined };
      for (const [run, params] of direct) run(args, params);
      return;
    }
    const [next, actions] = step(this.machine, this.latest ?? this.snapshot, event);
    this.latest = next as SnapshotFrom<M>;
    if (runnerInspection.watching) runnerInspection.probe?.stepped(this.machine.id, this.actor, this.value, next.value, event.type);
    this.value = next.value;
    this.context = next.context;
    this.status = next.status;
    this.execute(actions);
    if (this.status !== 'active') this.stop();
  }

  private execute(actions: Executable[]): void {
    for (const action of actions) {
      if (action.type === 'xstate.raise') {
        const { event, id, delay } = action.params as { event: EventFromLogic<M>; id: string | undefined; delay: number | undefined };
        // An immediate raise was already taken within the transition (xstate's internal queue); only delayed ones are ours.
        if (delay !== undefined) this.schedule(id ?? event.type, delay, event);
      } else if (action.type === 'xstate.cancel') {
        this.cancel((action.params as { sendId: string }).sendId);
      } else {
        action.exec?.(action.info, action.params);
      }
    }
  }

  private schedule(id: string, delay: number, event: EventFromLogic<M>): void {
    this.cancel(id);
    if (this.timerId === undefined) {
      this.timerId = id;
      this.timerEvent = event;
      this.wheel.schedule(this, delay);
    } else {
      const delayed = new Delayed(this, id, event);
      (this.others ??= new Map()).set(id, delayed);
      this.wheel.schedule(delayed, delay);
    }
  }

  private cancel(id: string): void {
    if (this.timerId === id) {
      this.wheel.cancel(this);
      this.timerId = this.timerEvent = undefined;
      return;
    }
    const delayed = this.others?.get(id);
    if (delayed) {
      this.wheel.cancel(delayed);
      this.others!.delete(id);
    }
  }

  /** @internal A second delayed event came due. */
  expireOther(delayed: Delayed<M>): void {
    this.others?.delete(delayed.id);
    this.send(delayed.event);
  }
}

/** A delayed event beyond a runner's first (rare): its own entry on the wheel. */
class Delayed<M extends AnyStateMachine> implements WheelEntry {
  wheelTick: number | undefined;

  constructor(
    private readonly runner: MachineRunner<M>,
    readonly id: string,
    readonly event: EventFromLogic<M>,
  ) {}

  expire(): void {
    this.runner.expireOther(this);
  }
}
