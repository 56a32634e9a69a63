/** The client's default {@link ClientClock}: the platform's global timers (browser or Node). */
import type { ClientClock } from './types.ts';

export const globalClock: ClientClock = {
  setTimeout(fn, ms, options) {
    const handle: unknown = setTimeout(fn, ms);
    // Node's timers can be unref'd; a browser's are numbers.
    if (options?.unref && typeof handle === 'object' && handle !== null && 'unref' in handle && typeof handle.unref === 'function') handle.unref();
    return handle;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout> | undefined);
  },
};
