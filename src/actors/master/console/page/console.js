// The Shaddock console page: the cluster as the leading master sees it (/events/cluster), and the
// machines of one chosen process drawn from their definitions (/api/machines, laid out with ELK)
// with their current states, live from the inspection protocol (/events/server?id=...).
// Plain browser JavaScript, no framework, nothing loaded from outside the console.

const $ = (selector) => document.querySelector(selector);

/** Machine name → its graph (`shaddock machines --format json`). */
const definitions = new Map();
/** Machine name → a promise of its ELK layout (one per machine, shared by every actor of it). */
const layouts = new Map();
const elk = typeof ELK === 'function' ? new ELK() : undefined;

let cluster;
let selected;
let serverStream;
/** Chart key → { root, nodes: Map(stateId → g), edges: [{ source, target, event, g }], counts? }. */
const charts = new Map();
const transitions = [];
const MAX_TRANSITIONS = 150;

main().catch((error) => status(`console failed: ${error.message}`));

async function main() {
  const response = await fetch('/api/machines');
  if (!response.ok) throw new Error(`/api/machines: ${response.status}`);
  for (const graph of await response.json()) definitions.set(graph.name, graph);
  openCluster();
  window.addEventListener('hashchange', () => select(fromHash()));
  const first = fromHash();
  if (first) select(first);
}

function fromHash() {
  const match = /^#server=(.+)$/.exec(location.hash);
  return match ? decodeURIComponent(match[1]) : undefined;
}

// ---- the cluster -------------------------------------------------------------------------------

function openCluster() {
  const stream = new EventSource('/events/cluster');
  stream.addEventListener('open', () => live('open', 'live'));
  stream.addEventListener('error', () => live('closed', 'reconnecting…'));
  stream.addEventListener('cluster', (message) => {
    const snapshot = JSON.parse(message.data);
    const first = cluster === undefined;
    cluster = snapshot;
    for (const change of snapshot.recent) if (change.server === selected) addTransition({ actor: change.server, machine: change.machine, state: change.state, event: '', at: change.at, view: 'master' });
    renderCluster();
    if (selected) showMasterView(first);
  });
  stream.addEventListener('transition', (message) => {
    const change = JSON.parse(message.data);
    if (cluster) (cluster.machines[change.server] ??= {})[change.machine] = change.state;
    // The row shows the new state at once; the next cluster update brings the rest of the row.
    const row = document.querySelector(`#servers tr[data-server-id="${CSS.escape(change.server)}"]`);
    if (row) {
      row.dataset.state = change.shown;
      const cell = row.querySelector('.state');
      if (cell) cell.textContent = change.shown;
    }
    if (change.server !== selected) return;
    addTransition({ actor: change.server, machine: change.machine, state: change.state, event: '', at: change.at, view: 'master' });
    showMasterView(false);
    // Its process is gone: what the inspection showed of it is no longer so.
    if (change.machine === 'server' && !change.state.startsWith('live.')) processGone(`${change.server} is ${change.state}`);
  });
}

function live(state, text) {
  const element = $('#live');
  element.dataset.live = state;
  element.textContent = text;
}

function renderCluster() {
  const rows = cluster.rows;
  const masters = rows.filter((row) => row.serverType === 'master');
  const servers = rows.filter((row) => row.serverType !== 'master');
  const leader = masters.find((row) => row.role === 'leading');
  $('#cluster-name').textContent = leader ? `led by ${leader.id} (epoch ${leader.epoch ?? '–'})${masters.length > 1 ? `, ${masters.length - 1} standby` : ''}` : '';
  fillRows($('#masters tbody'), masters, (row) => [row.id, row.role ?? '', [row.state, 'state'], row.epoch ?? '', row.pid ?? '', row.host, bytes(row.rss), duration(row.uptime)]);
  fillRows($('#servers tbody'), servers, (row) => [
    row.id,
    row.serverType,
    [row.state, 'state'],
    row.pid ?? '',
    row.cpu ?? '',
    row.restarts,
    lastExit(row.lastExit),
    bytes(row.rss),
    duration(row.uptime),
    row.clientPort ?? '',
  ]);
}

/** Keeps one <tr> per row id (so the page does not flicker), with data-server-id and data-state. */
function fillRows(tbody, rows, cells) {
  const keep = new Set(rows.map((row) => row.id));
  for (const tr of [...tbody.children]) if (!keep.has(tr.dataset.serverId)) tr.remove();
  rows.forEach((row, index) => {
    let tr = [...tbody.children].find((candidate) => candidate.dataset.serverId === row.id);
    if (!tr) {
      tr = document.createElement('tr');
      tr.className = 'server';
      tr.dataset.serverId = row.id;
      tr.addEventListener('click', () => (location.hash = `#server=${encodeURIComponent(row.id)}`));
    }
    if (tbody.children[index] !== tr) tbody.insertBefore(tr, tbody.children[index] ?? null);
    tr.dataset.state = row.state;
    tr.dataset.serverType = row.serverType;
    if (row.role) tr.dataset.role = row.role;
    tr.title = row.reason ?? '';
    tr.classList.toggle('selected', row.id === selected);
    const values = cells(row);
    while (tr.children.length < values.length) tr.appendChild(document.createElement('td'));
    values.forEach((value, i) => {
      const [text, className] = Array.isArray(value) ? value : [value, ''];
      const td = tr.children[i];
      td.className = className;
      td.textContent = String(text);
    });
  });
}

function lastExit(exit) {
  if (!exit) return '';
  const how = exit.signal ? exit.signal : exit.code !== null ? `code ${exit.code}` : 'unknown';
  return `${how} at ${new Date(exit.at).toLocaleTimeString()}`;
}

function bytes(value) {
  return value === null || value === undefined ? '' : `${(value / 1048576).toFixed(1)} MB`;
}

function duration(ms) {
  if (ms === null || ms === undefined) return '';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

// ---- one chosen process ------------------------------------------------------------------------

function select(id) {
  serverStream?.close();
  serverStream = undefined;
  selected = id;
  charts.clear();
  transitions.length = 0;
  $('#charts').replaceChildren();
  $('#transitions').replaceChildren();
  $('#counts').replaceChildren();
  $('#counts-box').hidden = true;
  $('#detail').hidden = !id;
  if (cluster) renderCluster();
  if (!id) return;
  $('#detail-title').textContent = id;
  status('watching…');
  if (cluster) showMasterView(true);
  const stream = new EventSource(`/events/server?id=${encodeURIComponent(id)}`);
  serverStream = stream;
  stream.addEventListener('snapshot', (message) => {
    const snapshot = JSON.parse(message.data);
    status(`inspected at ${new Date(snapshot.at).toLocaleTimeString()}${snapshot.dropped ? `, ${snapshot.dropped} events dropped` : ''}`);
    for (const actor of snapshot.actors) {
      const chart = charts.get(`process:${actor.actor}:${actor.machine}`);
      // A state the batches did not bring (the process restarted, or events were dropped) is listed as seen in a snapshot.
      if (chart && chart.state !== actor.state) addTransition({ ...actor, event: '(snapshot)', at: snapshot.at, view: 'process' });
      showActor('process', actor.actor, actor.machine, actor.state);
      if (chart) chart.box.classList.remove('stale');
    }
    showCounts(snapshot.counts);
  });
  stream.addEventListener('batch', (message) => {
    const batch = JSON.parse(message.data);
    for (const event of batch.events) {
      showActor('process', event.actor, event.machine, event.state, event.event);
      addTransition({ ...event, view: 'process' });
    }
    if (batch.counts) showCounts(batch.counts);
  });
  stream.addEventListener('unavailable', (message) => processGone(JSON.parse(message.data).error));
}

/** The chosen process cannot be watched (down, restarting): its charts show no state until it answers again. */
function processGone(why) {
  status(why);
  for (const [key, chart] of charts) {
    if (!key.startsWith('process:')) continue;
    chart.state = undefined;
    chart.event = undefined;
    delete chart.box.dataset.state;
    chart.box.classList.add('stale');
    highlight(chart, undefined);
  }
}

function status(text) {
  $('#detail-status').textContent = text;
}

/** The master's own server and supervisor machines of the chosen server. */
function showMasterView(_first) {
  const machines = cluster?.machines[selected];
  if (!machines) return;
  for (const [machine, state] of Object.entries(machines)) showActor('master', selected, machine, state);
}

/** Draws (once) and highlights the chart of one actor. */
function showActor(view, actor, machine, state, event) {
  const key = `${view}:${actor}:${machine}`;
  let chart = charts.get(key);
  if (!chart) {
    const definition = definitions.get(machine);
    if (!definition) return;
    chart = { state: undefined, pending: undefined, ready: undefined };
    charts.set(key, chart);
    const box = document.createElement('div');
    box.className = 'chart';
    box.dataset.actor = actor;
    box.dataset.machine = machine;
    box.dataset.view = view;
    const title = document.createElement('h3');
    title.innerHTML = `${escape(machine)} <span class="who">${escape(view === 'master' ? `${actor}, as the master sees it` : actor)}</span>`;
    box.appendChild(title);
    $('#charts').appendChild(box);
    chart.box = box;
    chart.ready = layoutOf(machine).then((laid) => {
      Object.assign(chart, drawChart(box, definition, laid));
      highlight(chart, chart.state, chart.event);
    });
  }
  const previous = chart.state;
  chart.state = state;
  chart.event = event ? { from: previous, to: state, event } : undefined;
  chart.box.dataset.state = state;
  if (chart.nodes) highlight(chart, state, chart.event);
}

function showCounts(counts) {
  const machines = Object.entries(counts ?? {});
  $('#counts-box').hidden = machines.length === 0;
  const parts = machines.map(([machine, states]) => {
    const table = document.createElement('table');
    table.dataset.machine = machine;
    const total = Object.values(states).reduce((a, b) => a + b, 0);
    table.innerHTML = `<thead><tr><th>${escape(machine)}</th><th>${total}</th></tr></thead>`;
    const body = document.createElement('tbody');
    for (const [state, n] of Object.entries(states)) {
      const tr = document.createElement('tr');
      tr.dataset.state = state;
      tr.innerHTML = `<td>${escape(state)}</td><td>${n}</td>`;
      body.appendChild(tr);
    }
    table.appendChild(body);
    return table;
  });
  $('#counts').replaceChildren(...parts);
}

function addTransition(entry) {
  transitions.unshift(entry);
  if (transitions.length > MAX_TRANSITIONS) transitions.length = MAX_TRANSITIONS;
  const li = document.createElement('li');
  li.dataset.machine = entry.machine;
  li.dataset.state = entry.state;
  li.innerHTML =
    `<span class="t-time">${new Date(entry.at).toLocaleTimeString()}</span> ` +
    `<span class="t-machine">${escape(entry.machine)}${entry.actor !== selected ? ` ${escape(entry.actor)}` : ''}</span> → ` +
    `<span class="t-state">${escape(entry.state)}</span>` +
    (entry.event ? ` <span class="t-event">${escape(entry.event)}</span>` : '');
  const list = $('#transitions');
  list.insertBefore(li, list.firstChild);
  while (list.children.length > MAX_TRANSITIONS) list.lastChild.remove();
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// ---- statecharts -------------------------------------------------------------------------------

const CHAR = 7;
const SVG = 'http://www.w3.org/2000/svg';

function layoutOf(machine) {
  let laid = layouts.get(machine);
  if (!laid) {
    laid = elk ? elk.layout(elkGraph(definitions.get(machine))) : Promise.reject(new Error('the layout library (elk.js) did not load'));
    layouts.set(machine, laid);
  }
  return laid;
}

/** The machine's graph as an ELK graph: states as (nested) nodes, transitions as labelled edges. */
function elkGraph(definition) {
  const byParent = new Map();
  for (const state of definition.states) {
    const key = state.parent ?? '';
    if (!byParent.has(key)) byParent.set(key, []);
    byParent.get(key).push(state);
  }
  const initialNode = (parent, targets) => (targets.length ? [{ id: `__initial:${parent}`, width: 10, height: 10 }] : []);
  const initialEdges = [];
  const node = (state) => {
    const kids = byParent.get(state.id) ?? [];
    if (kids.length === 0) return { id: state.id, width: Math.max(56, state.key.length * CHAR + 22), height: 30 };
    for (const target of state.initial) initialEdges.push({ id: `__initial:${state.id}->${target}`, sources: [`__initial:${state.id}`], targets: [target] });
    return {
      id: state.id,
      layoutOptions: { 'elk.padding': '[top=28,left=12,bottom=12,right=12]' },
      children: [...initialNode(state.id, state.initial), ...kids.map(node)],
    };
  };
  for (const target of definition.initial) initialEdges.push({ id: `__initial:->${target}`, sources: ['__initial:'], targets: [target] });
  const edges = definition.transitions
    .filter((transition) => transition.target !== undefined)
    .map((transition, index) => ({
      id: `t${index}`,
      sources: [transition.source],
      targets: [transition.target],
      labels: [{ text: transition.label, width: transition.label.length * 6 + 4, height: 12 }],
    }));
  return {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.layered.spacing.nodeNodeBetweenLayers': '36',
      'elk.spacing.nodeNode': '18',
      'elk.spacing.edgeLabel': '3',
      'elk.edgeRouting': 'SPLINES',
      'elk.json.shapeCoords': 'ROOT',
      'elk.json.edgeCoords': 'ROOT',
    },
    children: [...initialNode('', definition.initial), ...(byParent.get('') ?? []).map(node)],
    edges: [...initialEdges, ...edges],
  };
}

let arrowIds = 0;

/** Draws a laid-out machine into `box`; returns the elements to highlight. */
function drawChart(box, definition, laid) {
  const svg = document.createElementNS(SVG, 'svg');
  const width = Math.ceil(laid.width ?? 0) + 4;
  const height = Math.ceil(laid.height ?? 0) + 4;
  svg.setAttribute('width', width);
  svg.setAttribute('height', height);
  svg.setAttribute('viewBox', `-2 -2 ${width} ${height}`);
  const arrow = `arrow-${++arrowIds}`;
  svg.innerHTML = `<defs><marker id="${arrow}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#8a94a0"/></marker></defs>`;
  const states = new Map(definition.states.map((state) => [state.id, state]));
  const nodes = new Map();
  const nodeLayer = document.createElementNS(SVG, 'g');
  const edgeLayer = document.createElementNS(SVG, 'g');
  const walk = (node) => {
    for (const child of node.children ?? []) {
      if (child.id.startsWith('__initial:')) {
        const dot = document.createElementNS(SVG, 'circle');
        dot.setAttribute('class', 'initial');
        dot.setAttribute('cx', child.x + child.width / 2);
        dot.setAttribute('cy', child.y + child.height / 2);
        dot.setAttribute('r', 5);
        nodeLayer.appendChild(dot);
        continue;
      }
      const state = states.get(child.id);
      const compound = (child.children ?? []).length > 0;
      const g = document.createElementNS(SVG, 'g');
      g.setAttribute('class', `node ${compound ? 'compound' : state?.type ?? 'atomic'}`);
      g.dataset.stateId = child.id;
      const rect = document.createElementNS(SVG, 'rect');
      rect.setAttribute('x', child.x);
      rect.setAttribute('y', child.y);
      rect.setAttribute('width', child.width);
      rect.setAttribute('height', child.height);
      rect.setAttribute('rx', compound ? 8 : 13);
      const text = document.createElementNS(SVG, 'text');
      text.textContent = state?.key ?? child.id;
      if (compound) {
        text.setAttribute('x', child.x + 10);
        text.setAttribute('y', child.y + 17);
      } else {
        text.setAttribute('x', child.x + child.width / 2);
        text.setAttribute('y', child.y + child.height / 2 + 4);
        text.setAttribute('text-anchor', 'middle');
      }
      g.append(rect, text);
      nodeLayer.appendChild(g);
      nodes.set(child.id, g);
      walk(child);
    }
  };
  walk(laid);
  const edges = [];
  const transitionsById = new Map(definition.transitions.filter((t) => t.target !== undefined).map((t, i) => [`t${i}`, t]));
  const allEdges = [];
  const collect = (node) => {
    allEdges.push(...(node.edges ?? []));
    for (const child of node.children ?? []) collect(child);
  };
  collect(laid);
  for (const edge of allEdges) {
    const section = edge.sections?.[0];
    if (!section) continue;
    const points = [section.startPoint, ...(section.bendPoints ?? []), section.endPoint];
    const g = document.createElementNS(SVG, 'g');
    g.setAttribute('class', 'edge');
    const path = document.createElementNS(SVG, 'path');
    path.setAttribute('d', pathOf(points));
    path.setAttribute('marker-end', `url(#${arrow})`);
    g.appendChild(path);
    for (const label of edge.labels ?? []) {
      const text = document.createElementNS(SVG, 'text');
      text.setAttribute('x', label.x);
      text.setAttribute('y', label.y + label.height - 2);
      text.textContent = label.text;
      g.appendChild(text);
    }
    edgeLayer.appendChild(g);
    const transition = transitionsById.get(edge.id);
    if (transition) edges.push({ source: transition.source, target: transition.target, event: transition.event, g });
  }
  svg.append(nodeLayer, edgeLayer);
  box.appendChild(svg);
  return { nodes, edges, states };
}

/** Straight segments through ELK's points, or a smooth curve for spline routing's control points. */
function pathOf(points) {
  const [first, ...rest] = points;
  if (rest.length >= 3 && (rest.length - 1) % 3 === 0) {
    let d = `M${first.x},${first.y}`;
    for (let i = 0; i + 2 < rest.length; i += 3) d += ` C${rest[i].x},${rest[i].y} ${rest[i + 1].x},${rest[i + 1].y} ${rest[i + 2].x},${rest[i + 2].y}`;
    return d;
  }
  return `M${first.x},${first.y}` + rest.map((p) => ` L${p.x},${p.y}`).join('');
}

/** The state id of the graph that a reported state names (`connected` is `live.connected`). */
function stateIdOf(chart, state) {
  if (state === undefined) return undefined;
  if (chart.states.has(state)) return state;
  const matches = [...chart.states.keys()].filter((id) => id.endsWith(`.${state}`));
  return matches.sort((a, b) => a.length - b.length)[0];
}

function highlight(chart, state, taken) {
  if (!chart.nodes) return;
  for (const g of chart.nodes.values()) g.classList.remove('active', 'active-parent');
  for (const edge of chart.edges) edge.g.classList.remove('taken');
  const id = stateIdOf(chart, state);
  if (id === undefined) return;
  chart.nodes.get(id)?.classList.add('active');
  let parent = chart.states.get(id)?.parent;
  while (parent) {
    chart.nodes.get(parent)?.classList.add('active-parent');
    parent = chart.states.get(parent)?.parent;
  }
  if (!taken) return;
  const from = stateIdOf(chart, taken.from);
  for (const edge of chart.edges) {
    if (edge.target !== id) continue;
    if (edge.event === taken.event && (from === undefined || from === edge.source || from.startsWith(`${edge.source}.`))) edge.g.classList.add('taken');
  }
}
