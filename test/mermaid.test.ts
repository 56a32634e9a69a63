import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fromPromise, not, setup } from 'xstate';
import { docPath, withMachinesSection } from '../scripts/machines-to-mermaid.ts';
import { toMermaid } from '../src/machines/mermaid.ts';

/** A small machine with one of everything toMermaid draws. */
const door = setup({
  actors: { load: fromPromise(async () => {}) },
  actions: { note: () => {} },
  guards: { isReady: () => true },
  delays: { patience: 500 },
}).createMachine({
  id: 'door',
  initial: 'closed',
  // Applies in every top-level state that does not take RESET itself.
  on: { RESET: { target: '.closed' } },
  states: {
    closed: {
      on: { OPEN: { guard: 'isReady', target: 'opening' }, LOCK: { target: 'locked' } },
    },
    locked: {
      always: { guard: not('isReady'), target: 'broken' },
      on: { UNLOCK: { target: 'closed' } },
    },
    opening: {
      invoke: { src: 'load', onDone: { target: 'open' }, onError: { target: 'broken' } },
      after: { patience: { target: 'broken' } },
      // Targetless: runs an action, changes no state, is not drawn; and RESET is not inherited here.
      on: { RESET: { actions: 'note' } },
    },
    open: {
      initial: 'idle',
      on: { SLAM: { target: 'broken' } },
      onDone: { target: 'closed' },
      states: {
        idle: { on: { PUSH: { target: 'moving' } } },
        moving: {
          after: { 1000: { target: 'idle' } },
          on: { STUCK: { target: '#door.broken' }, STOP: { target: 'settled' } },
        },
        settled: { type: 'final' },
      },
    },
    broken: { type: 'final' },
  },
});

describe('toMermaid', () => {
  test('draws states, nesting, finals, delays, invocations and guards', () => {
    assert.deepEqual(toMermaid(door).split('\n'), [
      'stateDiagram-v2',
      '  [*] --> closed',
      '  closed',
      '  locked',
      '  opening',
      '  state open {',
      '    [*] --> idle',
      '    idle',
      '    moving',
      '    settled',
      '    idle --> moving : PUSH',
      '    moving --> settled : STOP',
      '    moving --> idle : after 1000ms',
      '    settled --> [*]',
      '  }',
      '  broken',
      '  closed --> opening : OPEN [isReady]',
      '  closed --> locked : LOCK',
      '  closed --> closed : RESET',
      '  locked --> closed : UNLOCK',
      '  locked --> broken : always [!isReady]',
      '  locked --> closed : RESET',
      '  opening --> open : done: load',
      '  opening --> broken : error: load',
      '  opening --> broken : after patience',
      '  open --> broken : SLAM',
      '  open --> closed : done',
      '  open --> closed : RESET',
      '  moving --> broken : STUCK',
      '  broken --> [*]',
    ]);
  });

  test('is deterministic', () => {
    assert.equal(toMermaid(door), toMermaid(door));
  });

  test('gives keys Mermaid would misread an id of their own, and escapes label delimiters', () => {
    const odd = setup({}).createMachine({
      id: 'odd',
      initial: 'my-state',
      states: {
        'my-state': { on: { 'a;b#c::d': { target: 'default' } } },
        default: {},
      },
    });
    assert.deepEqual(toMermaid(odd).split('\n'), [
      'stateDiagram-v2',
      '  [*] --> s_my_state',
      '  state "my-state" as s_my_state',
      '  state "default" as s_default',
      '  s_my_state --> s_default : a#59;b#35;c:#58;d',
    ]);
  });
});

describe('docs/architecture.md', () => {
  test('shows the machines as they are (run `npm run docs:machines` after changing one)', () => {
    const current = readFileSync(docPath, 'utf8');
    assert.equal(withMachinesSection(current), current, 'docs/architecture.md is out of date: run `npm run docs:machines`');
  });
});
