// Preloaded (`NODE_OPTIONS=--require .../loop-delay.cjs`) into every server process of the chat
// bench, Shaddock's and pinus's alike: the process's event-loop delay
// (perf_hooks.monitorEventLoopDelay, 1 ms resolution) since the last SIGUSR2. On each
// SIGUSR2 it writes <BENCH_LOOP_DELAY_DIR>/<pid>.json ({seq, count, mean, p50, p99, max}, ms) and
// starts a fresh histogram: the bench signals once as a measured run starts and once as it ends.
'use strict';
const dir = process.env.BENCH_LOOP_DELAY_DIR;
if (dir) {
  const { monitorEventLoopDelay } = require('node:perf_hooks');
  const { writeFileSync, renameSync } = require('node:fs');
  const { join } = require('node:path');
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  let seq = 0;
  const ms = (ns) => Math.round((ns / 1e6) * 100) / 100;
  process.on('SIGUSR2', () => {
    seq++;
    const stats = { seq, count: histogram.count, mean: ms(histogram.mean), p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max) };
    histogram.reset();
    const file = join(dir, `${process.pid}.json`);
    // Written whole, then renamed: the bench never reads half a file.
    writeFileSync(`${file}.tmp`, JSON.stringify(stats));
    renameSync(`${file}.tmp`, file);
  });
}
