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

type Parts<M extends AnyStateMachine> = Pick<MachineSnapshot<ContextFrom<M>, EventFromLogic<M>, never, StateValueFrom<M>, string, unknown, never, never>, 'value' | 'context' | 'status'>;

/** Timers a runner uses: Node's by default; xstate's `SimulatedClock` fits, for tests. */
export interface RunnerClock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: RunnerClock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

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

interface Executable {
  type: string;
  info: unknown;
  params: unknown;
  exec: ((info: unknown, params: unknown) => void) | undefined;
}

/**
 * Runs a machine without an actor: xstate's transition function, the actions it returns executed
 * here, and its delayed events (`after`) on timers. An actor brings its own actor system, mailbox
 * and a dozen closures, about 5 KiB each: right for a server or a supervisor, too heavy for each
 * of thousands of client connections. Between events a runner keeps only the state value, the
 * context and its pending timers (a snapshot, with its node list and bound methods, is rebuilt
 * when the next event comes), so an idle connection's machine costs a few hundred bytes.
 *
 * What it supports is what the session machine uses: actions with effects, `assign`, `after`
 * (delayed raise and cancel) and raise. Machines that invoke or spawn actors need a real actor.
 */
export class MachineRunner<M extends AnyStateMachine> {
  /** The current state value: cheap to read on every package. */
  value: StateValueFrom<M>;
  private context: ContextFrom<M>;
  private status: Parts<M>['status'];
  /** The pending delayed event (machines rarely have two at once; more go to `others`). */
  private timerId: string | undefined;
  private timer: unknown;
  private others: Map<string, unknown> | undefined;
  private queue: EventFromLogic<M>[] | undefined;
  private busy = false;

  constructor(
    private readonly machine: M,
    input: InputFrom<M>,
    private readonly clock: RunnerClock = realClock,
  ) {
    const [snapshot, actions] = step(machine, undefined, undefined, input);
    this.value = snapshot.value;
    this.context = snapshot.context;
    this.status = snapshot.status;
    this.busy = true;
    this.execute(actions);
    this.drain();
  }

  /** The current snapshot, rebuilt from the value and context. */
  get snapshot(): SnapshotFrom<M> {
    return this.machine.resolveState({ value: this.value, context: this.context, status: this.status }) as SnapshotFrom<M>;
  }

  /** Handles one event; events sent from within an action are handled after the current one. */
  send(event: EventFromLogic<M>): void {
    if (this.busy) {
      (this.queue ??= []).push(event);
      return;
    }
    this.busy = true;
    this.step(event);
    this.drain();
  }

  /** Cancels pending timers; the runner takes no more events. */
  stop(): void {
    if (this.timerId !== undefined) this.clock.clearTimeout(this.timer);
    this.timerId = this.timer = undefined;
    if (this.others) for (const handle of this.others.values()) this.clock.clearTimeout(handle);
    this.others = undefined;
    this.queue = undefined;
  }

  private drain(): void {
    if (this.queue) {
      while (this.queue.length) this.step(this.queue.shift()!);
      this.queue = undefined;
    }
    this.busy = false;
  }

  private step(event: EventFromLogic<M>): void {
    if (this.status !== 'active') return;
    const [next, actions] = step(this.machine, this.snapshot, event);
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
        if (delay === undefined) (this.queue ??= []).push(event);
        else this.schedule(id ?? event.type, delay, event);
      } else if (action.type === 'xstate.cancel') {
        this.cancel((action.params as { sendId: string }).sendId);
      } else {
        action.exec?.(action.info, action.params);
      }
    }
  }

  private schedule(id: string, delay: number, event: EventFromLogic<M>): void {
    this.cancel(id);
    const handle = this.clock.setTimeout(() => this.fire(id, event), delay);
    if (this.timerId === undefined) {
      this.timerId = id;
      this.timer = handle;
    } else {
      (this.others ??= new Map()).set(id, handle);
    }
  }

  private fire(id: string, event: EventFromLogic<M>): void {
    this.forget(id);
    this.send(event);
  }

  private cancel(id: string): void {
    if (this.timerId === id) this.clock.clearTimeout(this.timer);
    else if (this.others?.has(id)) this.clock.clearTimeout(this.others.get(id));
    this.forget(id);
  }

  private forget(id: string): void {
    if (this.timerId === id) this.timerId = this.timer = undefined;
    else this.others?.delete(id);
  }
}
