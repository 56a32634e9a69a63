import { readFileSync } from 'node:fs';
import type { ServerEntry } from '../../config/types.ts';

/**
 * What a server announces of its supervision in each heartbeat, so that a master that adopts it
 * (after a failover, possibly on another host) learns it from the server and not from its own
 * memory: how many automatic restarts of this server id came before this process (its spawning
 * master gives the count in `SHADDOCK_RESTARTS`), and the CPUs it is bound to.
 */
export interface Announced {
  restarts?: number;
  cpu?: string;
}

/** The count its spawning master gave; nothing when none was given or it is not a count. */
export function restartsFromEnv(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/**
 * The CPUs this process may run on, as Linux lists them (`0-1,3`), read from /proc/self/status:
 * only for a server with `cpu` in its entry (an unbound one announces nothing). Undefined where
 * /proc does not tell.
 */
export function boundCpus(entry: ServerEntry, status: () => string = () => readFileSync('/proc/self/status', 'utf8')): string | undefined {
  if (entry.cpu === undefined || entry.cpu.length === 0) return undefined;
  try {
    return /^Cpus_allowed_list:\s*(\S+)\s*$/m.exec(status())?.[1];
  } catch {
    return undefined;
  }
}

/** The supervision fields of this process's heartbeat. */
export function announced(entry: ServerEntry, env: NodeJS.ProcessEnv = process.env): Announced {
  const restarts = restartsFromEnv(env.SHADDOCK_RESTARTS);
  const cpu = boundCpus(entry);
  return { ...(restarts !== undefined ? { restarts } : {}), ...(cpu !== undefined ? { cpu } : {}) };
}
