// The load client: a process of its own (forked by bench/connector.ts and bench/broadcast.ts with
// an IPC channel) holding many Pomelo WebSocket clients, driven by commands from its parent. One
// command at a time; each answers with one message. See bench/README.md.
//
//   connect      open `count` clients to `url` (`raw`: plain WebSocket, no Pomelo handshake)
//   each         every client sends one request (`body` with "$i" replaced by the client's index)
//   requestLoop  every client in a closed loop (request, await the response, next) for a warm-up
//                and then `seconds`; requests/s and latency percentiles of the measured window
//   blastLoop    client 0 triggers `pushes` pushes to every client, again and again for `seconds`
//                (the next trigger once every client got them all); deliveries/s
//   enterChat    the chat bench's way in: each of `count` clients asks the gate (`gateUrl`) for its
//                connector, connects there and enters room `room-<i / roomSize>` as `user-<i>`
//   close        close every client, then exit
import { performance } from 'node:perf_hooks';
import { PomeloClient, responseCode, utf8Decoder, utf8Encoder } from './pomelo.ts';

export type LoadCommand =
  | { cmd: 'connect'; url: string; count: number; raw?: boolean; concurrency?: number }
  | { cmd: 'each'; route: string; body: string; concurrency?: number }
  /** `body` may hold `$i` (the client's index) and `$name` (its chat name, after enterChat). */
  | { cmd: 'requestLoop'; route: string; body: string; warmupSeconds: number; seconds: number }
  | { cmd: 'enterChat'; gateUrl: string; count: number; roomSize: number; concurrency?: number }
  | { cmd: 'blastLoop'; trigger: { route: string; body: string } | { raw: string }; pushRoute: string; pushes: number; seconds: number; warmupBlasts: number }
  | { cmd: 'close' };

export interface CpuTime {
  /** CPU seconds this process used during the command (user + system). */
  cpuSeconds: number;
}
export type LoadReply =
  | { ok: false; error: string }
  | ({ ok: true; cmd: 'connect'; connected: number; ms: number; heartbeat: number | undefined } & CpuTime)
  | ({ ok: true; cmd: 'each'; done: number; ms: number } & CpuTime)
  | ({
      ok: true;
      cmd: 'requestLoop';
      responses: number;
      seconds: number;
      p50: number;
      p99: number;
      p999: number;
      max: number;
      failures: number;
      /** Pushes (any route) the clients received during the measured window. */
      pushes: number;
    } & CpuTime)
  | ({ ok: true; cmd: 'enterChat'; entered: number; ms: number; heartbeat: number | undefined } & CpuTime)
  | ({ ok: true; cmd: 'blastLoop'; deliveries: number; blasts: number; seconds: number; maxBlastMs: number } & CpuTime)
  | { ok: true; cmd: 'close' };

/** A stalled exchange (lost response, lost push) fails the command after this long. */
const STALL_TIMEOUT = 30_000;

let clients: PomeloClient[] = [];
/** Deliveries of the push route, all clients together (blastLoop). */
let deliveries = 0;
let pushRoute = '';
let badPushes = 0;
let onDelivery: (() => void) | undefined;
let unexpectedCloses = 0;
/** Every push received, whatever its route (the chat bench counts them all). */
let pushesReceived = 0;
/** The chat name of each client, by index (enterChat). */
let names: string[] = [];

function send(reply: LoadReply): void {
  process.send!(reply);
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
}

process.on('message', (message: LoadCommand) => {
  run(message).then(send, (error: unknown) => send({ ok: false, error: error instanceof Error ? error.message : String(error) }));
});
process.on('disconnect', () => process.exit(0));

async function run(command: LoadCommand): Promise<LoadReply> {
  switch (command.cmd) {
    case 'connect':
      return connectAll(command.url, command.count, command.raw ?? false, command.concurrency ?? 100);
    case 'each':
      return each(command.route, command.body, command.concurrency ?? 200);
    case 'requestLoop':
      return requestLoop(command.route, command.body, command.warmupSeconds, command.seconds);
    case 'enterChat':
      return enterChat(command.gateUrl, command.count, command.roomSize, command.concurrency ?? 50);
    case 'blastLoop':
      return blastLoop(command);
    case 'close':
      await Promise.all(clients.map((client) => client.closeAndWait()));
      clients = [];
      setImmediate(() => process.exit(0));
      return { ok: true, cmd: 'close' };
  }
}

/** Opens `count` clients, at most `concurrency` handshakes at a time. */
async function connectAll(url: string, count: number, raw: boolean, concurrency: number): Promise<LoadReply> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  let next = 0;
  const opened: PomeloClient[] = new Array<PomeloClient>(count);
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      opened[index] = await PomeloClient.open(url, { raw, onPush, onClose });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  clients = clients.concat(opened);
  return { ok: true, cmd: 'connect', connected: clients.length, ms: performance.now() - start, heartbeat: opened[0]?.handshake?.heartbeat, cpuSeconds: cpuSeconds(cpu) };
}

function onPush(route: string, body: Uint8Array): void {
  pushesReceived++;
  if (route === pushRoute && body.length > 0) deliveries++;
  else badPushes++;
  onDelivery?.();
}

function onClose(): void {
  unexpectedCloses++;
}

/**
 * chatofpomelo's way in, for `count` clients, at most `concurrency` at a time: ask the gate
 * (`gate.gateHandler.queryEntry` with the uid) for a connector, close, connect to the connector it
 * names, and enter room `room-<floor(i / roomSize)>` as `user-<i>` (`connector.entryHandler.enter`);
 * the answer must list the room's users, this one among them.
 */
async function enterChat(gateUrl: string, count: number, roomSize: number, concurrency: number): Promise<LoadReply> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const gateHost = new URL(gateUrl).hostname;
  let next = 0;
  const opened: PomeloClient[] = new Array<PomeloClient>(count);
  const entered: string[] = new Array<string>(count);
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      const username = `user-${index}`;
      const rid = `room-${Math.floor(index / roomSize)}`;
      const gate = await PomeloClient.open(gateUrl);
      const entry = await withTimeout(gate.call<{ code?: number; host?: string; port?: number }>('gate.gateHandler.queryEntry', { uid: username }), `queryEntry for ${username}`);
      await gate.closeAndWait();
      if (entry.code !== 200 || !entry.port) throw new Error(`gate answered ${JSON.stringify(entry)} for ${username}`);
      // The gate names the connector's client host; both clusters listen on loopback only.
      const host = entry.host === '0.0.0.0' || !entry.host ? gateHost : entry.host;
      const client = await PomeloClient.open(`ws://${host}:${entry.port}`, { onPush, onClose });
      const reply = await withTimeout(client.call<{ users?: string[]; code?: number }>('connector.entryHandler.enter', { username, rid }), `enter for ${username}`);
      if (!Array.isArray(reply.users) || !reply.users.includes(username)) throw new Error(`enter ${username} in ${rid} answered ${JSON.stringify(reply)}`);
      opened[index] = client;
      entered[index] = username;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  clients = clients.concat(opened);
  names = names.concat(entered);
  return { ok: true, cmd: 'enterChat', entered: count, ms: performance.now() - start, heartbeat: opened[0]?.handshake?.heartbeat, cpuSeconds: cpuSeconds(cpu) };
}

/** One request per client, `$i` in the body replaced by the client's index; every answer must be code 200. */
async function each(route: string, body: string, concurrency: number): Promise<LoadReply> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < clients.length) {
      const index = next++;
      const reply = await withTimeout(clients[index]!.call<{ code?: number }>(route, JSON.parse(body.replaceAll('$i', String(index)))), `${route} for client ${index}`);
      if (reply.code !== 200) throw new Error(`${route} for client ${index} answered ${JSON.stringify(reply)}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, clients.length) }, worker));
  return { ok: true, cmd: 'each', done: clients.length, ms: performance.now() - start, cpuSeconds: cpuSeconds(cpu) };
}

/**
 * Every client in a closed loop: request, wait for its response, send the next. Runs
 * `warmupSeconds` unmeasured, then `seconds` measured: responses that arrive in the measured
 * window count, and their latencies (send → response) make the percentiles. Then stops sending
 * and waits for the requests still out.
 */
function requestLoop(route: string, bodyTemplate: string, warmupSeconds: number, seconds: number): Promise<LoadReply> {
  // One body for all, unless it names the client: then one per client, encoded once.
  const perClient = bodyTemplate.includes('$i') || bodyTemplate.includes('$name');
  const shared = utf8Encoder.encode(bodyTemplate);
  const bodies = new Map<PomeloClient, Uint8Array>();
  if (perClient) {
    clients.forEach((client, index) => bodies.set(client, utf8Encoder.encode(bodyTemplate.replaceAll('$i', String(index)).replaceAll('$name', names[index] ?? `user-${index}`))));
  }
  return new Promise((resolve, reject) => {
    let pushesAtStart = 0;
    let pushesAtEnd = 0;
    const latencies: number[] = [];
    let phase: 'warmup' | 'measure' | 'drain' = 'warmup';
    let responses = 0;
    let failures = 0;
    let outstanding = 0;
    let measureStart = 0;
    let measureEnd = 0;
    let cpu = process.cpuUsage();
    let lastProgress = performance.now();
    let checked = 0;

    const finish = (): void => {
      clearInterval(watchdog);
      latencies.sort((a, b) => a - b);
      const at = (q: number): number => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! : NaN);
      resolve({
        ok: true,
        cmd: 'requestLoop',
        responses,
        seconds: (measureEnd - measureStart) / 1000,
        p50: at(0.5),
        p99: at(0.99),
        p999: at(0.999),
        max: latencies.length ? latencies[latencies.length - 1]! : NaN,
        failures,
        pushes: (pushesAtEnd || pushesReceived) - pushesAtStart,
        cpuSeconds: cpuSeconds(cpu),
      });
    };
    const loop = (client: PomeloClient): void => {
      const sentAt = performance.now();
      outstanding++;
      client.request(route, perClient ? bodies.get(client)! : shared, (response) => {
        const now = performance.now();
        outstanding--;
        lastProgress = now;
        // A sample of answers is parsed and checked (the same on every side); the rest are counted.
        if (response.length === 0 || ((checked++ & 63) === 0 && responseCode(response) !== 200)) {
          failures++;
          if (response.length === 0 || failures > 100) {
            phase = 'drain';
          }
        }
        if (phase === 'measure') {
          if (now <= measureEnd) {
            responses++;
            latencies.push(now - sentAt);
          }
        }
        if (phase !== 'drain' && client.isOpen) loop(client);
        else if (outstanding === 0) {
          if (failures > 0 && responses === 0) reject(new Error(`${route}: ${failures} failed responses (connection closed or code other than 200)`));
          else finish();
        }
      });
    };
    for (const client of clients) loop(client);
    setTimeout(() => {
      phase = 'measure';
      cpu = process.cpuUsage();
      measureStart = performance.now();
      measureEnd = measureStart + seconds * 1000;
      pushesAtStart = pushesReceived;
      setTimeout(() => {
        pushesAtEnd = pushesReceived;
        if (phase === 'measure') phase = 'drain';
      }, seconds * 1000);
    }, warmupSeconds * 1000);
    const watchdog = setInterval(() => {
      if (performance.now() - lastProgress > STALL_TIMEOUT) {
        clearInterval(watchdog);
        reject(new Error(`${route}: no response for ${STALL_TIMEOUT} ms (${outstanding} outstanding, ${unexpectedCloses} clients closed)`));
      }
    }, 1_000);
  });
}

/**
 * Client 0 triggers `pushes` pushes of `pushRoute` to every connected client; once every client
 * has them all (and, for a Pomelo trigger, the trigger's response is back), the next trigger goes.
 * `warmupBlasts` unmeasured blasts first, then blasts for `seconds`; deliveries/s over the blasts
 * that finished within the window (a blast started in the window is waited for and counted).
 */
function blastLoop(command: Extract<LoadCommand, { cmd: 'blastLoop' }>): Promise<LoadReply> {
  const { trigger, pushes, seconds, warmupBlasts } = command;
  pushRoute = command.pushRoute;
  const trigger0 = clients[0];
  if (!trigger0) return Promise.reject(new Error('blastLoop: no clients'));
  const perBlast = pushes * clients.length;
  const triggerBody = 'raw' in trigger ? utf8Encoder.encode(trigger.raw) : utf8Encoder.encode(trigger.body);
  return new Promise((resolve, reject) => {
    let blasts = 0;
    let measuredBlasts = 0;
    let measuredDeliveries = 0;
    let maxBlastMs = 0;
    let blastStart = 0;
    let target = 0;
    let responded = true;
    let measureStart = 0;
    let cpu = process.cpuUsage();
    let done = false;
    let timer: NodeJS.Timeout | undefined;

    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        done = true;
        onDelivery = undefined;
        reject(new Error(`blastLoop: stalled after ${deliveries - (target - perBlast)} of ${perBlast} deliveries of blast ${blasts + 1} (trigger answered: ${responded}, ${unexpectedCloses} clients closed, ${badPushes} other pushes)`));
      }, STALL_TIMEOUT);
    };
    const check = (): void => {
      if (done || deliveries < target || !responded) return;
      const ms = performance.now() - blastStart;
      blasts++;
      if (blasts === warmupBlasts) {
        measureStart = performance.now();
        cpu = process.cpuUsage();
      } else if (blasts > warmupBlasts) {
        measuredBlasts++;
        measuredDeliveries += perBlast;
        maxBlastMs = Math.max(maxBlastMs, ms);
        if (performance.now() - measureStart >= seconds * 1000) {
          done = true;
          clearTimeout(timer);
          onDelivery = undefined;
          resolve({
            ok: true,
            cmd: 'blastLoop',
            deliveries: measuredDeliveries,
            blasts: measuredBlasts,
            seconds: (performance.now() - measureStart) / 1000,
            maxBlastMs,
            cpuSeconds: cpuSeconds(cpu),
          });
          return;
        }
      }
      // Not from inside the socket's message handler: start the next blast on a fresh turn.
      setImmediate(blast);
    };
    const blast = (): void => {
      if (badPushes > 0) {
        done = true;
        clearTimeout(timer);
        reject(new Error(`blastLoop: ${badPushes} pushes on a route other than ${pushRoute}, or empty`));
        return;
      }
      blastStart = performance.now();
      target = deliveries + perBlast;
      arm();
      if ('raw' in trigger) {
        trigger0.sendRaw(triggerBody);
      } else {
        responded = false;
        trigger0.request(trigger.route, triggerBody, (response) => {
          const code = responseCode(response);
          if (code !== 200) {
            done = true;
            clearTimeout(timer);
            reject(new Error(`blastLoop: trigger ${trigger.route} answered ${utf8Decoder.decode(response) || '(connection closed)'}`));
            return;
          }
          responded = true;
          check();
        });
      }
    };
    onDelivery = check;
    if (warmupBlasts === 0) {
      measureStart = performance.now();
    }
    blast();
  });
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${STALL_TIMEOUT} ms`)), STALL_TIMEOUT);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
