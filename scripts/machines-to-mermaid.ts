/**
 * Regenerates the machine diagrams in docs/architecture.md, between
 * `<!-- machines:begin -->` and `<!-- machines:end -->`, from every machine in the registry
 * (src/machines/registry.ts): each is what `shaddock machines <name> --format mermaid` prints.
 *
 *   npm run docs:machines             rewrite the section (only if it changed)
 *   npm run docs:machines -- --check  exit 1 if the section is out of date; write nothing
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { exportMachine } from '../src/machines/export.ts';
import { machineRegistry, type MachineEntry } from '../src/machines/registry.ts';

export const docPath = fileURLToPath(new URL('../docs/architecture.md', import.meta.url));
export const beginMarker = '<!-- machines:begin -->';
export const endMarker = '<!-- machines:end -->';

/**
 * What goes between the markers: per machine, in registry order, a `### <name>` heading, its
 * description, and one mermaid block.
 */
export function machinesSection(list: readonly MachineEntry[] = machineRegistry): string {
  const parts = ['<!-- Generated from src/machines by `npm run docs:machines`; edits here are overwritten. -->'];
  for (const entry of list) {
    parts.push(`### ${entry.name}`, `${entry.description[0]?.toUpperCase() ?? ''}${entry.description.slice(1)}.`, ['```mermaid', exportMachine(entry, 'mermaid'), '```'].join('\n'));
  }
  return parts.join('\n\n');
}

/** `doc` with the text between the markers replaced by the generated section. */
export function withMachinesSection(doc: string, list: readonly MachineEntry[] = machineRegistry): string {
  const begin = doc.indexOf(beginMarker);
  const end = doc.indexOf(endMarker);
  if (begin === -1 || end === -1 || end < begin || doc.indexOf(beginMarker, begin + 1) !== -1 || doc.indexOf(endMarker, end + 1) !== -1) {
    throw new Error(`${docPath} must contain "${beginMarker}" followed by "${endMarker}", once each`);
  }
  return `${doc.slice(0, begin + beginMarker.length)}\n\n${machinesSection(list)}\n\n${doc.slice(end)}`;
}

function main(args: readonly string[]): number {
  const check = args.includes('--check');
  const current = readFileSync(docPath, 'utf8');
  const next = withMachinesSection(current);
  if (next === current) {
    console.log(`${docPath}: machine diagrams are up to date`);
    return 0;
  }
  if (check) {
    console.error(`${docPath}: machine diagrams are out of date with src/machines; run \`npm run docs:machines\` and commit the result`);
    return 1;
  }
  writeFileSync(docPath, next);
  console.log(`${docPath}: machine diagrams regenerated`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  }
}
