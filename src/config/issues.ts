/** Turning a zod issue into a ConfigError's words and field: what was found, where, rendered. */
import type { z } from 'zod';
import { describe } from './describe.ts';

export function problemOf(issue: z.core.$ZodIssue, root: unknown): string {
  if (issue.code === 'custom') return issue.message;
  if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  const value = valueAt(root, issue.path);
  return value === undefined ? 'required' : `${issue.message}, got ${describe(value)}`;
}

/** Where an issue is: its path, and for an unknown field that field. */
export function issuePath(issue: z.core.$ZodIssue): PropertyKey[] {
  return issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined ? [...issue.path, issue.keys[0]] : [...issue.path];
}

/** `["nats", "servers", 0]` → `nats.servers[0]`. */
export function fieldName(pathParts: readonly PropertyKey[]): string {
  let name = '';
  for (const part of pathParts) {
    if (typeof part === 'number') name += `[${part}]`;
    else name += name === '' ? String(part) : `.${String(part)}`;
  }
  return name;
}

export function valueAt(root: unknown, pathParts: readonly PropertyKey[]): unknown {
  let value = root;
  for (const part of pathParts) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}
