import type { StateValue } from 'xstate';

/**
 * A machine state as one dotted string (`leading.running`, `stopping.hooks`), for logs, `list`
 * and the inspector. Grouping states a user never names (such as the server machine's `live`)
 * are left out.
 */
export function stateName(value: StateValue, groups: readonly string[] = ['live']): string {
  if (typeof value === 'string') return value;
  const [key, child] = Object.entries(value)[0] ?? [];
  if (key === undefined || child === undefined) return '';
  const rest = stateName(child, groups);
  return groups.includes(key) ? rest : `${key}.${rest}`;
}
