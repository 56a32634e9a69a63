// Profiling a bench app's servers (bench/README.md): with BENCH_CPU_PROF_DIR=<dir>, each server
// process (not the master) writes <dir>/<server id>.cpuprofile when it exits. The master spawns
// the servers itself, and --cpu-prof is not allowed in NODE_OPTIONS, hence an inspector session.
import type { Application } from 'shaddock';

export async function profileOnExit(app: Application): Promise<void> {
  const profileDir = process.env.BENCH_CPU_PROF_DIR;
  if (!profileDir || app.getServerType() === 'master') return;
  const { Session } = await import('node:inspector');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  process.once('exit', () => {
    // An in-process inspector session answers synchronously, so this works in an exit handler.
    session.post('Profiler.stop', (error, result) => {
      if (!error) writeFileSync(`${profileDir}/${app.getServerId()}.cpuprofile`, JSON.stringify(result.profile));
    });
  });
}
