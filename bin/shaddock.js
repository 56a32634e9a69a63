#!/usr/bin/env node
// The CLI runs the compiled package (dist/, made by `npm run build`). An installed package has
// nothing else. In a source checkout (src/ next to dist/) it runs the TypeScript sources through
// tsx instead whenever dist/ is missing or older than a source file, so an edit is never hidden
// behind a stale build; the app's `import 'shaddock'` then resolves to the sources too (the
// `shaddock-source` export condition), in this process and in the servers it spawns.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const compiled = join(root, 'dist', 'cli', 'main.js');
const sources = join(root, 'src');

/** The newest modification time of a file under `dir`, in ms. */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

const useCompiled = existsSync(compiled) && (!existsSync(sources) || statSync(compiled).mtimeMs >= newest(sources));

if (useCompiled) {
  await import('../dist/cli/main.js');
} else {
  const { register } = await import('tsx/esm/api');
  const { register: registerHooks } = await import('node:module');
  // Children (the servers, whatever the app's language) get the loader and the condition from
  // NODE_OPTIONS; this process from a resolve hook.
  const loader = JSON.stringify(import.meta.resolve('tsx'));
  const sourceOptions = `--conditions=shaddock-source --import=${loader}`;
  const inherited = process.env.NODE_OPTIONS ?? '';
  // A daemonised master runs this file again: add the options once.
  if (!inherited.includes(sourceOptions)) process.env.NODE_OPTIONS = `${inherited} ${sourceOptions}`.trim();
  const hook = `export async function resolve(specifier, context, next) {
    return next(specifier, { ...context, conditions: [...new Set([...context.conditions, 'shaddock-source'])] });
  }`;
  registerHooks(`data:text/javascript,${encodeURIComponent(hook)}`);
  register();
  await import('../src/cli/main.ts');
}
