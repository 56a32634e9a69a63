import type { Command } from 'commander';
import { exportMachine, exportMachines, isMachineFormat, machineFormats } from '../machines/export.ts';
import { findMachine, machineRegistry } from '../machines/registry.ts';
import { CliError } from './target.ts';

/**
 * What `shaddock machines [name] --format <format>` prints: the named machine, or every machine
 * when no name is given, exported from its definition. Needs no cluster, no config, no NATS.
 * Throws a `CliError` naming the valid machines or formats for an unknown one.
 */
export function machinesOutput(name: string | undefined, format: string): string {
  if (!isMachineFormat(format)) {
    throw new CliError(`unknown format "${format}"; the formats are: ${machineFormats.join(', ')}`);
  }
  if (name === undefined) return exportMachines(machineRegistry, format);
  const entry = findMachine(name);
  if (!entry) {
    const known = machineRegistry.map((machine) => `  ${machine.name}: ${machine.description}`).join('\n');
    throw new CliError(`unknown machine "${name}"; the machines are:\n${known}`);
  }
  return exportMachine(entry, format);
}

/** Adds `machines` to the `shaddock` program. */
export function addMachinesCommand(program: Command): void {
  const names = machineRegistry.map((machine) => machine.name).join(', ');
  program
    .command('machines')
    .description(`print a machine's statechart from its definition (${names}); every machine when no name is given`)
    .argument('[name]', 'the machine to print')
    .option('-f, --format <format>', `${machineFormats.join(' | ')}`, 'mermaid')
    .action((name: string | undefined, options: { format: string }) => {
      console.log(machinesOutput(name, options.format));
    });
}
