import assert from 'node:assert/strict';
import { test } from 'node:test';
import GameRemote from '../app/servers/game/remote/gameRemote.ts';

test('greet counts per name', () => {
  const remote = new GameRemote();
  assert.deepEqual(remote.greet('ann'), { text: 'hello, ann', times: 1 });
  assert.deepEqual(remote.greet('ann'), { text: 'hello, ann', times: 2 });
  assert.deepEqual(remote.greet('bob'), { text: 'hello, bob', times: 1 });
});
