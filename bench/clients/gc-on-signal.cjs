// Preloaded (NODE_OPTIONS="--expose-gc --require .../gc-on-signal.cjs") into the processes whose
// memory the broadcast bench reads: on SIGUSR2, a full garbage collection, then the process's
// memory (process.memoryUsage() and V8's heap spaces) written as JSON to
// $BENCH_GC_REPORT_DIR/<pid>.json, so that the bench can tell live memory from garbage not yet
// collected.
'use strict';
const { writeFileSync, renameSync } = require('node:fs');
const { join } = require('node:path');
const v8 = require('node:v8');

if (typeof globalThis.gc === 'function') {
  process.on('SIGUSR2', () => {
    // 'last-resort': V8's CollectAllAvailableGarbage, what it does under memory pressure
    // (several full collections, new space shrunk, free pages released).
    globalThis.gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
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
