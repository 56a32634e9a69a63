// bench/ is an npm package of its own (bench/package.json): pinus, the connector bench's baseline,
// lives there so that the root never depends on it, and `shaddock` is linked back to the root
// (`file:..`), since bench code imports it by name and bench/package.json's scope hides the
// root's self-reference. run.ts calls this before loading any bench.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const benchDir = join(import.meta.dirname, '..');

/** Runs `npm --prefix bench ci` when bench/node_modules lacks pinus or the `shaddock` link. */
export function ensureBenchPackage(): void {
  const modules = join(benchDir, 'node_modules');
  if (existsSync(join(modules, 'pinus', 'package.json')) && existsSync(join(modules, 'shaddock', 'package.json'))) return;
  process.stderr.write(`bench: ${modules} is missing pinus or the shaddock link: running npm --prefix bench ci\n`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  // npm's own output goes to stderr, so `--json` keeps stdout to the result rows.
  const result = spawnSync(npm, ['--prefix', benchDir, 'ci', '--no-audit', '--no-fund'], { stdio: ['ignore', 2, 2] });
  if (result.status !== 0) {
    process.stderr.write(`bench: npm --prefix bench ci failed (status ${result.status}${result.error ? `, ${result.error.message}` : ''})\n`);
    process.exit(1);
  }
}
