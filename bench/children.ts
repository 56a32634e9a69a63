import type { ChildProcess } from 'node:child_process';

/** ms a bench's child process gets after SIGTERM before SIGKILL. */
export const STOP_GRACE = 5_000;

/** SIGTERM, then SIGKILL after STOP_GRACE; resolves when the child has exited. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE);
  await exited;
  clearTimeout(timer);
}
