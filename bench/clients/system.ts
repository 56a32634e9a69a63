// What the connector and broadcast benches read about processes (Linux /proc) and the machine:
// resident memory, CPU time, liveness, free loopback ports; and stopping processes by pid.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** VmRSS of `pid` in bytes, from /proc/<pid>/status. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

const TICKS_PER_SECOND = 100; // USER_HZ, 100 on every Linux this runs on

/** CPU seconds (user + system) `pid` has used so far, from /proc/<pid>/stat; NaN if it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state(0) ppid(1) ... utime(11) stime(12)
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/** CPU seconds the whole machine has been busy (all CPUs, everything but idle and iowait), from /proc/stat. */
export function machineBusySeconds(): number {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...
    const busy = fields.reduce((sum, value, i) => (i === 3 || i === 4 ? sum : sum + value), 0);
    return busy / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/**
 * CPU use of several processes over a stretch of work: call `stop()` at its end for % of one core
 * each, plus `other`: what the rest of the machine used meanwhile (other load skews a run).
 */
export function cpuMeter(pids: Record<string, number>): { stop(): Record<string, number>; readonly seconds: number } {
  const start = performance.now();
  let seconds = NaN;
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid)]));
  const machineBefore = machineBusySeconds();
  return {
    /** Wall-clock seconds between the start and `stop()`. */
    get seconds() {
      return seconds;
    },
    stop() {
      seconds = (performance.now() - start) / 1000;
      const usage: Record<string, number> = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, ((cpuSeconds(pid) - before[name]!) / seconds) * 100]));
      const machine = ((machineBusySeconds() - machineBefore) / seconds) * 100;
      usage.other = Math.max(0, machine - Object.values(usage).reduce((sum, value) => sum + (Number.isFinite(value) ? value : 0), 0));
      return usage;
    },
  };
}

/** "name 93%, other 41%": a cpuMeter result for a progress line. */
export function formatCpu(usage: Record<string, number>): string {
  return Object.entries(usage)
    .map(([name, percent]) => `${name} ${Number.isFinite(percent) ? Math.round(percent) : '?'}%`)
    .join(', ');
}

/** Alive and not a zombie (exited, not yet reaped by its parent: that counts as gone). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** Sends `signal` to `pid`, ignoring a process already gone. */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** SIGTERM to every pid, SIGKILL after `grace` ms to those still alive; resolves when all are gone. */
export async function stopPids(pids: readonly number[], grace = 5_000): Promise<void> {
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + grace;
  while (pids.some(alive) && Date.now() < deadline) await sleep(50);
  for (const pid of pids.filter(alive)) signal(pid, 'SIGKILL');
  const hardDeadline = Date.now() + grace;
  while (pids.some(alive) && Date.now() < hardDeadline) await sleep(50);
}

/** A TCP port free on 127.0.0.1 right now (the OS picks it; a race with other programs is possible but unlikely). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** "12.3 KiB" */
export function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}
