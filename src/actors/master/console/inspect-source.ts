/**
 * What the console needs of the inspection protocol (docs/inspect.md): a watch of one process's
 * machines, its snapshots and its batches of transitions. The console codes against this; the
 * master gives it the NATS watcher.
 */

/** One actor and its state, as a process's inspector reports it. */
export interface InspectedActor {
  actor: string;
  machine: string;
  state: string;
}

export interface InspectedDetail extends InspectedActor {
  context: unknown;
}

export interface InspectedSnapshot {
  server: string;
  at: number;
  actors: InspectedActor[];
  counts: Record<string, Record<string, number>>;
  dropped: number;
  detail?: InspectedDetail;
}

export interface InspectedTransition extends InspectedActor {
  event: string;
  at: number;
}

export interface InspectedBatch {
  server: string;
  events: InspectedTransition[];
  counts?: Record<string, Record<string, number>>;
  dropped: number;
}

export interface InspectHandlers {
  /** Every snapshot: the first, then one per lease renewal. */
  snapshot(snapshot: InspectedSnapshot): void;
  batch(batch: InspectedBatch): void;
  /** The process cannot be watched now (down, restarting, refusing); the watch keeps trying. */
  error(message: string): void;
}

export interface InspectWatch {
  /** Shows one actor in full from now on (`undefined`: none). */
  setDetail(actor: string | undefined): void;
  close(): void;
}

/** Watches one process (a server id, or a master's id) until the watch is closed. */
export type InspectSource = (serverId: string, handlers: InspectHandlers, detail?: string) => InspectWatch;

/** No inspection: every watch reports that once. */
export const noInspection: InspectSource = (serverId, handlers) => {
  queueMicrotask(() => handlers.error(`inspection events are not available in this build, so "${serverId}"'s own machines cannot be shown`));
  return { setDetail: () => undefined, close: () => undefined };
};
