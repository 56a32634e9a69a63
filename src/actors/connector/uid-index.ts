/**
 * uid → its connections. One connection per uid is by far the usual case, and is stored as itself:
 * a Set per bound user would cost more than the rest of an idle session.
 */
export class UidIndex<T extends object> {
  private readonly map = new Map<string, T | T[]>();

  add(uid: string, item: T): void {
    const entry = this.map.get(uid);
    if (entry === undefined) this.map.set(uid, item);
    else if (Array.isArray(entry)) {
      if (!entry.includes(item)) entry.push(item);
    } else if (entry !== item) this.map.set(uid, [entry, item]);
  }

  delete(uid: string, item: T): void {
    const entry = this.map.get(uid);
    if (entry === item) this.map.delete(uid);
    else if (Array.isArray(entry)) {
      const rest = entry.filter((c) => c !== item);
      if (rest.length === 1) this.map.set(uid, rest[0]!);
      else this.map.set(uid, rest);
    }
  }

  get(uid: string): readonly T[] {
    const entry = this.map.get(uid);
    return entry === undefined ? [] : Array.isArray(entry) ? entry : [entry];
  }

  /** Calls `visit` for each item of `uid`, allocating nothing. */
  each(uid: string, visit: (item: T) => void): void {
    const entry = this.map.get(uid);
    if (entry === undefined) return;
    if (Array.isArray(entry)) for (const item of entry) visit(item);
    else visit(entry);
  }
}
