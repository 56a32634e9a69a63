// Shared output of every bench: a table for people, or one JSON object per row with `--json`.
// Progress and diagnostics go to stderr (see `note`), so stdout holds the results alone.

/** One measured case: Shaddock next to the baseline it is compared with. */
export interface Row {
  bench: string;
  case: string;
  /** Shaddock's result, in `unit`. */
  shaddock: number;
  /** What the baseline is, e.g. "nats.js request/reply". */
  baseline: string;
  /** The baseline's result, in `unit`. */
  baselineValue: number;
  unit: string;
  /** shaddock / baselineValue. */
  ratio: number;
}

export interface ReportOptions {
  json: boolean;
}

/** Builds a row, computing the ratio and rounding for display. */
export function row(fields: Omit<Row, 'ratio'>): Row {
  const ratio = fields.baselineValue === 0 ? 0 : fields.shaddock / fields.baselineValue;
  return {
    bench: fields.bench,
    case: fields.case,
    shaddock: round(fields.shaddock),
    baseline: fields.baseline,
    baselineValue: round(fields.baselineValue),
    unit: fields.unit,
    ratio: Math.round(ratio * 1000) / 1000,
  };
}

/** Prints the rows on stdout: one JSON object a line with `--json`, else an aligned table. */
export function printRows(rows: readonly Row[], options: ReportOptions): void {
  if (options.json) {
    for (const r of rows) {
      // Key order is part of the format.
      const out = {
        bench: r.bench,
        case: r.case,
        shaddock: r.shaddock,
        baseline: r.baseline,
        baselineValue: r.baselineValue,
        unit: r.unit,
        ratio: r.ratio,
      };
      process.stdout.write(`${JSON.stringify(out)}\n`);
    }
    return;
  }
  const header = ['bench', 'case', 'shaddock', 'baseline', 'unit', 'ratio'];
  const body = rows.map((r) => [r.bench, r.case, formatNumber(r.shaddock), formatNumber(r.baselineValue), r.unit, r.ratio.toFixed(2)]);
  const numeric = [false, false, true, true, false, true];
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const lines = [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
  const baselines = [...new Set(rows.map((r) => `${r.bench}: ${r.baseline}`))];
  lines.push('', `baseline = ${baselines.join('; ')}; ratio = shaddock / baseline`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** A progress or diagnostic line: always stderr, so `--json` output stays clean. */
export function note(message: string): void {
  process.stderr.write(`${message}\n`);
}

function round(value: number): number {
  return Math.abs(value) >= 100 ? Math.round(value) : Math.round(value * 100) / 100;
}

function formatNumber(value: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

/** The median of the measurements (NaN for none). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** A positive integer from the environment variable `name` (default `fallback`); exits 1 naming it otherwise. */
export function positiveIntegerEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) {
    note(`${name} must be a positive integer, not "${raw}"`);
    process.exit(1);
  }
  return value;
}
