import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';

/**
 * A machine's statechart as plain data, read from its xstate v5 definition (`machine.root`,
 * `StateNode.states`, `.transitions`, `.after`, `.invoke`, `.always`, `.initial`): every state,
 * nested and final ones included, which child each compound state starts in, and every transition
 * with its event, guard and delay. The Mermaid and DOT exporters draw this, the JSON export is
 * this, so every view of a machine shows the same chart. Pure and deterministic: the same machine
 * always gives the same graph, states and transitions in document order.
 *
 * JSON-safe by construction: only strings, booleans, arrays and plain objects; an optional field
 * is left out rather than `undefined`, so `JSON.parse(JSON.stringify(graph))` deep-equals it.
 *
 * @example
 * ```ts
 * const graph = machineGraph(supervisorMachine);
 * graph.states.map((state) => state.id); // ['watching', 'watching.starting', 'watching.up', ...]
 * ```
 */
export function machineGraph(machine: AnyStateMachine): MachineGraph {
  const root = machine.root;
  const all = descendants(root);
  const stateId = (node: AnyStateNode): string => node.path.join('.');
  const states = all.map((node) => graphState(node, stateId));
  return {
    id: machine.id,
    type: root.type === 'parallel' ? 'parallel' : 'compound',
    initial: initialIds(root, stateId),
    states,
    transitions: collectTransitions(root, stateId),
  };
}

export interface MachineGraph {
  /** The machine's id (`createMachine({ id })`). */
  id: string;
  /** `parallel` when the top-level states are regions that are all active at once. */
  type: 'compound' | 'parallel';
  /** The top-level states the machine starts in (one, or one per region of a parallel root). */
  initial: string[];
  /** Every state but the root, depth first in document order (a parent before its children). */
  states: GraphState[];
  /** Every transition, ordered by the document order of its source, then as defined. */
  transitions: GraphTransition[];
}

export type GraphStateType = 'atomic' | 'compound' | 'parallel' | 'final' | 'history';

export interface GraphState {
  /** The state's path joined with dots (`watching.up`): unique in the machine. */
  id: string;
  /** The state's own key (`up`). */
  key: string;
  /** The keys from the top-level state down to this one. */
  path: string[];
  /** The id of the enclosing state; `null` for a top-level state. */
  parent: string | null;
  type: GraphStateType;
  /** A compound state's initial child (by id); empty for every other type. */
  initial: string[];
  /** A history state's depth. */
  history?: 'shallow' | 'deep';
  description?: string;
  tags?: string[];
  /** The actors invoked while in this state, by `src`. */
  invokes?: string[];
  /** The names of the actions run on entering / leaving the state. */
  entry?: string[];
  exit?: string[];
}

/**
 * What takes a transition: an `event` sent to the machine, a delay (`after`), an invoked actor
 * settling (`done` / `error` / `snapshot`), a compound state reaching its final state
 * (`done-state`), or nothing at all (`always`).
 */
export type GraphTransitionKind = 'event' | 'after' | 'done' | 'error' | 'snapshot' | 'done-state' | 'always';

export interface GraphTransition {
  /** The state the transition leaves (by id). */
  source: string;
  /**
   * The state it enters (by id). Left out for a targetless transition, which runs actions and
   * changes no state (the diagrams do not draw those).
   */
  target?: string;
  kind: GraphTransitionKind;
  /** xstate's event type: `STOP`, `xstate.after.backoff.supervisor.backingOff`, `''` for `always`. */
  event: string;
  /** What a diagram writes on the arrow: `STOP`, `after backoff`, `done: connect`, `DOWN [tooMany]`. */
  label: string;
  /** The guard, as a name (`tooMany`, `!isReady`, `a && b`). */
  guard?: string;
  /** For `after`: the delay's name, or `<n>ms`. */
  delay?: string;
  /** For `done` / `error` / `snapshot`: the invoked actor's `src`. */
  actor?: string;
  /** The names of the actions the transition runs. */
  actions?: string[];
  /**
   * Defined on the machine itself (e.g. a root `STOP`) and drawn from each top-level, non-final
   * state that does not itself take that event unconditionally.
   */
  inherited?: true;
}

function children(node: AnyStateNode): AnyStateNode[] {
  return Object.values(node.states) as AnyStateNode[];
}

/** Every state node except the root, depth first in document order. */
function descendants(node: AnyStateNode): AnyStateNode[] {
  return children(node).flatMap((child) => [child, ...descendants(child)]);
}

function initialIds(node: AnyStateNode, stateId: (node: AnyStateNode) => string): string[] {
  if (node.type !== 'compound') return [];
  return ((node.initial?.target ?? []) as AnyStateNode[]).map(stateId);
}

function graphState(node: AnyStateNode, stateId: (node: AnyStateNode) => string): GraphState {
  const state: GraphState = {
    id: stateId(node),
    key: node.key,
    path: [...node.path],
    parent: node.parent && node.parent.parent ? stateId(node.parent) : null,
    type: node.type,
    initial: initialIds(node, stateId),
  };
  if (node.type === 'history') state.history = node.history === 'deep' ? 'deep' : 'shallow';
  if (node.description) state.description = node.description;
  if (node.tags.length > 0) state.tags = [...node.tags];
  const invokes = node.invoke.map((definition) => (typeof definition.src === 'string' ? definition.src : definition.id));
  if (invokes.length > 0) state.invokes = invokes;
  // xstate schedules a state's `after` timers with a raise on entry and a cancel on exit of its
  // own making: those are the delayed transitions, not actions of the state.
  const timers = new Set(node.after.map((delayed) => String(delayed.eventType)));
  const isTimer = (action: unknown): boolean => {
    const { type, id, sendId } = action as { type?: unknown; id?: unknown; sendId?: unknown };
    return (type === 'xstate.raise' && timers.has(String(id))) || (type === 'xstate.cancel' && timers.has(String(sendId)));
  };
  const entry = actionNames(node.entry.filter((action) => !isTimer(action)));
  if (entry.length > 0) state.entry = entry;
  const exit = actionNames(node.exit.filter((action) => !isTimer(action)));
  if (exit.length > 0) state.exit = exit;
  return state;
}

function collectTransitions(root: AnyStateNode, stateId: (node: AnyStateNode) => string): GraphTransition[] {
  const found: { from: AnyStateNode; transition: GraphTransition }[] = [];
  const order = [root, ...descendants(root)];
  // The machine's own transitions last, so that a state's own transitions are listed before
  // those it inherits; then every transition in the document order of its source.
  for (const node of [...order.slice(1), root]) {
    const delays = new Map<string, unknown>();
    for (const delayed of node.after) delays.set(String(delayed.eventType), delayed.delay);
    const sources = node === root ? rootSources(root) : () => [node];
    const transitions: [string, AnyTransitionDefinition[]][] = [...node.transitions];
    if (node.always?.length) transitions.push(['', node.always]);
    for (const [eventType, list] of transitions) {
      const trigger = triggerOf(node, eventType, delays);
      for (const definition of list) {
        const guard = definition.guard === undefined ? undefined : guardLabel(definition.guard);
        const actions = actionNames(definition.actions);
        const targets = (definition.target ?? []) as AnyStateNode[];
        for (const from of sources(eventType)) {
          for (const to of targets.length > 0 ? targets : [undefined]) {
            const transition: GraphTransition = {
              source: stateId(from),
              ...(to !== undefined ? { target: stateId(to) } : {}),
              kind: trigger.kind,
              event: eventType,
              label: guard === undefined ? trigger.label : `${trigger.label} [${guard}]`,
              ...(guard !== undefined ? { guard } : {}),
              ...(trigger.delay !== undefined ? { delay: trigger.delay } : {}),
              ...(trigger.actor !== undefined ? { actor: trigger.actor } : {}),
              ...(actions.length > 0 ? { actions } : {}),
              ...(node === root ? { inherited: true as const } : {}),
            };
            found.push({ from, transition });
          }
        }
      }
    }
  }
  const position = new Map(order.map((node, index) => [node, index]));
  return found
    .map((entry, index) => ({ ...entry, index }))
    .sort((a, b) => (position.get(a.from) ?? 0) - (position.get(b.from) ?? 0) || a.index - b.index)
    .map(({ transition }) => transition);
}

/**
 * A transition on the machine itself applies in every top-level state that does not take the
 * event itself: it is listed from each of them (a final state takes no transitions).
 */
function rootSources(root: AnyStateNode): (eventType: string) => AnyStateNode[] {
  return (eventType) =>
    children(root).filter(
      (child) => child.type !== 'final' && !(child.transitions.get(eventType) ?? []).some((t: AnyTransitionDefinition) => t.guard === undefined),
    );
}

interface Trigger {
  kind: GraphTransitionKind;
  label: string;
  delay?: string;
  actor?: string;
}

function triggerOf(node: AnyStateNode, eventType: string, delays: Map<string, unknown>): Trigger {
  if (eventType === '') return { kind: 'always', label: 'always' };
  if (delays.has(eventType)) {
    const delay = delayLabel(delays.get(eventType));
    return { kind: 'after', label: `after ${delay}`, delay };
  }
  for (const [prefix, kind] of [
    ['xstate.done.actor.', 'done'],
    ['xstate.error.actor.', 'error'],
    ['xstate.snapshot.', 'snapshot'],
  ] as const) {
    if (!eventType.startsWith(prefix)) continue;
    const id = eventType.slice(prefix.length);
    const invoke = node.invoke.find((definition) => definition.id === id);
    if (invoke) {
      const actor = typeof invoke.src === 'string' ? invoke.src : invoke.id;
      return { kind, label: `${kind}: ${actor}`, actor };
    }
  }
  if (eventType === `xstate.done.state.${node.id}`) return { kind: 'done-state', label: 'done' };
  return { kind: 'event', label: eventType };
}

function delayLabel(delay: unknown): string {
  if (typeof delay === 'number') return `${delay}ms`;
  if (typeof delay === 'string') return delay;
  if (typeof delay === 'function' && delay.name) return delay.name;
  return 'delay';
}

function guardLabel(guard: unknown): string {
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const combined = (guard as { guards?: unknown[] }).guards;
    const name = guard.name;
    if (Array.isArray(combined)) {
      const parts = combined.map(guardLabel);
      if (name === 'not') return `!${parts[0] ?? ''}`;
      if (name === 'and') return parts.join(' && ');
      if (name === 'or') return parts.join(' || ');
    }
    const stateValue = (guard as { stateValue?: unknown }).stateValue;
    if (name === 'stateIn' && stateValue !== undefined) return `in ${JSON.stringify(stateValue)}`;
    return name || 'guard';
  }
  if (guard && typeof guard === 'object' && typeof (guard as { type?: unknown }).type === 'string') {
    return (guard as { type: string }).type;
  }
  return 'guard';
}

/** Action names: a string, `{ type }`, or a named function (xstate's built-ins: `assign`, `raise`...). */
function actionNames(actions: unknown): string[] {
  const list = Array.isArray(actions) ? actions : actions === undefined || actions === null ? [] : [actions];
  return list.map((action: unknown) => {
    if (typeof action === 'string') return action;
    if (action && typeof action === 'object' && typeof (action as { type?: unknown }).type === 'string') return (action as { type: string }).type;
    if (typeof action === 'function') {
      const type = (action as { type?: unknown }).type;
      if (typeof type === 'string') return type;
      return action.name || 'action';
    }
    return 'action';
  });
}
