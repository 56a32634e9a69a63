// The end of a bench that ran two clusters side by side: stops the load clients, both sides and
// the bench's nats-server, whatever failed before, and says on stderr what could not be stopped.
import { note } from './report.ts';

interface Stoppable {
  stop(): Promise<unknown>;
}

/** Stops everything a side-by-side bench started; false if a side's stop failed (the bench then exits 1). */
export async function stopSides(bench: string, loads: Iterable<Stoppable>, clusters: Partial<Record<'shaddock' | 'baseline', Stoppable>>, nats: Stoppable | undefined): Promise<boolean> {
  let stopped = true;
  for (const load of loads) await load.stop();
  for (const side of ['shaddock', 'baseline'] as const) {
    try {
      await clusters[side]?.stop();
    } catch (error) {
      stopped = false;
      note(`${bench}: stopping ${side} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  await nats?.stop();
  return stopped;
}
