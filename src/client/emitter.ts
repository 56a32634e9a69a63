/** The client's listeners: push routes and client events, by name; a throwing listener is reported later. */

export type Listener = (payload: never) => void;

export class Listeners {
  private readonly byEvent = new Map<string, Set<Listener>>();

  add(event: string, fn: Listener): void {
    let set = this.byEvent.get(event);
    if (!set) this.byEvent.set(event, (set = new Set()));
    set.add(fn);
  }

  /** Like {@link add}, for the next one only. */
  once(event: string, fn: Listener): void {
    const wrapper = Object.assign(
      (payload: never): void => {
        this.off(event, wrapper);
        fn(payload);
      },
      { listener: fn },
    );
    this.add(event, wrapper);
  }

  /** Removes a listener (or every listener of `event` when `fn` is left out). */
  off(event: string, fn?: Listener): void {
    if (!fn) {
      this.byEvent.delete(event);
      return;
    }
    const set = this.byEvent.get(event);
    for (const listener of set ?? []) {
      if (listener === fn || (listener as Listener & { listener?: Listener }).listener === fn) set?.delete(listener);
    }
  }

  emit(event: string, payload: unknown): void {
    const set = this.byEvent.get(event);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        (fn as (payload: unknown) => void)(payload);
      } catch (error) {
        // A throwing listener must not break the connection; report it on a later tick.
        setTimeout(() => {
          throw error;
        });
      }
    }
  }
}
