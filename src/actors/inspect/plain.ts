/** How deep a context is copied; deeper values become `'…'`. */
const MAX_DEPTH = 6;
/** Items of one array or keys of one map copied; the rest are left out (and counted under `'…'`). */
const MAX_ITEMS = 100;

/**
 * A machine context as plain data, safe to encode and to show: strings, numbers, booleans, null,
 * arrays and plain maps are copied; a function is left out; any other object (a connection, a
 * socket, a timer) becomes the string `<ClassName>`, so a watcher sees that something is there
 * without the process serialising a live object. Bounded in depth and width.
 *
 * @example
 * plainData({ id: 'a', port: new Connection(...), retry: () => {} }); // { id: 'a', port: '<Connection>' }
 */
export function plainData(value: unknown, depth = 0): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return String(value);
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (depth >= MAX_DEPTH) return '…';
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map((item) => plainData(item, depth + 1) ?? null);
    if (value.length > MAX_ITEMS) items.push(`… ${value.length - MAX_ITEMS} more`);
    return items;
  }
  const prototype = Object.getPrototypeOf(value) as object | null;
  if (prototype !== Object.prototype && prototype !== null) {
    return `<${(value as { constructor?: { name?: string } }).constructor?.name || 'object'}>`;
  }
  const out: Record<string, unknown> = {};
  const keys = Object.keys(value as object);
  for (const key of keys.slice(0, MAX_ITEMS)) {
    const copied = plainData((value as Record<string, unknown>)[key], depth + 1);
    if (copied !== undefined) out[key] = copied;
  }
  if (keys.length > MAX_ITEMS) out['…'] = `${keys.length - MAX_ITEMS} more keys`;
  return out;
}
