export { masterMachine } from './master.ts';
export type { MasterContext, MasterEvent, MasterInput } from './master.ts';
export { serverMachine } from './server.ts';
export type { ExitInfo, ServerContext, ServerEvent, ServerInput, ServerTiming } from './server.ts';
export { lifecycleMachine } from './lifecycle.ts';
export type { LifecycleContext, LifecycleEvent, LifecycleInput } from './lifecycle.ts';
export { stateName } from './state-name.ts';
export { toMermaid } from './mermaid.ts';
