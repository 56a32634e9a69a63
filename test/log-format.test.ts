// Logs readable in a terminal (issue #14): pino-pretty when stdout is a TTY, JSON lines otherwise,
// SHADDOCK_LOG_FORMAT to decide; a real process on a pseudo-terminal (util-linux `script`) and on a pipe.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, test } from 'node:test';
import { prettyLogs } from '../src/logger.ts';
import { repoRoot } from './harness/index.ts';

const run = promisify(execFile);
const logOnce = `import { createLogger } from ${JSON.stringify(join(repoRoot, 'src/logger.ts'))}; createLogger('chat-1', { serverType: 'chat' }).info({ room: 'lobby' }, 'entered');`;

/** What one logger line looks like from a process started with `env`, through a TTY or a pipe. */
async function output(tty: boolean, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', logOnce];
  const childEnv = { ...process.env, SHADDOCK_LOG_FILE: '', ...env };
  const quoted = node.map((arg) => `'${arg.replaceAll("'", "'\\''")}'`).join(' ');
  const { stdout } = tty ? await run('script', ['-qec', quoted, '/dev/null'], { env: childEnv, cwd: repoRoot }) : await run(node[0]!, node.slice(1), { env: childEnv, cwd: repoRoot });
  return stdout;
}

describe('log format', () => {
  test('prettyLogs: the terminal decides unless SHADDOCK_LOG_FORMAT does; anything else is an error', () => {
    assert.equal(prettyLogs(true, undefined), true);
    assert.equal(prettyLogs(false, undefined), false);
    assert.equal(prettyLogs(false, 'pretty'), true);
    assert.equal(prettyLogs(true, 'json'), false);
    assert.throws(() => prettyLogs(true, 'yaml'), /SHADDOCK_LOG_FORMAT: expected "pretty" or "json", got "yaml"/);
  });

  test('a pipe gets JSON lines', async () => {
    const line = JSON.parse((await output(false)).trim()) as Record<string, unknown>;
    assert.equal(line['msg'], 'entered');
    assert.equal(line['serverId'], 'chat-1');
    assert.equal(line['room'], 'lobby');
  });

  test('a terminal gets one readable line per entry, with its fields below', async () => {
    // eslint-disable-next-line no-control-regex
    const text = (await output(true)).replace(/\u001b\[[0-9;]*m/g, '');
    assert.match(text, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(chat-1\): entered\r?\n\s+room: "lobby"/m);
    assert.ok(!text.includes('{"level"'), 'no JSON on a terminal');
  });

  test('SHADDOCK_LOG_FORMAT=json on a terminal gives JSON', async () => {
    const text = await output(true, { SHADDOCK_LOG_FORMAT: 'json' });
    assert.equal((JSON.parse(text.trim()) as { msg: string }).msg, 'entered');
  });
});
