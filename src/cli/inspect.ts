import type { Command } from 'commander';
import { watch, type Watch } from '../actors/inspect/watcher.ts';
import { decode, encode } from '../transport/codec.ts';
import { connectNats, type NatsConnection } from '../transport/nats.ts';
import { subjects as buildSubjects, type Subjects } from '../transport/subjects.ts';
import { checkMasterInfo } from '../transport/wire-check.ts';
import type { InspectBatch, InspectEvent, InspectSnapshot, MastersRequest } from '../transport/wire.ts';
import { CliError, resolveTarget, type TargetOptions } from './target.ts';

interface InspectOptions extends TargetOptions {
  json?: boolean;
  ttl: string;
  detail?: string;
}

/** One transition as `shaddock inspect` prints it: `13:02:11.480 master-server-1 supervisor chat-server-1 → backingOff (DOWN)`. */
export function formatEvent(server: string, event: InspectEvent): string {
  return `${new Date(event.at).toISOString().slice(11, 23)} ${server} ${event.machine} ${event.actor} → ${event.state} (${event.event})`;
}

/** One transition as `shaddock inspect --json` prints it: one JSON object per line. */
export function jsonEvent(server: string, event: InspectEvent): string {
  return JSON.stringify({ server, actor: event.actor, machine: event.machine, state: event.state, event: event.event, at: event.at });
}

/** Counts per state, one line per machine: `session: working 12, closed 1`. */
function formatCounts(counts: Record<string, Record<string, number>>): string[] {
  return Object.entries(counts).map(([machine, states]) => `${machine}: ${Object.entries(states).map(([state, n]) => `${state} ${n}`).join(', ') || 'none'}`);
}

/** The leading master's id, from every master's answer on `<base>.masters`. */
async function leadingMaster(nc: NatsConnection, subjects: Subjects): Promise<string> {
  const replies = await nc.requestMany(subjects.masters, encode({} satisfies MastersRequest), { strategy: 'stall', stall: 200, maxWait: 2_000 });
  const masters = [];
  for await (const reply of replies) {
    try {
      masters.push(checkMasterInfo(decode<unknown>(reply.data)));
    } catch {
      // Not a master's answer: the others still count.
    }
  }
  const leader = masters.find((master) => master.role === 'leading');
  if (leader) return leader.id;
  if (masters.length) throw new CliError(`no master leads now (${masters.map((m) => `${m.id}: ${m.state}`).join(', ')}); name one to inspect it`);
  throw new CliError(`no master answers on ${subjects.masters}`);
}

/**
 * Adds `inspect <serverId|master> [--json]` to the `shaddock` program: takes a lease on that
 * process's inspection events and prints each transition until Ctrl-C. `master` means the
 * leading master. The current state of each actor is printed first (in text; `--json` prints
 * transitions only); lost contact, a restarted process and dropped events are said on stderr.
 */
export function addInspectCommand(program: Command, common: (command: Command) => Command): void {
  common(program.command('inspect'))
    .description("stream a server's (or the leading master's) machine transitions, one line each, until Ctrl-C")
    .argument('<serverId>', 'a server id, a master id, or "master" for the leading master')
    .option('--json', 'one JSON object per line: server, actor, machine, state, event, at')
    .option('--ttl <ms>', 'lease length in ms (renewed every third of it; clamped to 1000-60000 by the server)', '3000')
    .option('--detail <actor>', 'also show this actor (a session id) in full, and its transitions')
    .action(async (id: string, options: InspectOptions) => {
      const ttlMs = Number(options.ttl);
      if (!Number.isInteger(ttlMs) || ttlMs <= 0) throw new CliError(`--ttl "${options.ttl}" is not a positive whole number of ms`);
      const target = await resolveTarget(options);
      const { master } = target.config;
      const subjects = buildSubjects(master.prefix, master.cluster);
      const nc = await connectNats({ ...master.nats, servers: target.nats }, 'shaddock-inspect');
      let handle: Watch | undefined;
      try {
        const serverId = id === 'master' ? await leadingMaster(nc, subjects) : id;
        const out = (line: string): void => void process.stdout.write(`${line}\n`);
        let dropped: number | undefined;
        let lost = false;
        const printBatch = (batch: InspectBatch): void => {
          for (const event of batch.events) out(options.json ? jsonEvent(batch.server, event) : formatEvent(batch.server, event));
          if (batch.counts && !options.json) for (const line of formatCounts(batch.counts)) out(`${new Date().toISOString().slice(11, 23)} ${batch.server} ${line}`);
          if (dropped !== undefined && batch.dropped > dropped) process.stderr.write(`${batch.server} dropped ${batch.dropped - dropped} event(s): its buffer was full\n`);
          dropped = batch.dropped;
        };
        const printSnapshot = (snapshot: InspectSnapshot): void => {
          if (options.json) return;
          const at = new Date(snapshot.at).toISOString().slice(11, 23);
          for (const actor of snapshot.actors) out(`${at} ${snapshot.server} ${actor.machine} ${actor.actor} = ${actor.state}`);
          for (const line of formatCounts(snapshot.counts)) out(`${at} ${snapshot.server} ${line}`);
          if (snapshot.detail) out(`${at} ${snapshot.server} ${snapshot.detail.machine} ${snapshot.detail.actor} = ${snapshot.detail.state} ${JSON.stringify(snapshot.detail.context)}`);
        };
        handle = await watch(nc, subjects, serverId, {
          ttlMs,
          ...(options.detail !== undefined ? { detail: options.detail } : {}),
          onSnapshot: (snapshot) => {
            if (!lost) return;
            lost = false;
            process.stderr.write(`watching ${serverId} again\n`);
            printSnapshot(snapshot);
          },
          onError: (error) => {
            if (lost) return;
            lost = true;
            process.stderr.write(`lost ${serverId}: ${error.message}; still trying\n`);
          },
        }, printBatch);
        process.stderr.write(`watching ${serverId} (lease ${ttlMs} ms); Ctrl-C to stop\n`);
        printSnapshot(handle.snapshot);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
      } catch (error) {
        if (error instanceof Error && error.name === 'WatchError') throw new CliError(error.message);
        throw error;
      } finally {
        await handle?.close();
        await nc.close();
      }
    });
}
