/** `shaddock init <dir>`: a new project from the template (Pomelo's `pomelo init`). */
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { CliError } from './target.ts';

/** The package's root: two folders up from this file, in src/cli as in dist/cli. */
const packageRoot = fileURLToPath(new URL('../..', import.meta.url));
const templateDir = join(packageRoot, 'templates', 'app');

/** An npm package name made of a folder name: lower case, and only the characters npm allows. */
export function packageName(dir: string): string {
  const name = basename(resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+/, '');
  return name || 'shaddock-app';
}

/** What `init` wrote, for the CLI to print. */
export interface InitResult {
  dir: string;
  name: string;
  files: string[];
}

/**
 * Writes a new project into `dir` (created if needed, or empty): `app.ts`, `config/` (master and
 * servers for `development` and `production`), a connector and a `game` backend with one handler
 * and one remote, a unit test, and a `package.json` whose `start` runs the cluster on the embedded
 * defaults and whose `test` runs the unit tests.
 *
 * @throws {CliError} when `dir` exists and is not empty.
 */
export function initProject(dir: string): InitResult {
  const target = resolve(dir);
  if (existsSync(target) && readdirSync(target).length > 0) throw new CliError(`${target} is not empty: init writes a new project into an empty (or new) folder`);
  const name = packageName(target);
  cpSync(templateDir, target, { recursive: true });
  // npm leaves a `.gitignore` out of a package, so the template carries it under another name.
  renameSync(join(target, 'gitignore'), join(target, '.gitignore'));
  const readme = join(target, 'README.md');
  writeFileSync(readme, readFileSync(readme, 'utf8').replaceAll('{{name}}', name));
  const own = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string>; devDependencies: Record<string, string> };
  const pkg = {
    name,
    version: '0.1.0',
    private: true,
    type: 'module',
    scripts: {
      start: 'shaddock start',
      stop: 'shaddock stop',
      test: 'node --import tsx --test test/*.test.ts',
      typecheck: 'tsc --noEmit -p .',
    },
    dependencies: { shaddock: own.version },
    // The versions Shaddock itself is built and tested with.
    devDependencies: {
      '@types/node': own.devDependencies['@types/node'],
      tsx: own.dependencies['tsx'],
      typescript: own.devDependencies['typescript'],
    },
  };
  writeFileSync(join(target, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  return { dir: target, name, files: listFiles(target) };
}

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(join(dir, entry.name), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`],
  );
}

/** Adds `init <dir>` to the CLI. */
export function addInitCommand(program: Command): void {
  program
    .command('init')
    .description('create a new project: app.ts, config/, a connector and a game server with a handler and a remote')
    .argument('<dir>', 'the folder to create (or an empty one)')
    .action((dir: string) => {
      const result = initProject(dir);
      console.log(`created ${result.name} in ${result.dir}:\n  ${result.files.sort().join('\n  ')}\n\nnext: cd ${dir} && npm install && npm start`);
    });
}
