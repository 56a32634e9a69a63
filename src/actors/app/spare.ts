// A warm spare: a process the master keeps booted for a `warm-spare` server (master/spares.ts),
// so that a restart skips node's start-up and the loading of Shaddock's modules.
//
//   node [server args] [--import tsx] <this file> <app entry>
//
// 1. Loads the modules every server loads: the package entry and the server process module, of
//    the copy of the package the app's own `import 'shaddock'` resolves to (resolved from the
//    app entry's folder, so the app later gets these very module instances, not a second copy).
// 2. Waits for one JSON line on stdin: the server's identity, the variables the master puts in a
//    fresh server's environment (master/spawn.ts, serverIdentity). It sets them in process.env,
//    makes process.argv the app's (`node <app entry>`), and imports the app entry: from there on
//    this process is the server.
// 3. Exits when stdin ends before a line came: the master died, or dropped this spare.
//
// It imports nothing from this package itself: the app may resolve `shaddock` to another copy.
// None of the preloaded modules reads the identity variables when it is imported; they are read
// when the app calls createApp() and app.start().
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { pathToFileURL } from 'node:url';

const entry = process.argv[2];
if (entry === undefined) {
  process.stderr.write('shaddock spare: no app entry given (usage: spare.js <app entry>)\n');
  process.exit(2);
}

/** The first line on stdin, or `undefined` when stdin ends (or fails) before one came. */
function firstLine(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const stdin = process.stdin;
    let text = '';
    const settle = (line: string | undefined): void => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', onEnd);
      // Read on to the end the master gives right after the line: the pipe then closes by itself.
      stdin.on('data', () => undefined);
      stdin.on('error', () => undefined);
      resolve(line);
    };
    const onData = (chunk: string): void => {
      text += chunk;
      const end = text.indexOf('\n');
      if (end >= 0) settle(text.slice(0, end));
    };
    const onEnd = (): void => settle(undefined);
    stdin.setEncoding('utf8');
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.once('error', onEnd);
  });
}

/** The modules to load ahead: `shaddock` as the app resolves it, and the server process module next to it. */
function preloads(appEntry: string): string[] {
  const index = createRequire(appEntry).resolve('shaddock');
  const url = pathToFileURL(index);
  return [url.href, new URL(`./actors/server/server-process${extname(index)}`, url).href];
}

const identity = firstLine();
let preloaded: string[] = [];
try {
  for (const url of preloads(entry)) {
    await import(url);
    preloaded = [...preloaded, url];
  }
} catch (error) {
  // The app's own import will say what is wrong (or, resolving `shaddock` some other way, work).
  process.stderr.write(`shaddock spare: preloading stopped: ${error instanceof Error ? error.message : String(error)}\n`);
}
// What was loaded ahead, for a server to tell that it was a spare (tests check the instances).
Object.defineProperty(globalThis, Symbol.for('shaddock.warmSpare'), { value: { preloaded }, enumerable: false });

const line = await identity;
if (line === undefined) process.exit(0);
let variables: Record<string, unknown>;
try {
  variables = JSON.parse(line) as Record<string, unknown>;
  if (typeof variables !== 'object' || variables === null || Array.isArray(variables)) throw new Error('not an object');
} catch (error) {
  process.stderr.write(`shaddock spare: the identity line on stdin is not a JSON object of variables (${error instanceof Error ? error.message : String(error)}): ${line.slice(0, 200)}\n`);
  process.exit(2);
}
for (const [name, value] of Object.entries(variables)) if (typeof value === 'string') process.env[name] = value;
process.argv.splice(1, 2, entry);
await import(pathToFileURL(entry).href);
