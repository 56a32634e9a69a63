import type { ClusterConfig } from './types.ts';
import type { LoadConfigOptions } from './load.ts';

/**
 * `loadConfig`, loaded on first use. The validator (zod) is most of the modules a process would
 * otherwise load at start-up, and server processes never need it: the master validates the
 * config once and hands each server the result. This keeps a restart fast.
 */
export async function loadConfig(options: LoadConfigOptions): Promise<ClusterConfig> {
  const { loadConfig: load } = await import('./load.ts');
  return load(options);
}
