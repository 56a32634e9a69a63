/** The fields of a restart policy (master.json `restart`, a server's `restart-policy`), checked once for both. */
import { z } from 'zod';
import { expected, milliseconds, positiveInt } from './fields.ts';
import type { RestartPolicy } from './types.ts';

/**
 * The cap would silently override the first delay: the problem, when the policy `overrides` makes
 * over `base` has `maxDelay` below `initialDelay`.
 */
export function delayProblem(base: RestartPolicy, overrides: Partial<RestartPolicy>, baseIs = 'from master.json'): string | undefined {
  const initialDelay = overrides.initialDelay ?? base.initialDelay;
  const maxDelay = overrides.maxDelay ?? base.maxDelay;
  if (maxDelay >= initialDelay) return undefined;
  return `must be at least initialDelay (${initialDelay} ms), got ${maxDelay}${overrides.maxDelay === undefined ? ` (${baseIs})` : ''}`;
}

export const RESTART_FIELDS = ['initialDelay', 'factor', 'maxDelay', 'resetAfter', 'maxRestarts', 'period'] as const;

/** Any subset of the policy's fields; an unknown key is a typo and is reported. */
export function restartFields() {
  const factorError = expected('a number of at least 1');
  return z
    .looseObject(
      {
        initialDelay: milliseconds().optional(),
        factor: z.number(factorError).min(1, factorError).optional(),
        maxDelay: milliseconds().optional(),
        resetAfter: milliseconds().optional(),
        maxRestarts: positiveInt('a positive integer').optional(),
        period: milliseconds().optional(),
      },
      expected(`an object { ${RESTART_FIELDS.map((f) => `${f}?`).join(', ')} }`),
    )
    .superRefine((r, ctx) => {
      const known: readonly string[] = RESTART_FIELDS;
      for (const key of Object.keys(r)) {
        if (!known.includes(key)) {
          ctx.addIssue({ code: 'custom', path: [key], message: `unknown field (known: ${RESTART_FIELDS.join(', ')})` });
        }
      }
    });
}

/** The policy fields that were given. */
export function definedOnly(r: Partial<Record<(typeof RESTART_FIELDS)[number], number | undefined>>): Partial<RestartPolicy> {
  const out: Partial<RestartPolicy> = {};
  for (const field of RESTART_FIELDS) {
    const value = r[field];
    if (value !== undefined) out[field] = value;
  }
  return out;
}
