/** A server's `cpu` field: its three forms, parsed and checked against this machine's CPUs. */
import { z } from 'zod';
import { describe } from './describe.ts';
import { expected } from './fields.ts';

const CPU_FORMS = 'a CPU index, a list such as "0,2-3", or an array of CPU indexes';

/** Parses "2", "0-1", "0,2-3" into inclusive ranges; `undefined` when malformed. */
function parseCpuList(text: string): Array<[number, number]> | undefined {
  const ranges: Array<[number, number]> = [];
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) return undefined;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) return undefined;
    ranges.push([lo, hi]);
  }
  return ranges;
}

/** The CPU set, checked against this machine, as a sorted list of distinct indexes. */
export function cpuSchema(cpuCount: number) {
  // Every member carries the same error: zod reports a member's own issue when only that member
  // matched the input's type (e.g. -1), and its default wording would not say what is accepted.
  const e = expected(CPU_FORMS);
  const index = z.int(e).nonnegative(e);
  return z.union([index, z.string(e), z.array(index, e)], e).transform((value, ctx) => {
    const ranges: Array<[number, number]> | undefined =
      typeof value === 'number'
        ? [[value, value]]
        : typeof value === 'string'
          ? parseCpuList(value)
          : value.map((n): [number, number] => [n, n]);
    if (ranges === undefined || ranges.length === 0) {
      ctx.addIssue({ code: 'custom', message: `expected ${CPU_FORMS}, got ${describe(value)}` });
      return z.NEVER;
    }
    // Checked on the ranges before expanding them, so "0-4000000000" cannot allocate a huge array.
    const missing = ranges.filter(([, hi]) => hi >= cpuCount).map(([lo]) => Math.max(lo, cpuCount));
    if (missing.length > 0) {
      const plural = cpuCount === 1 ? 'CPU' : 'CPUs';
      const has = cpuCount === 1 ? '0' : `0-${cpuCount - 1}`;
      ctx.addIssue({
        code: 'custom',
        message: `this machine has no CPU ${Math.min(...missing)} (it has ${cpuCount} ${plural}: ${has})`,
      });
      return z.NEVER;
    }
    const cpus = new Set<number>();
    for (const [lo, hi] of ranges) for (let n = lo; n <= hi; n++) cpus.add(n);
    return [...cpus].sort((a, b) => a - b);
  });
}
