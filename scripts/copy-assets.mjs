// Part of `npm run build`: tsc compiles src/**/*.ts to dist/; the other files under src (the web
// console's page: HTML, CSS, browser JS) are copied next to their compiled modules, which read
// them relative to themselves (`new URL('./page/...', import.meta.url)`).
import { cpSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const dist = join(root, 'dist');

/** Every file under `dir` that tsc does not compile. */
function assets(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return assets(path);
    return entry.name.endsWith('.ts') ? [] : [path];
  });
}

for (const file of assets(src)) cpSync(file, join(dist, relative(src, file)));
