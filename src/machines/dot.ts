import type { AnyStateMachine } from 'xstate';
import { machineGraph, type GraphState, type MachineGraph } from './graph.ts';

/**
 * Draws an xstate v5 machine as a Graphviz `digraph` (render it with `dot -Tsvg`), from the same
 * graph as the Mermaid export (`machineGraph`). Pure and deterministic.
 *
 * What the text shows:
 * - every state carries an `id` attribute, its dotted path (`watching.up`), which Graphviz gives
 *   the state's element in an SVG, so a page can find it by state;
 * - a simple state as a node; a final state with a double border, a history state as a circle
 *   marked `H` / `H*`;
 * - a compound state as a cluster (`cluster_<path>`) holding its children, an initial point
 *   pointing at its initial child, and one invisible anchor node (named for the state) that its
 *   transitions start or end at; Graphviz clips those edges at the cluster's border
 *   (`compound=true`, `ltail` / `lhead`). A parallel state's cluster is dashed;
 * - every transition with a target, labelled as in the Mermaid export (`STOP`, `after backoff`,
 *   `done: connect`, `DOWN [tooMany]`). Targetless transitions are not drawn.
 *
 * Nodes are declared in their cluster before any edge is written, and edges between states are
 * written at the top level, so an edge never moves a node into another cluster.
 *
 * @example
 * ```ts
 * writeFileSync('supervisor.dot', toDot(supervisorMachine)); // then: dot -Tsvg supervisor.dot
 * ```
 */
export function toDot(machine: AnyStateMachine): string {
  return graphToDot(machineGraph(machine));
}

/** {@link toDot} for a graph already built. */
export function graphToDot(graph: MachineGraph): string {
  const compound = new Set(graph.states.filter((state) => hasChildren(graph, state)).map((state) => state.id));
  const lines = [
    `digraph ${quote(graph.id)} {`,
    '  compound=true;',
    '  node [shape=box, style=rounded, fontname="Helvetica", fontsize=11];',
    '  edge [fontname="Helvetica", fontsize=9];',
  ];
  renderScope(graph, null, graph.initial, 1, lines);
  for (const transition of graph.transitions) {
    const target = transition.target;
    if (target === undefined) continue;
    const source = transition.source;
    const attributes = [`label=${quote(transition.label)}`];
    // Clip at a compound end's cluster, unless the other end is inside it (Graphviz ignores that).
    if (compound.has(source) && !within(target, source)) attributes.push(`ltail=${quote(clusterName(source))}`);
    if (compound.has(target) && !within(source, target)) attributes.push(`lhead=${quote(clusterName(target))}`);
    lines.push(`  ${quote(source)} -> ${quote(target)} [${attributes.join(', ')}];`);
  }
  lines.push('}');
  return lines.join('\n');
}

function hasChildren(graph: MachineGraph, state: GraphState): boolean {
  return graph.states.some((other) => other.parent === state.id);
}

/** `id` is `ancestor` or a state inside it. */
function within(id: string, ancestor: string): boolean {
  return id === ancestor || id.startsWith(`${ancestor}.`);
}

function clusterName(id: string): string {
  return `cluster_${id}`;
}

/** The initial pseudo-state of the scope `scopeId` (`[*]` at the top level, `<path>.[*]` inside). */
function initialNode(scopeId: string | null): string {
  return scopeId === null ? '[*]' : `${scopeId}.[*]`;
}

/** A DOT double-quoted string: backslashes and quotes escaped, line breaks as `\n`. */
function quote(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n|\r/g, '\\n')}"`;
}

function renderScope(graph: MachineGraph, scope: GraphState | null, initial: readonly string[], depth: number, lines: string[]): void {
  const pad = '  '.repeat(depth);
  const scopeId = scope?.id ?? null;
  for (const child of graph.states.filter((state) => state.parent === scopeId)) {
    const common = [`id=${quote(child.id)}`, ...(child.description ? [`tooltip=${quote(child.description)}`] : [])];
    if (hasChildren(graph, child)) {
      lines.push(`${pad}subgraph ${quote(clusterName(child.id))} {`);
      lines.push(`${pad}  id=${quote(child.id)};`);
      lines.push(`${pad}  label=${quote(child.key)};`);
      if (child.description) lines.push(`${pad}  tooltip=${quote(child.description)};`);
      lines.push(`${pad}  style=${child.type === 'parallel' ? '"rounded,dashed"' : 'rounded'};`);
      lines.push(`${pad}  ${quote(child.id)} [label="", shape=point, style=invis];`);
      renderScope(graph, child, child.initial, depth + 1, lines);
      lines.push(`${pad}}`);
    } else if (child.type === 'history') {
      lines.push(`${pad}${quote(child.id)} [${[...common, `label=${quote(child.history === 'deep' ? 'H*' : 'H')}`, 'shape=circle'].join(', ')}];`);
    } else {
      const final = child.type === 'final' ? ['peripheries=2'] : [];
      lines.push(`${pad}${quote(child.id)} [${[...common, `label=${quote(child.key)}`, ...final].join(', ')}];`);
    }
  }
  if (initial.length > 0) {
    const start = quote(initialNode(scopeId));
    lines.push(`${pad}${start} [label="", shape=point, width=0.12];`);
    for (const target of initial) {
      const head = graph.states.some((state) => state.parent === target) ? ` [lhead=${quote(clusterName(target))}]` : '';
      lines.push(`${pad}${start} -> ${quote(target)}${head};`);
    }
  }
}
