/**
 * Regenerates the machine diagrams in docs/architecture.md, between
 * `<!-- machines:begin -->` and `<!-- machines:end -->`, from the machines in src/machines.
 *
 *   npm run docs:machines             rewrite the section (only if it changed)
 *   npm run docs:machines -- --check  exit 1 if the section is out of date; write nothing
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AnyStateMachine } from 'xstate';
import { lifecycleMachine, masterMachine, serverMachine, sessionMachine, supervisorMachine } from '../src/machines/index.ts';
import { toMermaid } from '../src/machines/mermaid.ts';

export const docPath = fileURLToPath(new URL('../docs/architecture.md', import.meta.url));
export const beginMarker = '<!-- machines:begin -->';
export const endMarker = '<!-- machines:end -->';

/** The machines drawn, in the order they appear in the document. */
export const machines: readonly AnyStateMachine[] = [masterMachine, serverMachine, supervisorMachine, lifecycleMachine, sessionMachine];

/** What goes between the markers: one `### <id>` heading and one mermaid block per machine. */
export function machinesSection(list: readonly AnyStateMachine[] = machines): string {
  const parts = ['<!-- Generated from src/machines by `npm run docs:machines`; edits here are overwritten. -->'];
  for (const machine of list) parts.push(`### ${machine.id}`, ['```mermaid', toMermaid(machine), '```'].join('\n'));
  return parts.join('\n\n');
}

/** `doc` with the text between the markers replaced by the generated section. */
export function withMachinesSection(doc: string, list: readonly AnyStateMachine[] = machines): string {
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
