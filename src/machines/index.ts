export { masterMachine } from './master.ts';
export type { MasterContext, MasterEvent, MasterInput } from './master.ts';
export { serverMachine } from './server.ts';
export type { ExitInfo, ServerContext, ServerEvent, ServerInput, ServerTiming } from './server.ts';
export { lifecycleMachine } from './lifecycle.ts';
export type { LifecycleContext, LifecycleEvent, LifecycleInput } from './lifecycle.ts';
export { stateName } from './state-name.ts';
export { toMermaid } from './mermaid.ts';
export { backoffDelay, supervisorMachine } from './supervisor.ts';
export type { SupervisorContext, SupervisorEvent, SupervisorInput, SupervisorPolicy } from './supervisor.ts';
export { sessionMachine } from './session.ts';
export type { SessionContext, SessionEvent, SessionInput, SessionPort } from './session.ts';
export { machineGraph } from './graph.ts';
export type { GraphState, GraphStateType, GraphTransition, GraphTransitionKind, MachineGraph } from './graph.ts';
export { toDot } from './dot.ts';
export { exportMachine, exportMachines, machineExport, machineFormats } from './export.ts';
export type { MachineExport, MachineFormat } from './export.ts';
export { findMachine, machineNames, machineRegistry } from './registry.ts';
export type { MachineEntry } from './registry.ts';
export { zkSessionMachine } from './zk-session.ts';
export type { ZkSessionContext, ZkSessionEvent, ZkSessionInput, ZkSessionPort } from './zk-session.ts';
export { channelMachine } from './channel.ts';
export type {
  ChannelContext,
  ChannelDestroyEvent,
  ChannelEvent,
  ChannelInput,
  ChannelJoinEvent,
  ChannelLeaveEvent,
  ChannelPort,
  ChannelPushEvent,
} from './channel.ts';
