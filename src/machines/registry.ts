import type { AnyStateMachine } from 'xstate';
import { channelMachine } from './channel.ts';
import { lifecycleMachine } from './lifecycle.ts';
import { masterMachine } from './master.ts';
import { serverMachine } from './server.ts';
import { sessionMachine } from './session.ts';
import { supervisorMachine } from './supervisor.ts';
import { zkSessionMachine } from './zk-session.ts';

/** One machine of Shaddock, by the name `shaddock machines <name>` and the docs use. */
export interface MachineEntry {
  /** The machine's name: its id (`createMachine({ id })`). */
  name: string;
  /** What one instance of the machine stands for, in one line. */
  description: string;
  machine: AnyStateMachine;
}

function entry(machine: AnyStateMachine, description: string): MachineEntry {
  return { name: machine.id, description, machine };
}

/**
 * Every machine in src/machines, in the order the docs show them. A machine added to
 * src/machines is added here too (test/machine-export.test.ts fails until it is).
 */
export const machineRegistry: readonly MachineEntry[] = [
  entry(masterMachine, 'the master: reaching NATS, electing a leader, starting, running and stopping the cluster'),
  entry(serverMachine, "the leading master's view of one configured server's process: spawned, heartbeating, stopped or crashed"),
  entry(supervisorMachine, "one server's restart policy: watching it, backing off, restarting, leaving it down or giving up"),
  entry(lifecycleMachine, "a server process's view of itself, from booting to stopped: draining, stop hooks, components"),
  entry(sessionMachine, 'one client connection on a frontend: handshake, working, closing, closed'),
  entry(channelMachine, 'one channel, local or global: open to joins, leaves and pushes, then destroyed'),
  entry(zkSessionMachine, "a master HA master's ZooKeeper session: connecting, connected, suspended while cut off, expired, closed"),
];

/** The names of every machine, in registry order. */
export const machineNames: readonly string[] = machineRegistry.map((machine) => machine.name);

/** The machine named `name`, or `undefined`. */
export function findMachine(name: string): MachineEntry | undefined {
  return machineRegistry.find((machine) => machine.name === name);
}
