/** What a daemonised master tells the CLI that started it, over the IPC channel. */
export type MasterNotice =
  | { type: 'shaddock:settled'; servers: { id: string; state: string }[] }
  | { type: 'shaddock:failed'; error: string }
  /** A master HA master that another master leads: it waits as a standby. */
  | { type: 'shaddock:standby'; masterId: string };

/** Tells the CLI that started this master, if one did and still listens. */
export function notify(notice: MasterNotice): void {
  // With a callback, a channel the CLI closed meanwhile is an error passed here, not an uncaught one.
  if (process.send && process.connected) process.send(notice, undefined, undefined, () => undefined);
}
