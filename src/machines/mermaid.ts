import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';

/**
 * Draws an xstate v5 machine as a Mermaid `stateDiagram-v2`, from the machine's runtime structure
 * (`machine.root`, `StateNode.states`, `.transitions`, `.after`, `.invoke`, `.always`, `.initial`),
 * so that the diagrams in `docs/architecture.md` and in the inspector cannot drift from the code.
 * Pure and deterministic: the same machine always gives the same text, in document order.
 *
 * What the text shows:
 * - a compound state as a nested `state name { ... }` block, its initial state as `[*] --> child`;
 *   a parallel state's regions separated by `--`;
 * - a final state as `name --> [*]`, inside its parent's block;
 * - a transition labelled with its event type; a delayed one as `after <delay name>` (or
 *   `after <n>ms`); an invoked actor's completion as `done: <src>` / `error: <src>`; a compound
 *   state's own completion as `done`; an eventless one as `always`; a guard as `[guardName]`
 *   (`[!a]`, `[a && b]`, `[a || b]` for xstate's `not`, `and`, `or`);
 * - a transition defined on the machine itself (e.g. a root `STOP`) once from every top-level,
 *   non-final state that does not itself take that event unconditionally.
 *
 * What it leaves out: actions, and targetless transitions (they run actions without changing state).
 *
 * Mermaid specifics (checked against Mermaid 11's state grammar): a label may hold single colons
 * but ends at `;` or `::`, and `#name;` is an entity code, so `;`, a second `:` in a row and `#`
 * are written as the entity codes `#59;`, `#58;` and `#35;`, which Mermaid renders back as
 * characters. (Mermaid 10 and older end a label at any colon.) A transition between states of different
 * parents is written at the top level, because Mermaid moves a state into whichever block first
 * mentions it; every state is declared in its own block first. A state key that is not a plain
 * Mermaid id (or repeats another key) gets a path-based id and a `state "key" as id` line.
 */
export function toMermaid(machine: AnyStateMachine): string {
  const root = machine.root;
  const ids = assignIds(root);
  const edges = collectEdges(root);
  const lines = ['stateDiagram-v2'];
  renderScope(root, 1, ids, edges, lines);
  return lines.join('\n');
}

interface Edge {
  from: AnyStateNode;
  to: AnyStateNode;
  label: string;
  /** The compound whose block the edge is written in (the root when the ends have different parents). */
  scope: AnyStateNode;
}

const plainId = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Words Mermaid's state lexer takes as keywords at the start of a token. */
const reserved = /^(state|note|class|classDef|style|direction|scale|click|href|end)$|^default/i;

function children(node: AnyStateNode): AnyStateNode[] {
  return Object.values(node.states) as AnyStateNode[];
}

/** Every state node except the root, depth first in document order. */
function descendants(node: AnyStateNode): AnyStateNode[] {
  return children(node).flatMap((child) => [child, ...descendants(child)]);
}

/** Mermaid ids: the state's key when that is unique in the machine and a plain id, else its path. */
function assignIds(root: AnyStateNode): Map<AnyStateNode, string> {
  const all = descendants(root);
  const keyCount = new Map<string, number>();
  for (const node of all) keyCount.set(node.key, (keyCount.get(node.key) ?? 0) + 1);
  const ids = new Map<AnyStateNode, string>();
  const taken = new Set<string>();
  for (const node of all) {
    let id = node.key;
    if (keyCount.get(id) !== 1 || !plainId.test(id) || reserved.test(id)) {
      const base = `s_${node.path.join('_').replace(/[^A-Za-z0-9_]/g, '_')}`;
      id = base;
      for (let n = 2; taken.has(id) || keyCount.has(id); n++) id = `${base}_${n}`;
    }
    taken.add(id);
    ids.set(node, id);
  }
  return ids;
}

function collectEdges(root: AnyStateNode): Edge[] {
  const edges: Edge[] = [];
  const add = (from: AnyStateNode, transition: AnyTransitionDefinition, label: string): void => {
    for (const to of (transition.target ?? []) as AnyStateNode[]) {
      const scope = from.parent !== undefined && from.parent === to.parent ? from.parent : root;
      edges.push({ from, to, label, scope });
    }
  };
  const order = [root, ...descendants(root)];
  // The machine's own transitions last, so that a state's own transitions are listed before
  // those it inherits; then every edge in the document order of its source.
  for (const node of [...order.slice(1), root]) {
    const delays = new Map<string, unknown>();
    for (const delayed of node.after) delays.set(String(delayed.eventType), delayed.delay);
    const sources = node === root ? rootSources(root) : () => [node];
    const transitions: [string, AnyTransitionDefinition[]][] = [...node.transitions];
    if (node.always?.length) transitions.push(['', node.always]);
    for (const [eventType, list] of transitions) {
      const event = eventLabel(node, eventType, delays);
      for (const transition of list) {
        const label = transition.guard === undefined ? event : `${event} [${guardLabel(transition.guard)}]`;
        for (const from of sources(eventType)) add(from, transition, label);
      }
    }
  }
  const position = new Map(order.map((node, index) => [node, index]));
  return edges
    .map((edge, index) => ({ edge, index }))
    .sort((a, b) => (position.get(a.edge.from) ?? 0) - (position.get(b.edge.from) ?? 0) || a.index - b.index)
    .map(({ edge }) => edge);
}

/**
 * A transition on the machine itself applies in every top-level state that does not take the
 * event itself: draw it from each of them (a final state takes no transitions).
 */
function rootSources(root: AnyStateNode): (eventType: string) => AnyStateNode[] {
  return (eventType) =>
    children(root).filter(
      (child) => child.type !== 'final' && !(child.transitions.get(eventType) ?? []).some((t: AnyTransitionDefinition) => t.guard === undefined),
    );
}

function eventLabel(node: AnyStateNode, eventType: string, delays: Map<string, unknown>): string {
  if (eventType === '') return 'always';
  if (delays.has(eventType)) return `after ${delayLabel(delays.get(eventType))}`;
  for (const [prefix, word] of [
    ['xstate.done.actor.', 'done'],
    ['xstate.error.actor.', 'error'],
    ['xstate.snapshot.', 'snapshot'],
  ] as const) {
    if (!eventType.startsWith(prefix)) continue;
    const id = eventType.slice(prefix.length);
    const invoke = node.invoke.find((definition) => definition.id === id);
    if (invoke) return `${word}: ${typeof invoke.src === 'string' ? invoke.src : invoke.id}`;
  }
  if (eventType === `xstate.done.state.${node.id}`) return 'done';
  return eventType;
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

/** Mermaid ends a label at `;` or `::` and decodes `#name;`: write those as entity codes it renders back. */
function escapeLabel(label: string): string {
  const codes: Record<string, string> = { '#': '#35;', ';': '#59;', ':': '#58;' };
  return label.replace(/[\r\n]+/g, ' ').replace(/#|;|(?<=:):/g, (c) => codes[c] ?? c);
}

function renderScope(
  scope: AnyStateNode,
  depth: number,
  ids: Map<AnyStateNode, string>,
  edges: Edge[],
  lines: string[],
): void {
  const pad = '  '.repeat(depth);
  const id = (node: AnyStateNode): string => ids.get(node) ?? node.key;
  if (scope.type === 'compound') {
    for (const target of scope.initial.target as AnyStateNode[]) lines.push(`${pad}[*] --> ${id(target)}`);
  }
  const states = children(scope);
  states.forEach((child, index) => {
    if (scope.type === 'parallel' && index > 0) lines.push(`${pad}--`);
    const childId = id(child);
    if (childId !== child.key) lines.push(`${pad}state "${child.key.replace(/"/g, "'")}" as ${childId}`);
    if (child.type === 'history') lines.push(`${pad}${childId} : ${child.history === 'deep' ? 'H*' : 'H'}`);
    if (child.description) lines.push(`${pad}${childId} : ${escapeLabel(child.description)}`);
    if (children(child).length > 0) {
      lines.push(`${pad}state ${childId} {`);
      renderScope(child, depth + 1, ids, edges, lines);
      lines.push(`${pad}}`);
    } else if (childId === child.key && child.type !== 'history' && !child.description) {
      lines.push(`${pad}${childId}`);
    }
  });
  for (const edge of edges) {
    if (edge.scope === scope) lines.push(`${pad}${id(edge.from)} --> ${id(edge.to)} : ${escapeLabel(edge.label)}`);
  }
  for (const child of states) {
    if (child.type === 'final') lines.push(`${pad}${id(child)} --> [*]`);
  }
}
