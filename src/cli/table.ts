import type { ServerRow } from '../transport/wire.ts';

const columns: { title: string; value: (row: ServerRow) => string }[] = [
  { title: 'id', value: (row) => row.id },
  { title: 'serverType', value: (row) => row.serverType },
  { title: 'pid', value: (row) => (row.pid === null ? '-' : String(row.pid)) },
  { title: 'state', value: (row) => row.state },
  { title: 'host', value: (row) => row.host },
  { title: 'clientPort', value: (row) => (row.clientPort === null ? '-' : String(row.clientPort)) },
  { title: 'restarts', value: (row) => String(row.restarts) },
  { title: 'lastExit', value: (row) => (row.lastExit === null ? '-' : row.lastExit.signal ?? (row.lastExit.code === null ? '?' : `code ${row.lastExit.code}`)) },
  { title: 'uptime', value: (row) => (row.uptime === null ? '-' : duration(row.uptime)) },
  { title: 'rss', value: (row) => (row.rss === null ? '-' : `${(row.rss / 1048576).toFixed(1)} MB`) },
  { title: 'cpu', value: (row) => row.cpu ?? '-' },
  // Malformed NATS messages dropped (by subject kind in `list --json`).
  { title: 'dropped', value: (row) => String(Object.values(row.dropped ?? {}).reduce((sum, count) => sum + count, 0)) },
];

/** `shaddock list` as an aligned text table, then one line per server that is failed or left down, saying why. */
export function formatList(rows: readonly ServerRow[]): string {
  const reasons = rows.filter((row) => row.reason).map((row) => `${row.id}: ${row.reason}`);
  return [formatTable(rows), ...(reasons.length ? ['', ...reasons] : [])].join('\n');
}

/** `shaddock list` as an aligned text table. */
export function formatTable(rows: readonly ServerRow[]): string {
  const cells = [columns.map((column) => column.title), ...rows.map((row) => columns.map((column) => column.value(row)))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)));
  return cells.map((line) => line.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  return `${h}h${String(m % 60).padStart(2, '0')}m`;
}
