// The installable package (issue #14): what `npm pack` ships, and `shaddock init` end to end. The
// tarball is unpacked into an empty folder's node_modules (its dependencies linked from this
// checkout: nothing comes from the network); its CLI inits a project, which type-checks against
// the package's .d.ts, passes its own tests, starts on the embedded defaults with the installed
// CLI, answers its handler through the client SDK, is listed, and stops.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { createClient, type UntypedRoutes } from '../src/client/node.ts';
import type { ServerRow } from '../src/transport/wire.ts';
import { isAlive, repoRoot, runCli, waitForExit, type CliResult } from './harness/index.ts';

const run = promisify(execFile);

/** Runs a `shaddock` CLI (`bin/shaddock.js` at `cli`) with the environment of the test plus `env`. */
function cliAt(cli: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return run(process.execPath, [cli, ...args], { env: { ...process.env, SHADDOCK_LOG_LEVEL: 'warn', ...env }, timeout: 60_000 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code?: number; stdout: string; stderr: string }) => ({ code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout, stderr: e.stderr }),
  );
}
const work = join(repoRoot, 'test/.tmp', `init-${process.pid}`);
const project = join(work, 'My Game');

/** `npm run build` must have run since the last source edit (`npm test`'s pretest sees to it). */
function assertBuilt(): void {
  const compiled = join(repoRoot, 'dist/cli/main.js');
  assert.ok(existsSync(compiled), 'dist/ is missing: run npm run build');
  assert.ok(statSync(compiled).mtimeMs >= statSync(join(repoRoot, 'src/cli/init.ts')).mtimeMs, 'dist/ is older than src: run npm run build');
}

describe('the package', () => {
  test('npm pack ships bin, dist (JS and .d.ts), the templates, README and package.json; no sources, tests or examples', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 });
    const [packed] = JSON.parse(stdout) as { files: { path: string }[] }[];
    const paths = packed!.files.map((file) => file.path);
    const outside = paths.filter((path) => !/^(bin\/|dist\/|templates\/app\/|README\.md$|package\.json$)/.test(path));
    assert.deepEqual(outside, []);
    for (const needed of ['bin/shaddock.js', 'dist/index.js', 'dist/index.d.ts', 'dist/client/node.js', 'dist/cli/main.js', 'templates/app/app.ts']) {
      assert.ok(paths.includes(needed), `${needed} is in the package`);
    }
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { exports: Record<string, { types: string; default: string }> };
    for (const [name, target] of Object.entries(pkg.exports)) {
      if (typeof target === 'string') continue;
      assert.ok(paths.includes(target.types.slice(2)) && paths.includes(target.default.slice(2)), `export ${name} points into the package`);
    }
  });
});

describe('shaddock init', () => {
  let masterPid: number | undefined;

  before(() => {
    assertBuilt();
    mkdirSync(work, { recursive: true });
  });
  after(async () => {
    if (masterPid !== undefined && isAlive(masterPid)) {
      await runCli(['kill', '-d', project, '-e', 'development']).catch(() => undefined);
      if (isAlive(masterPid)) process.kill(masterPid, 'SIGKILL');
    }
    rmSync(work, { recursive: true, force: true });
  });

  test('refuses a folder that is not empty', async () => {
    const full = join(work, 'full');
    mkdirSync(full, { recursive: true });
    writeFileSync(join(full, 'keep.txt'), 'mine');
    const result = await runCli(['init', full]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /is not empty/);
    assert.equal(readFileSync(join(full, 'keep.txt'), 'utf8'), 'mine');
  });

  test('a new project: it type-checks, its tests pass, it starts, its handler answers a client, it stops', async () => {
    // The package as npm would install it: the tarball `npm pack` makes, unpacked into
    // node_modules/shaddock (no src/ there, so the compiled code runs), its dependencies linked
    // from this checkout's node_modules (npm would download them).
    const { stdout: packed } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: repoRoot });
    const tarball = join(work, (JSON.parse(packed) as { filename: string }[])[0]!.filename);
    const installed = join(work, 'installed/node_modules/shaddock');
    mkdirSync(installed, { recursive: true });
    await run('tar', ['xzf', tarball, '-C', installed, '--strip-components=1']);
    assert.ok(!existsSync(join(installed, 'src')), 'no sources in the package');
    const cli = join(installed, 'bin/shaddock.js');
    const made = await cliAt(cli, ['init', project]);
    assert.equal(made.code, 0, made.stderr);
    for (const file of ['app.ts', 'config/master.json', 'config/servers.json', 'app/servers/game/handler/gameHandler.ts', 'app/servers/game/remote/gameRemote.ts', '.gitignore', 'package.json']) {
      assert.ok(existsSync(join(project, file)), `${file} was written`);
    }
    const pkg = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as { name: string; scripts: Record<string, string>; dependencies: Record<string, string> };
    assert.equal(pkg.name, 'my-game');
    assert.equal(pkg.scripts['start'], 'shaddock start');
    assert.ok(pkg.scripts['test'], 'a test script');
    assert.ok(pkg.dependencies['shaddock'], 'depends on shaddock');

    // What `npm install` would leave: the package (a file: dependency is a link) and the tools its scripts use.
    mkdirSync(join(project, 'node_modules/@types'), { recursive: true });
    renameSync(installed, join(project, 'node_modules/shaddock'));
    const own = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const dependency of Object.keys(own.dependencies).filter((name) => name !== 'tsx')) {
      mkdirSync(dirname(join(project, 'node_modules', dependency)), { recursive: true });
      symlinkSync(join(repoRoot, 'node_modules', dependency), join(project, 'node_modules', dependency));
    }
    const projectCli = join(project, 'node_modules/shaddock/bin/shaddock.js');
    symlinkSync(join(repoRoot, 'node_modules/tsx'), join(project, 'node_modules/tsx'));
    symlinkSync(join(repoRoot, 'node_modules/@types/node'), join(project, 'node_modules/@types/node'));
    // Nothing of this test runner's: no loader options, and not its child-process protocol (NODE_TEST_CONTEXT).
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== 'NODE_TEST_CONTEXT' && key !== 'NODE_OPTIONS'));

    // The package's types are its dist/*.d.ts (no condition set here, as in a user's project).
    await run(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', project], { cwd: project, env });
    const tested = await run(process.execPath, ['--import', 'tsx', '--test', 'test/gameRemote.test.ts'], { cwd: project, env });
    assert.match(tested.stdout, /# pass 1/);

    // Any free port for the connector, so the test runs next to anything else.
    const servers = join(project, 'config/servers.json');
    writeFileSync(servers, readFileSync(servers, 'utf8').replace('"clientPort": 3010', '"clientPort": 0'));
    const started = await cliAt(projectCli, ['start', '-D', '-d', project]);
    assert.equal(started.code, 0, `${started.stdout}${started.stderr}`);
    const listed = await cliAt(projectCli, ['list', '--json', '-d', project]);
    assert.equal(listed.code, 0, listed.stderr);
    const rows = JSON.parse(listed.stdout) as ServerRow[];
    masterPid = rows.find((row) => row.serverType === 'master')?.pid ?? undefined;
    assert.deepEqual(rows.map((row) => `${row.id}:${row.state}`).sort(), ['connector-1:connected', 'game-1:connected', 'master-1:leading.running']);
    const port = rows.find((row) => row.id === 'connector-1')?.clientPort;
    assert.ok(port, 'the connector announces its client port');

    const client = createClient<UntypedRoutes>({ url: `ws://127.0.0.1:${port}` });
    await client.connect();
    try {
      assert.deepEqual(await client.request('game.gameHandler.hello', { name: 'ann' }), { code: 200, text: 'hello, ann', times: 1, server: 'game-1' });
      assert.deepEqual(await client.request('game.gameHandler.hello', { name: 'ann' }), { code: 200, text: 'hello, ann', times: 2, server: 'game-1' });
    } finally {
      await client.disconnect();
    }

    const stopped = await cliAt(projectCli, ['stop', '-d', project]);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /stopped: .*and the master/);
    for (const row of rows) if (row.pid) await waitForExit(row.pid);
  });
});
