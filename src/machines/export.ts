import { graphToDot } from './dot.ts';
import { machineGraph, type MachineGraph } from './graph.ts';
import { graphToMermaid } from './mermaid.ts';
import type { MachineEntry } from './registry.ts';

/** The formats a machine is exported in: Mermaid `stateDiagram-v2`, Graphviz DOT, or its graph as JSON. */
export const machineFormats = ['mermaid', 'dot', 'json'] as const;
export type MachineFormat = (typeof machineFormats)[number];

export function isMachineFormat(format: string): format is MachineFormat {
  return (machineFormats as readonly string[]).includes(format);
}

/** What `--format json` prints for one machine: its graph, with its registry name and description. */
export interface MachineExport extends MachineGraph {
  name: string;
  description: string;
}

/** One machine's graph with its name and description (the JSON export, as data). */
export function machineExport(entry: MachineEntry): MachineExport {
  return { name: entry.name, description: entry.description, ...machineGraph(entry.machine) };
}

/**
 * One machine as text in `format`. Every format is drawn from the same graph (`machineGraph`).
 *
 * @example
 * ```ts
 * exportMachine(findMachine('supervisor')!, 'dot'); // 'digraph "supervisor" {\n  compound=true; ...'
 * ```
 */
export function exportMachine(entry: MachineEntry, format: MachineFormat): string {
  const graph = machineExport(entry);
  if (format === 'mermaid') return graphToMermaid(graph);
  if (format === 'dot') return graphToDot(graph);
  return JSON.stringify(graph, null, 2);
}

/**
 * Several machines as one text: JSON an array of graphs; DOT one `digraph` after another (Graphviz
 * reads them all from one file); Mermaid one diagram per machine, each after a `%% <name>: <description>`
 * comment line and separated by a blank line (a Mermaid renderer takes one diagram at a time).
 */
export function exportMachines(entries: readonly MachineEntry[], format: MachineFormat): string {
  if (format === 'json') return JSON.stringify(entries.map(machineExport), null, 2);
  if (format === 'dot') return entries.map((entry) => exportMachine(entry, format)).join('\n\n');
  return entries.map((entry) => `%% ${entry.name}: ${entry.description}\n${exportMachine(entry, format)}`).join('\n\n');
}
