// Preloaded (NODE_OPTIONS="--expose-gc --require .../gc-on-signal.cjs") into the processes whose
// memory the broadcast bench reads: on SIGUSR2, full garbage collections until the heap stops
// shrinking, then the process's memory (process.memoryUsage() and V8's heap spaces) written as
// JSON to $BENCH_GC_REPORT_DIR/<pid>.json, so that the bench can tell live memory from garbage
// not yet collected.
//
// Which collection matters. `gc({type: 'major'})` is a regular mark-compact, and it keeps garbage
// that V8 frees only in the collections it runs to save memory (when a process goes idle, or nears
// its heap limit): on the Shaddock frontend every request forwarded over NATS left about 1 KiB of
// it in the old space, which looked like a leak, still there after 14 such collections in a row.
// Left alone, the process frees it by itself (its old space drops back every few seconds of load
// and its RSS levels off). `gc()` with no argument, a forced full collection, frees it at once, so
// that is what runs here, on both sides of the bench, repeated (each in a later turn of the event
// loop, so that callbacks a collection leaves behind can run) while it still frees memory.
// (`flavor: 'last-resort'`, used before, is not an option Node 20's V8 knows: it was ignored.)
'use strict';
const { writeFileSync, renameSync } = require('node:fs');
const { join } = require('node:path');
const v8 = require('node:v8');

if (typeof globalThis.gc === 'function') {
  /** Rounds of collection at most, and the shrink (bytes) under which the heap counts as settled. */
  const ROUNDS = 4;
  const SETTLED = 64 * 1024;
  const settle = (resolve, round = 1, last = Infinity) => {
    globalThis.gc();
    const used = process.memoryUsage().heapUsed;
    if (round >= ROUNDS || last - used < SETTLED) return resolve();
    setTimeout(settle, 20, resolve, round + 1, used);
  };
  process.on('SIGUSR2', async () => {
    await new Promise((resolve) => settle(resolve));
    const dir = process.env.BENCH_GC_REPORT_DIR;
    if (!dir) return;
    const report = {
      at: Date.now(),
      memory: process.memoryUsage(),
      spaces: Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }])),
    };
    // BENCH_HEAP_SNAPSHOT_DIR=<dir>: also a heap snapshot there, to see what each connection holds.
    const snapshots = process.env.BENCH_HEAP_SNAPSHOT_DIR;
    if (snapshots) v8.writeHeapSnapshot(join(snapshots, `${process.pid}-${Date.now()}.heapsnapshot`));
    // BENCH_GC_VERBOSE=1: the heap spaces on stderr (used / size, MiB), to see where memory sits.
    if (process.env.BENCH_GC_VERBOSE) {
      const mib = (n) => (n / 1048576).toFixed(1);
      process.stderr.write(`gc-on-signal ${process.pid}: ${Object.entries(report.spaces).map(([name, s]) => `${name} ${mib(s.used)}/${mib(s.size)}`).join(', ')}\n`);
    }
    const file = join(dir, `${process.pid}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(report));
    renameSync(`${file}.tmp`, file);
  });
}
