import type { AnyStateMachine } from 'xstate';
import { machineGraph, type GraphState, type MachineGraph } from './graph.ts';

/**
 * Draws an xstate v5 machine as a Mermaid `stateDiagram-v2`, from its graph (`machineGraph`,
 * read from the machine's definition), so that the diagrams in `docs/architecture.md` and
 * `shaddock machines` cannot drift from the code. Pure and deterministic: the same machine always
 * gives the same text, in document order.
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
  return graphToMermaid(machineGraph(machine));
}

/** {@link toMermaid} for a graph already built. */
export function graphToMermaid(graph: MachineGraph): string {
  const ids = assignIds(graph.states);
  const parentOf = new Map(graph.states.map((state) => [state.id, state.parent]));
  const edges: Edge[] = [];
  for (const transition of graph.transitions) {
    if (transition.target === undefined) continue;
    const from = parentOf.get(transition.source) ?? null;
    const to = parentOf.get(transition.target) ?? null;
    edges.push({ from: transition.source, to: transition.target, label: transition.label, scope: from === to ? from : null });
  }
  const lines = ['stateDiagram-v2'];
  renderScope(graph, null, graph.initial, 1, ids, edges, lines);
  return lines.join('\n');
}

interface Edge {
  from: string;
  to: string;
  label: string;
  /** The compound whose block the edge is written in (`null`, the top level, when the ends have different parents). */
  scope: string | null;
}

const plainId = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Words Mermaid's state lexer takes as keywords at the start of a token. */
const reserved = /^(state|note|class|classDef|style|direction|scale|click|href|end)$|^default/i;

/** Mermaid ids: the state's key when that is unique in the machine and a plain id, else its path. */
function assignIds(states: readonly GraphState[]): Map<string, string> {
  const keyCount = new Map<string, number>();
  for (const state of states) keyCount.set(state.key, (keyCount.get(state.key) ?? 0) + 1);
  const ids = new Map<string, string>();
  const taken = new Set<string>();
  for (const state of states) {
    let id = state.key;
    if (keyCount.get(id) !== 1 || !plainId.test(id) || reserved.test(id)) {
      const base = `s_${state.path.join('_').replace(/[^A-Za-z0-9_]/g, '_')}`;
      id = base;
      for (let n = 2; taken.has(id) || keyCount.has(id); n++) id = `${base}_${n}`;
    }
    taken.add(id);
    ids.set(state.id, id);
  }
  return ids;
}

/** Mermaid ends a label at `;` or `::` and decodes `#name;`: write those as entity codes it renders back. */
function escapeLabel(label: string): string {
  const codes: Record<string, string> = { '#': '#35;', ';': '#59;', ':': '#58;' };
  return label.replace(/[\r\n]+/g, ' ').replace(/#|;|(?<=:):/g, (c) => codes[c] ?? c);
}

function renderScope(
  graph: MachineGraph,
  scope: GraphState | null,
  initial: readonly string[],
  depth: number,
  ids: Map<string, string>,
  edges: Edge[],
  lines: string[],
): void {
  const pad = '  '.repeat(depth);
  const scopeId = scope?.id ?? null;
  const id = (stateId: string): string => ids.get(stateId) ?? stateId;
  if ((scope ?? graph).type === 'compound') {
    for (const target of initial) lines.push(`${pad}[*] --> ${id(target)}`);
  }
  const states = graph.states.filter((state) => state.parent === scopeId);
  states.forEach((child, index) => {
    if ((scope ?? graph).type === 'parallel' && index > 0) lines.push(`${pad}--`);
    const childId = id(child.id);
    if (childId !== child.key) lines.push(`${pad}state "${child.key.replace(/"/g, "'")}" as ${childId}`);
    if (child.type === 'history') lines.push(`${pad}${childId} : ${child.history === 'deep' ? 'H*' : 'H'}`);
    if (child.description) lines.push(`${pad}${childId} : ${escapeLabel(child.description)}`);
    if (graph.states.some((state) => state.parent === child.id)) {
      lines.push(`${pad}state ${childId} {`);
      renderScope(graph, child, child.initial, depth + 1, ids, edges, lines);
      lines.push(`${pad}}`);
    } else if (childId === child.key && child.type !== 'history' && !child.description) {
      lines.push(`${pad}${childId}`);
    }
  });
  for (const edge of edges) {
    if (edge.scope === scopeId) lines.push(`${pad}${id(edge.from)} --> ${id(edge.to)} : ${escapeLabel(edge.label)}`);
  }
  for (const child of states) {
    if (child.type === 'final') lines.push(`${pad}${id(child.id)} --> [*]`);
  }
}
