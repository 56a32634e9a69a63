import type { AppHost } from './host.ts';

/**
 * Settings `app.enable()` accepts that Shaddock does not implement yet, and why. Each is rejected
 * where it would take effect (globalChannel by a server) when that process
 * starts: a setting that silently does nothing is worse than none.
 */
const notYetSupported = {
  globalChannel: "global channels need a shared store (Redis), which is not built; remove app.enable('globalChannel') and use the local channelService",
} as const;

/** The start-up error for an enabled feature that is not supported yet, or undefined if it is not enabled. */
export function unsupportedFeature(host: Pick<AppHost, 'enabled'>, feature: keyof typeof notYetSupported): Error | undefined {
  return host.enabled(feature) ? new Error(`${feature} is not supported yet: ${notYetSupported[feature]}`) : undefined;
}
