import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fromPromise, setup, StateMachine, type AnyStateMachine, type AnyStateNode } from 'xstate';
import { docPath, beginMarker, endMarker } from '../scripts/machines-to-mermaid.ts';
import { machinesOutput } from '../src/cli/machines.ts';
import * as machinesModule from '../src/machines/index.ts';
import { graphToDot } from '../src/machines/dot.ts';
import { exportMachine, machineFormats, type MachineExport } from '../src/machines/export.ts';
import { machineGraph, type MachineGraph } from '../src/machines/graph.ts';
import { graphToMermaid } from '../src/machines/mermaid.ts';
import { findMachine, machineRegistry, type MachineEntry } from '../src/machines/registry.ts';
import { runCli } from './harness/cluster.ts';

// ---------------------------------------------------------------------------------------------
// The definition, read straight from xstate (not through graph.ts), to check the exports against.

interface DefinedState {
  path: string;
  key: string;
  parent: string | null;
  type: AnyStateNode['type'];
}

function definedStates(machine: AnyStateMachine): DefinedState[] {
  const walk = (node: AnyStateNode, parent: string | null): DefinedState[] =>
    Object.values(node.states as Record<string, AnyStateNode>).flatMap((child) => {
      const path = parent === null ? child.key : `${parent}.${child.key}`;
      return [{ path, key: child.key, parent, type: child.type }, ...walk(child, path)];
    });
  return walk(machine.root, null);
}

/** Every node of a machine with its raw config, for checking transitions against what was written. */
function definedNodes(machine: AnyStateMachine): { path: string; node: AnyStateNode }[] {
  const walk = (node: AnyStateNode, parent: string | null): { path: string; node: AnyStateNode }[] =>
    Object.values(node.states as Record<string, AnyStateNode>).flatMap((child) => {
      const path = parent === null ? child.key : `${parent}.${child.key}`;
      return [{ path, node: child }, ...walk(child, path)];
    });
  return walk(machine.root, null);
}

/** A config transition (string, object or array of them) has a target. */
function targeted(config: unknown): boolean {
  const list = Array.isArray(config) ? config : [config];
  return list.some((one) => typeof one === 'string' || (one !== null && typeof one === 'object' && 'target' in one && one.target !== undefined));
}

// ---------------------------------------------------------------------------------------------
// Structural parsers: what a Mermaid or Graphviz reader needs the text to be.

interface ParsedChart {
  /** Each declared state: its path, rebuilt from the blocks / clusters it is declared in. */
  states: string[];
  /** Edges between states (not the `[*]` pseudo-states), as `from -> to : label`. */
  edges: { from: string; to: string; label: string }[];
}

/**
 * Reads a Mermaid `stateDiagram-v2` as this project writes it: every line must be one of the forms
 * Mermaid's state grammar takes; blocks balance; every state is declared in exactly one block;
 * every edge's ends are declared.
 */
function parseMermaid(text: string): ParsedChart {
  const lines = text.split('\n').filter((line) => !line.trim().startsWith('%%'));
  assert.equal(lines[0], 'stateDiagram-v2', 'a Mermaid export starts with stateDiagram-v2');
  const stack: string[] = [];
  const keyOf = new Map<string, string>();
  const blockOf = new Map<string, string | null>();
  const declare = (id: string, key = id): void => {
    const block = stack.at(-1) ?? null;
    if (blockOf.has(id)) assert.equal(blockOf.get(id), block, `${id} is declared in two blocks`);
    blockOf.set(id, block);
    if (!keyOf.has(id)) keyOf.set(id, key);
  };
  const refs: string[] = [];
  const edges: { from: string; to: string; label: string }[] = [];
  for (const raw of lines.slice(1)) {
    const line = raw.trim();
    let match: RegExpMatchArray | null;
    if (line === '--') continue;
    if (line === '}') {
      assert.ok(stack.pop() !== undefined, 'a "}" closes no block');
    } else if ((match = line.match(/^state "([^"]*)" as ([A-Za-z_][\w]*)$/))) {
      declare(match[2]!, match[1]!);
    } else if ((match = line.match(/^state ([A-Za-z_]\w*) \{$/))) {
      declare(match[1]!);
      stack.push(match[1]!);
    } else if ((match = line.match(/^\[\*\] --> ([A-Za-z_]\w*)$/))) {
      refs.push(match[1]!);
    } else if ((match = line.match(/^([A-Za-z_]\w*) --> \[\*\]$/))) {
      refs.push(match[1]!);
    } else if ((match = line.match(/^([A-Za-z_]\w*) --> ([A-Za-z_]\w*) : (.+)$/))) {
      // A label ends at `;` or `::` in Mermaid: those must have been written as entity codes.
      assert.doesNotMatch(match[3]!.replace(/#\d+;/g, ''), /;|::/, `label "${match[3]}" would be cut short`);
      edges.push({ from: match[1]!, to: match[2]!, label: match[3]! });
    } else if ((match = line.match(/^([A-Za-z_]\w*) : (.+)$/))) {
      declare(match[1]!);
    } else if ((match = line.match(/^([A-Za-z_]\w*)$/))) {
      declare(match[1]!);
    } else {
      assert.fail(`not a Mermaid state-diagram line: "${raw}"`);
    }
  }
  assert.equal(stack.length, 0, `unclosed block(s): ${stack.join(', ')}`);
  for (const id of [...refs, ...edges.flatMap((edge) => [edge.from, edge.to])]) {
    assert.ok(keyOf.has(id), `edge end ${id} is not declared`);
  }
  const pathOf = (id: string): string => {
    const block = blockOf.get(id) ?? null;
    return block === null ? keyOf.get(id)! : `${pathOf(block)}.${keyOf.get(id)!}`;
  };
  return {
    states: [...keyOf.keys()].map(pathOf),
    edges: edges.map((edge) => ({ from: pathOf(edge.from), to: pathOf(edge.to), label: edge.label })),
  };
}

const dotString = String.raw`"(?:[^"\\]|\\.)*"`;

/** Braces and brackets balance outside quoted strings, and every string is closed. */
function assertDotBalanced(text: string): void {
  let depth = 0;
  let brackets = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
      continue;
    }
    if (c === '"') quoted = true;
    else if (c === '{') depth++;
    else if (c === '}') depth--;
    else if (c === '[') brackets++;
    else if (c === ']') brackets--;
    assert.ok(depth >= 0 && brackets >= 0, `unbalanced "${c}" at ${i}`);
  }
  assert.equal(quoted, false, 'an unclosed string');
  assert.equal(depth, 0, 'unbalanced braces');
  assert.equal(brackets, 0, 'unbalanced brackets');
}

function dotAttributes(text: string | undefined): Map<string, string> {
  const attributes = new Map<string, string>();
  for (const match of (text ?? '').matchAll(new RegExp(String.raw`(\w+)=(${dotString}|[^,\s\]]+)`, 'g'))) {
    const value = match[2]!;
    attributes.set(match[1]!, value.startsWith('"') ? (JSON.parse(value) as string) : value);
  }
  return attributes;
}

/**
 * Reads a Graphviz digraph as this project writes it: balanced, every line a statement of DOT's
 * grammar; every node or cluster that carries an `id` is a state, declared in its parent's
 * cluster; every state has a node named for it; every edge's ends are declared nodes, every
 * `ltail` / `lhead` an existing cluster.
 */
function parseDot(text: string, name: string): ParsedChart {
  assertDotBalanced(text);
  const lines = text.split('\n');
  assert.equal(lines[0], `digraph ${JSON.stringify(name)} {`);
  assert.equal(lines.at(-1), '}');
  const stack: string[] = [];
  const clusters = new Set<string>();
  const nodes = new Set<string>();
  const states: { id: string; cluster: string | null }[] = [];
  const edges: { from: string; to: string; attributes: Map<string, string> }[] = [];
  const edgeLine = new RegExp(String.raw`^(${dotString}) -> (${dotString})(?: \[(.*)\])?;$`);
  const nodeLine = new RegExp(String.raw`^(${dotString}) \[(.*)\];$`);
  const subgraphLine = new RegExp(String.raw`^subgraph (${dotString}) \{$`);
  for (const raw of lines.slice(1, -1)) {
    const line = raw.trim();
    let match: RegExpMatchArray | null;
    if (line === '}') {
      assert.ok(stack.pop() !== undefined, 'a "}" closes no subgraph');
    } else if ((match = line.match(subgraphLine))) {
      const cluster = JSON.parse(match[1]!) as string;
      assert.ok(cluster.startsWith('cluster'), `${cluster}: a subgraph drawn as a box is named cluster...`);
      clusters.add(cluster);
      stack.push(cluster);
    } else if ((match = line.match(edgeLine))) {
      edges.push({ from: JSON.parse(match[1]!) as string, to: JSON.parse(match[2]!) as string, attributes: dotAttributes(match[3]) });
    } else if ((match = line.match(nodeLine))) {
      const node = JSON.parse(match[1]!) as string;
      assert.ok(!nodes.has(node), `node ${node} declared twice`);
      nodes.add(node);
      const id = dotAttributes(match[2]).get('id');
      if (id !== undefined) {
        assert.equal(id, node, 'a state node is named for its state');
        states.push({ id, cluster: stack.at(-1) ?? null });
      }
    } else if ((match = line.match(new RegExp(String.raw`^id=(${dotString});$`)))) {
      // A compound state: its cluster carries its id.
      const cluster = stack.at(-1);
      const id = JSON.parse(match[1]!) as string;
      assert.equal(cluster, `cluster_${id}`, `the cluster of ${id} is named for it`);
      states.push({ id, cluster: stack.at(-2) ?? null });
    } else if (/^(node|edge) \[.*\];$/.test(line) || new RegExp(String.raw`^\w+=(${dotString}|\w+);$`).test(line)) {
      continue;
    } else {
      assert.fail(`not a DOT statement: "${raw}"`);
    }
  }
  assert.equal(stack.length, 0, 'unclosed subgraph');
  for (const edge of edges) {
    assert.ok(nodes.has(edge.from), `edge from undeclared node ${edge.from}`);
    assert.ok(nodes.has(edge.to), `edge to undeclared node ${edge.to}`);
    for (const end of ['ltail', 'lhead']) {
      const cluster = edge.attributes.get(end);
      if (cluster !== undefined) assert.ok(clusters.has(cluster), `${end} ${cluster} is no cluster`);
    }
  }
  for (const state of states) {
    const parent = state.id.includes('.') ? state.id.slice(0, state.id.lastIndexOf('.')) : null;
    assert.equal(state.cluster, parent === null ? null : `cluster_${parent}`, `${state.id} is drawn inside its parent`);
  }
  const stateIds = new Set(states.map((state) => state.id));
  for (const id of stateIds) assert.ok(nodes.has(id), `${id}: edges have a node to start or end at`);
  return {
    states: states.map((state) => state.id),
    edges: edges
      .filter((edge) => stateIds.has(edge.from) && stateIds.has(edge.to))
      .map((edge) => ({ from: edge.from, to: edge.to, label: edge.attributes.get('label') ?? '' })),
  };
}

/** The graph's targeted transitions, as the edges a diagram must draw. */
function expectedEdges(graph: MachineGraph): { from: string; to: string; label: string }[] {
  return graph.transitions.flatMap((t) => (t.target === undefined ? [] : [{ from: t.source, to: t.target, label: t.label }]));
}

const sorted = <T>(list: readonly T[]): T[] => [...list].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
const unescapeMermaid = (label: string): string => label.replace(/#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));

// ---------------------------------------------------------------------------------------------
// A machine with what Shaddock's own machines lack: parallel regions, history, descriptions,
// keys no diagram id can be, a targetless transition.

const odd = setup({
  actors: { load: fromPromise(async () => {}) },
  actions: { note: () => {} },
}).createMachine({
  id: 'odd "one"',
  type: 'parallel',
  states: {
    sound: {
      initial: 'quiet',
      states: {
        quiet: { description: 'no noise; at all', on: { 'MAKE::NOISE': { target: 'loud' } } },
        loud: { on: { HUSH: { target: 'quiet' }, LOG: { actions: 'note' } } },
        'last-heard': { type: 'history', history: 'deep' },
      },
    },
    light: {
      initial: 'default',
      states: {
        default: { invoke: { src: 'load', onDone: { target: 'say "on"' } } },
        'say "on"': { after: { 250: { target: 'done' } } },
        done: { type: 'final' },
      },
    },
  },
});

const fixtures: MachineEntry[] = [...machineRegistry, { name: 'odd', description: 'a test fixture', machine: odd }];

describe('machine registry', () => {
  test('holds every machine src/machines exports, by its id, each with a description', () => {
    const exported = Object.entries(machinesModule).filter(([, value]) => value instanceof StateMachine);
    assert.ok(exported.length >= 5);
    for (const [exportName, machine] of exported) {
      const entry = machineRegistry.find((candidate) => candidate.machine === machine);
      assert.ok(entry, `${exportName} is not in src/machines/registry.ts`);
      assert.equal(entry.name, (machine as AnyStateMachine).id);
    }
    assert.equal(machineRegistry.length, exported.length, 'the registry holds only machines src/machines exports');
    for (const name of ['master', 'server', 'supervisor', 'lifecycle', 'session', 'channel']) assert.equal(findMachine(name)?.name, name);
    assert.equal(new Set(machineRegistry.map((entry) => entry.name)).size, machineRegistry.length, 'names are unique');
    for (const entry of machineRegistry) assert.ok(entry.description.length > 10, `${entry.name} has a description`);
    assert.equal(findMachine('no-such-machine'), undefined);
  });
});

describe('machine graph', () => {
  for (const entry of fixtures) {
    test(`${entry.name}: has every state and transition of the definition`, () => {
      const graph = machineGraph(entry.machine);
      const defined = definedStates(entry.machine);
      assert.deepEqual(
        graph.states.map((state) => ({ path: state.id, key: state.key, parent: state.parent, type: state.type })),
        defined,
      );
      const ids = new Set(graph.states.map((state) => state.id));
      for (const t of graph.transitions) {
        assert.ok(ids.has(t.source), `source ${t.source}`);
        if (t.target !== undefined) assert.ok(ids.has(t.target), `target ${t.target}`);
      }
      for (const { path, node } of definedNodes(entry.machine)) {
        const from = graph.transitions.filter((t) => t.source === path);
        const config = node.config as { on?: Record<string, unknown>; after?: Record<string, unknown>; invoke?: unknown; always?: unknown };
        for (const [event, transition] of Object.entries(config.on ?? {})) {
          assert.ok(from.some((t) => t.event === event && (t.target !== undefined) === targeted(transition)), `${path}: on ${event}`);
        }
        for (const [delay, transition] of Object.entries(config.after ?? {})) {
          const label = Number.isNaN(Number(delay)) ? delay : `${delay}ms`;
          assert.ok(from.some((t) => t.kind === 'after' && t.delay === label && (t.target !== undefined) === targeted(transition)), `${path}: after ${delay}`);
        }
        for (const invoke of [config.invoke ?? []].flat() as { src: unknown; onDone?: unknown; onError?: unknown }[]) {
          if (invoke.onDone !== undefined) assert.ok(from.some((t) => t.kind === 'done' && t.actor === invoke.src), `${path}: done ${String(invoke.src)}`);
          if (invoke.onError !== undefined) assert.ok(from.some((t) => t.kind === 'error' && t.actor === invoke.src), `${path}: error ${String(invoke.src)}`);
        }
        if (config.always !== undefined) assert.ok(from.some((t) => t.kind === 'always'), `${path}: always`);
        const initial = (node.config as { initial?: string }).initial;
        if (initial !== undefined) assert.deepEqual(graph.states.find((state) => state.id === path)?.initial, [`${path}.${initial}`]);
      }
      // A transition on the machine itself is drawn from every top-level state that does not
      // take the event itself.
      const rootOn = (entry.machine.root.config as { on?: Record<string, unknown> }).on ?? {};
      for (const event of Object.keys(rootOn)) {
        for (const state of defined.filter((s) => s.parent === null && s.type !== 'final')) {
          const own = (entry.machine.root.states[state.key]!.config as { on?: Record<string, unknown> }).on?.[event];
          if (own !== undefined) continue;
          assert.ok(graph.transitions.some((t) => t.source === state.path && t.event === event && t.inherited === true), `${state.path} inherits ${event}`);
        }
      }
    });
  }

  test('names delays, guards and invoked actors, and keeps a targetless transition without a target', () => {
    const supervisor = machineGraph(findMachine('supervisor')!.machine);
    assert.deepEqual(
      supervisor.transitions.find((t) => t.source === 'backingOff' && t.kind === 'after'),
      { source: 'backingOff', target: 'watching', kind: 'after', event: 'xstate.after.backoff.supervisor.backingOff', label: 'after backoff', delay: 'backoff', actions: ['countRestart', 'restart'] },
    );
    assert.deepEqual(
      supervisor.transitions.find((t) => t.source === 'watching.up'),
      { source: 'watching.up', kind: 'after', event: 'xstate.after.resetAfter.supervisor.watching.up', label: 'after resetAfter', delay: 'resetAfter', actions: ['resetBackoff'] },
    );
    const tooMany = supervisor.transitions.find((t) => t.source === 'killingHung' && t.guard === 'tooMany');
    assert.equal(tooMany?.target, 'failed');
    assert.equal(tooMany?.label, 'DOWN [tooMany]');
    const master = machineGraph(findMachine('master')!.machine);
    assert.deepEqual(
      master.transitions.filter((t) => t.source === 'connecting').map((t) => [t.kind, t.actor ?? t.event, t.target]),
      [['done', 'connect', 'electing'], ['error', 'connect', 'failed'], ['event', 'STOP', 'stopping']],
    );
    assert.deepEqual(master.states.find((state) => state.id === 'connecting')?.invokes, ['connect']);
    // One campaign for the master's life: an action of the transition out of connecting.
    assert.deepEqual(master.transitions.find((t) => t.source === 'connecting' && t.kind === 'done')?.actions, ['campaign']);
    const history = machineGraph(odd).states.find((state) => state.key === 'last-heard');
    assert.equal(history?.type, 'history');
    assert.equal(history?.history, 'deep');
  });
});

describe('machine export', () => {
  for (const entry of fixtures) {
    const graph = machineGraph(entry.machine);
    const states = definedStates(entry.machine).map((state) => state.path);

    test(`${entry.name} as mermaid: parses, every state in its parent's block, every transition drawn`, () => {
      const chart = parseMermaid(graphToMermaid(graph));
      // Mermaid's quoted names cannot hold a double quote: the export writes a single one.
      assert.deepEqual(sorted(chart.states), sorted(states.map((path) => path.replace(/"/g, "'"))));
      assert.deepEqual(
        sorted(chart.edges.map((edge) => ({ ...edge, label: unescapeMermaid(edge.label) }))),
        sorted(expectedEdges(graph).map((edge) => ({ ...edge, from: edge.from.replace(/"/g, "'"), to: edge.to.replace(/"/g, "'") }))),
      );
    });

    test(`${entry.name} as dot: parses, every state in its parent's cluster, every transition drawn`, () => {
      const chart = parseDot(graphToDot(graph), graph.id);
      assert.deepEqual(sorted(chart.states), sorted(states));
      assert.deepEqual(sorted(chart.edges), sorted(expectedEdges(graph)));
    });

    test(`${entry.name} as json: round-trips and holds every state`, () => {
      const exported = { name: entry.name, description: entry.description, ...graph };
      assert.deepEqual(JSON.parse(JSON.stringify(exported)), exported);
      const parsed = JSON.parse(exportMachine(entry, 'json')) as MachineExport;
      assert.deepEqual(parsed, exported);
      assert.deepEqual(parsed.states.map((state) => state.id), states);
    });
  }

  test('the odd fixture: quotes, keys that are no ids, a history state and parallel regions', () => {
    const mermaid = graphToMermaid(machineGraph(odd));
    assert.match(mermaid, /state "say 'on'" as s_light_say__on_/);
    assert.match(mermaid, /quiet : no noise#59; at all/);
    assert.match(mermaid, /quiet --> loud : MAKE:#58;NOISE/);
    assert.match(mermaid, /\n {2}--\n/, 'parallel regions are separated');
    assert.match(mermaid, /s_sound_last_heard : H\*/);
    const dot = graphToDot(machineGraph(odd));
    assert.match(dot, /^digraph "odd \\"one\\"" \{/);
    assert.match(dot, /"light\.say \\"on\\"" \[id="light\.say \\"on\\"", label="say \\"on\\""\];/);
    assert.match(dot, /"sound\.last-heard" \[id="sound\.last-heard", label="H\*", shape=circle\];/);
    assert.match(dot, /"light\.done" \[id="light\.done", label="done", peripheries=2\];/);
    assert.doesNotMatch(dot, /LOG/, 'a targetless transition is not drawn');
  });

  test('Graphviz lays out every DOT export without a warning', () => {
    const installed = spawnSync('dot', ['-V'], { stdio: 'ignore' });
    assert.equal(installed.status, 0, 'Graphviz (dot) is not installed: bash scripts/install-services.sh installs the Debian package graphviz');
    for (const entry of fixtures) {
      const run = spawnSync('dot', ['-Tsvg'], { input: graphToDot(machineGraph(entry.machine)), encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stderr, '', `${entry.name}: Graphviz warns`);
      const svg = run.stdout;
      const entities: Record<string, string> = { quot: '"', amp: '&', lt: '<', gt: '>', apos: "'" };
      const ids = new Set(
        [...svg.matchAll(/ id="([^"]*)"/g)].map((match) =>
          match[1]!.replace(/&(#\d+|\w+);/g, (_, code: string) => (code.startsWith('#') ? String.fromCharCode(Number(code.slice(1))) : (entities[code] ?? code))),
        ),
      );
      for (const state of definedStates(entry.machine)) assert.ok(ids.has(state.path), `${entry.name}: ${state.path} in the SVG`);
    }
  });
});

describe('docs/architecture.md', () => {
  /** The generated section, as `### name` → the mermaid block under it. */
  function documented(): Map<string, string> {
    const doc = readFileSync(docPath, 'utf8');
    const section = doc.slice(doc.indexOf(beginMarker), doc.indexOf(endMarker));
    const blocks = new Map<string, string>();
    for (const match of section.matchAll(/^### (\S+)\n[\s\S]*?```mermaid\n([\s\S]*?)\n```/gm)) blocks.set(match[1]!, match[2]!);
    return blocks;
  }

  test('draws every machine as `shaddock machines <name> --format mermaid` prints it', () => {
    const blocks = documented();
    assert.deepEqual([...blocks.keys()], machineRegistry.map((entry) => entry.name), 'one diagram per machine, in registry order');
    for (const entry of machineRegistry) {
      assert.equal(blocks.get(entry.name), machinesOutput(entry.name, 'mermaid'), `${entry.name} is out of date: run \`npm run docs:machines\``);
    }
  });

  test('the CLI prints the documented diagram', async () => {
    const result = await runCli(['machines', 'supervisor', '--format', 'mermaid']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `${documented().get('supervisor')}\n`);
  });
});

describe('shaddock machines', () => {
  test('an unknown machine: exit 1, naming every machine', async () => {
    const result = await runCli(['machines', 'no-such-machine']);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^shaddock: unknown machine "no-such-machine"; the machines are:/);
    for (const entry of machineRegistry) assert.ok(result.stderr.includes(`  ${entry.name}: ${entry.description}`), entry.name);
  });

  test('an unknown format: exit 1, naming every format', async () => {
    const result = await runCli(['machines', 'master', '--format', 'svg']);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr, `shaddock: unknown format "svg"; the formats are: ${machineFormats.join(', ')}\n`);
  });

  test('one machine as json', async () => {
    const result = await runCli(['machines', 'session', '-f', 'json']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), JSON.parse(exportMachine(findMachine('session')!, 'json')));
  });

  test('every machine when no name is given, in each format', async () => {
    const dot = await runCli(['machines', '--format', 'dot']);
    assert.equal(dot.code, 0, dot.stderr);
    assert.deepEqual(dot.stdout.match(/^digraph "[^"]+"/gm), machineRegistry.map((entry) => `digraph "${entry.name}"`));
    const json = JSON.parse(machinesOutput(undefined, 'json')) as MachineExport[];
    assert.deepEqual(json.map((graph) => graph.name), machineRegistry.map((entry) => entry.name));
    const mermaid = machinesOutput(undefined, 'mermaid').split('\n\n');
    assert.equal(mermaid.length, machineRegistry.length);
    mermaid.forEach((diagram, index) => {
      const entry = machineRegistry[index]!;
      assert.equal(diagram, `%% ${entry.name}: ${entry.description}\n${exportMachine(entry, 'mermaid')}`);
      parseMermaid(diagram);
    });
  });
});
