/**
 * Each server's child spec, in the manner of OTP's supervisor: how it is restarted, how long its
 * graceful stop may take, and in which group it stops. Derived in one place from its servers.json
 * entry and master.json's defaults; the master supervises and stops servers by these alone.
 */
import type { RestartType, SupervisorPolicy } from '../machines/supervisor.ts';
import type { MasterConfig, ServerEntry } from './types.ts';

/**
 * Stop groups, in the order a cluster stops: frontends first (no new clients, their sessions'
 * `closed` listeners may still call backends), then backends; the master goes last.
 */
export const STOP_GROUPS = ['frontend', 'backend'] as const;
export type StopGroup = (typeof STOP_GROUPS)[number];

export interface ChildSpec {
  id: string;
  /** `permanent` (`auto-restart: true`), `transient`, or `temporary` (the default, as in Pomelo). */
  restart: RestartType;
  /** Backoff and intensity: master.json `restart` with the server's `restart-policy` over it. */
  policy: SupervisorPolicy;
  /** ms a spawned process may take to send its first `running` heartbeat. */
  startTimeout: number;
  /** ms of heartbeat silence after which it is unreachable. */
  heartbeatTimeout: number;
  /** ms its graceful stop may take before it is killed. */
  shutdownTimeout: number;
  stopGroup: StopGroup;
}

/** The restart type an entry asks for: `restart` when given, else Pomelo's `auto-restart`. */
export function restartTypeOf(entry: Pick<ServerEntry, 'restart' | 'autoRestart'>): RestartType {
  return entry.restart ?? (entry.autoRestart ? 'permanent' : 'temporary');
}

export function childSpecOf(entry: ServerEntry, master: MasterConfig): ChildSpec {
  const restart = restartTypeOf(entry);
  return {
    id: entry.id,
    restart,
    policy: { ...master.restart, ...entry.restartPolicy, restart },
    startTimeout: master.startTimeout,
    heartbeatTimeout: master.heartbeatTimeout,
    shutdownTimeout: entry.shutdownTimeout ?? master.stopTimeout,
    stopGroup: entry.frontend ? 'frontend' : 'backend',
  };
}

/** `items` in stop order: one array per group, groups in {@link STOP_GROUPS} order, empty ones left out. */
export function inStopOrder<T extends { spec: ChildSpec }>(items: readonly T[]): T[][] {
  return STOP_GROUPS.map((group) => items.filter((item) => item.spec.stopGroup === group)).filter((group) => group.length > 0);
}
