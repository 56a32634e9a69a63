import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, Option } from 'commander';
import { ConfigError, loadConfig } from '../config/index.ts';
import { readStandbys } from '../config/master-ha.ts';
import type { AdminCommand, AdminReply, AdminRequest, AdminResults } from '../transport/wire.ts';
import type { MasterNotice } from '../actors/master/notice.ts';
import { readRunFile } from '../actors/master/run-file.ts';
import { isAlive } from '../actors/runtime/watch.ts';
import { decode, encode } from '../transport/codec.ts';
import { connectNats } from '../transport/nats.ts';
import { subjects } from '../transport/subjects.ts';
import { CliError, resolveTarget, type Target, type TargetOptions } from './target.ts';
import { formatList } from './table.ts';
import { addMachinesCommand } from './machines.ts';
import { addInspectCommand } from './inspect.ts';
import { consoleSignIn } from './console.ts';
import { addInitCommand } from './init.ts';

interface CommonOptions {
  dir: string;
  env: string;
  nats?: string;
  token?: string;
}

const program = new Command('shaddock')
  .description('Start, inspect and stop a Shaddock cluster')
  .showHelpAfterError()
  .configureOutput({ outputError: (text, write) => write(text) });

function common(command: Command): Command {
  return command
    .option('-d, --dir <dir>', 'application directory (holds config/)', process.cwd())
    .option('-e, --env <env>', 'environment key in the config files', process.env.SHADDOCK_ENV ?? 'development')
    .option('--nats <url>', 'NATS URL (overrides config/master.json and SHADDOCK_NATS_URL)')
    .option('--token <token>', 'admin token (overrides config/master.json and SHADDOCK_ADMIN_TOKEN)');
}

common(program.command('start'))
  .description('start the master and every server (or one server with -i)')
  .option('-D, --daemon', 'run in the background; return once every server has started')
  .option('-t, --type <serverType>', 'with -i: the type of the server to start')
  .option('-i, --id <serverId>', 'start only this server, joining the running cluster')
  .option('--zk <hosts>', "with masterHA: the ZooKeeper ensemble, host:port[,host:port…] (overrides masterHAConfig's server and SHADDOCK_ZK)")
  .option('--master <masterId>', 'with masterHA: run as this master of config/masterha.json (a standby, until elected)')
  .option('--redis <url>', "with globalChannel: the Redis of global channels, redis://host:port[/db] (overrides globalChannelConfig and SHADDOCK_REDIS_URL)")
  // How `-D` starts the detached master: it logs to this file, and so do its servers.
  .addOption(new Option('--daemon-log <file>').hideHelp())
  .action(async (options: StartOptions & { type?: string; id?: string; daemonLog?: string }) => {
    const dir = resolve(options.dir);
    if (options.type && !options.id) throw new CliError('-t/--type needs -i/--id: name the server to start');
    if (options.master && options.id) throw new CliError('--master starts a master; -i starts a server: give one of them');
    if (options.daemon) return startDaemon(dir, options);
    if (options.daemonLog) {
      daemonised = true;
      process.env.SHADDOCK_LOG_FILE = resolve(options.daemonLog);
    }
    process.env.SHADDOCK_DIR = dir;
    process.env.SHADDOCK_ENV = options.env;
    if (options.nats) process.env.SHADDOCK_NATS_URL = options.nats;
    if (options.zk) process.env.SHADDOCK_ZK = options.zk;
    if (options.redis) process.env.SHADDOCK_REDIS_URL = options.redis;
    if (options.master) process.env.SHADDOCK_MASTER_ID = options.master;
    if (options.id) {
      process.env.SHADDOCK_SERVER_ID = options.id;
      if (options.type) process.env.SHADDOCK_SERVER_TYPE = options.type;
      // A single server joins the cluster that is running: use its NATS when none is configured
      // (an embedded broker, or one given to the master with --nats). master.json's own `nats`
      // wins, with its credentials: the run file's URLs would replace it entirely.
      const run = readRunFile(dir, options.env);
      if (!process.env.SHADDOCK_NATS_URL && run && (await loadConfig({ dir, env: options.env })).master.nats === undefined) {
        process.env.SHADDOCK_NATS_URL = run.nats.join(',');
      }
      // Likewise the master's embedded Redis of global channels, if it started one.
      if (!process.env.SHADDOCK_REDIS_URL && run?.embeddedRedis) process.env.SHADDOCK_REDIS_URL = run.embeddedRedis;
    } else if (!options.master) {
      const run = readRunFile(dir, options.env);
      if (run && isAlive(run.masterPid)) {
        throw new CliError(`a master is already running for ${dir} [${options.env}] (pid ${run.masterPid}); stop it first`);
      }
    }
    const entry = entryOf(dir);
    // The compiled CLI has no TypeScript loader: an app in TypeScript gets tsx here (and its
    // servers at spawn); an app in JavaScript runs on plain node. From the sources, bin/shaddock.js
    // has registered tsx already.
    if (/\.(ts|mts|cts)$/.test(entry) && import.meta.url.endsWith('.js')) (await import('tsx/esm/api')).register();
    await import(pathToFileURL(entry).href);
  });

common(program.command('list'))
  .description('one row per server: id, type, pid, state, host, clientPort, restarts, lastExit, uptime, rss, cpu, dropped')
  .option('--json', 'print a JSON array')
  .action(async (options: CommonOptions & { json?: boolean }) => {
    const rows = await admin(options, { command: 'list' });
    if (options.json) console.log(JSON.stringify(rows, null, 2));
    else console.log(formatList(rows));
  });

common(program.command('stop'))
  .description('stop the whole cluster gracefully, or only the named servers')
  .argument('[ids...]', 'server ids; none means every server and the master')
  .action(async (ids: string[], options: CommonOptions) => {
    const result = await admin(options, { command: 'stop', ids }, 120_000);
    if (result.masterPid !== undefined) await waitForExit(result.masterPid, 30_000);
    console.log(`stopped: ${result.stopped.join(', ') || 'nothing'}${result.masterPid !== undefined ? ' and the master' : ''}`);
  });

common(program.command('kill'))
  .description('kill every server process at once, then the master')
  .action(async (options: CommonOptions) => {
    const result = await admin(options, { command: 'kill' });
    await waitForExit(result.masterPid, 30_000);
    console.log(`killed ${result.killed.length} server process(es) and the master`);
  });

common(program.command('restart'))
  .description('restart servers by hand: graceful stop, then a fresh start (restart limits reset)')
  .argument('<ids...>', 'server ids')
  .action(async (ids: string[], options: CommonOptions) => {
    const result = await admin(options, { command: 'restart', ids }, 120_000);
    console.log(`restarted: ${result.restarted.join(', ')}`);
  });

common(program.command('add'))
  .description('start one more server at runtime: add id=chat-server-3 serverType=chat [key=value ...]')
  .argument('<fields...>', 'key=value pairs of a servers.json entry, plus serverType')
  .action(async (fields: string[], options: CommonOptions) => {
    const server: Record<string, unknown> = {};
    for (const field of fields) {
      const at = field.indexOf('=');
      if (at <= 0) throw new CliError(`"${field}" is not key=value`);
      server[field.slice(0, at)] = parseValue(field.slice(at + 1));
    }
    const result = await admin(options, { command: 'add', server });
    console.log(`added ${result.added}`);
  });

addMachinesCommand(program);
addInspectCommand(program, common);

common(program.command('console'))
  .description("print the web console's address with the admin token: opening it signs the browser in")
  .action(async (options: CommonOptions) => console.log(await consoleSignIn(options)));

addInitCommand(program);

program.addOption(new Option('--verbose', 'print stack traces').hideHelp());

/** Set in the master that `start -D` runs detached: it has no terminal, only its log file. */
let daemonised = false;

/** Sends one admin request to the leading master and returns its result, or throws its error. */
async function admin<K extends AdminCommand['command']>(options: TargetOptions, command: AdminCommand & { command: K }, timeout = 10_000): Promise<AdminResults[K]> {
  const target: Target = await resolveTarget(options);
  const { master } = target.config;
  const nc = await connectNats({ ...master.nats, servers: target.nats }, 'shaddock-cli');
  try {
    const subject = subjects(master.prefix, master.cluster).admin;
    let reply: AdminReply<AdminResults[K]>;
    try {
      const msg = await nc.request(subject, encode({ ...command, token: target.token } satisfies AdminRequest), { timeout });
      reply = decode<AdminReply<AdminResults[K]>>(msg.data);
    } catch (error) {
      const text = String((error as { cause?: unknown }).cause ?? error);
      if (/no responders/i.test(text)) throw new CliError(`no master is running for ${target.config.dir} [${target.config.env}] (nobody answers on ${subject})`);
      if (/timeout/i.test(text)) throw new CliError(`the master did not answer "${command.command}" within ${timeout} ms`);
      throw error;
    }
    if (!reply.ok) throw new CliError(reply.error);
    return reply.result;
  } finally {
    await nc.close();
  }
}

interface StartOptions extends CommonOptions {
  daemon?: boolean;
  zk?: string;
  master?: string;
  redis?: string;
}

common(program.command('masterha'))
  .description('with masterHA: start every standby master of config/masterha.json in the background')
  .option('--zk <hosts>', "the ZooKeeper ensemble, host:port[,host:port…] (overrides masterHAConfig's server and SHADDOCK_ZK)")
  .action(async (options: StartOptions) => {
    const dir = resolve(options.dir);
    const config = await loadConfig({ dir, env: options.env, ...(options.nats ? { natsUrl: options.nats } : {}) });
    const standbys = readStandbys(dir, options.env, config.master);
    if (standbys.length === 0) throw new CliError(`no standby master for ${dir} [${options.env}]: list them in config/masterha.json as { "${options.env}": [{ "id", "host", "port" }] }`);
    for (const standby of standbys) await startDaemon(dir, { ...options, master: standby.id });
  });

async function startDaemon(dir: string, options: StartOptions): Promise<void> {
  // A bad config is reported here, precisely, rather than as "see the log".
  await loadConfig({ dir, env: options.env, ...(options.nats ? { natsUrl: options.nats } : {}) });
  const run = readRunFile(dir, options.env);
  // A standby (--master) joins the election next to the running leader.
  if (!options.master && run && isAlive(run.masterPid)) {
    throw new CliError(`a master is already running for ${dir} [${options.env}] (pid ${run.masterPid}); stop it first`);
  }
  const logs = join(dir, 'logs');
  mkdirSync(logs, { recursive: true });
  const logFile = join(logs, `shaddock-${options.env}.log`);
  // The JSON log is written by each process through its logger (and reopened on SIGHUP). What
  // bypasses the logger (a fatal V8 error, an app's console.log) goes to the processes' stdout
  // and stderr: this file, so that the log holds JSON lines only.
  const outFile = join(logs, `shaddock-${options.env}.out`);
  const out = openSync(outFile, 'a');
  const args = [
    process.argv[1] ?? 'shaddock',
    'start',
    '-d',
    dir,
    '-e',
    options.env,
    '--daemon-log',
    logFile,
    ...(options.nats ? ['--nats', options.nats] : []),
    ...(options.zk ? ['--zk', options.zk] : []),
    ...(options.redis ? ['--redis', options.redis] : []),
    ...(options.master ? ['--master', options.master] : []),
  ];
  // Node's warnings reach the log through the logger ('warning' events), not printed as text.
  const env = { ...process.env, NODE_NO_WARNINGS: '1' };
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', out, out, 'ipc'], env });
  const exited = new Promise<{ type: 'exit'; code: number | null }>((resolve) => child.once('exit', (code) => resolve({ type: 'exit', code })));
  const notice = await Promise.race([exited, new Promise<MasterNotice>((resolveNotice) => child.on('message', (message: MasterNotice) => resolveNotice(message)))]);
  if (child.connected) child.disconnect();
  if (notice.type === 'exit') throw new CliError(`the master exited with code ${notice.code} before it started; see ${logFile} and ${outFile}`);
  if (notice.type === 'shaddock:failed') {
    // A failed master is on its way out: "failed" is said once no process of it is left.
    if (child.pid !== undefined) await waitForExit(child.pid, 10_000);
    throw new CliError(`the master failed: ${notice.error}; see ${logFile}`);
  }
  child.unref();
  if (notice.type === 'shaddock:standby') {
    console.log(`master ${notice.masterId} pid ${child.pid}: standby, another master leads (log: ${logFile})`);
    return;
  }
  const down = notice.servers.filter((server) => server.state !== 'connected');
  console.log(`master pid ${child.pid}: ${notice.servers.length - down.length}/${notice.servers.length} servers connected (log: ${logFile})`);
  if (down.length) throw new CliError(`not connected: ${down.map((s) => `${s.id} (${s.state})`).join(', ')}`);
}

function entryOf(dir: string): string {
  for (const name of ['app.ts', 'app.mts', 'app.js', 'app.mjs']) {
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  throw new CliError(`no app entry in ${dir}: expected app.ts or app.js`);
}

function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The master replies before it has finished exiting; wait for the pid so "stopped" means stopped. */
async function waitForExit(pid: number, timeout: number): Promise<void> {
  const deadline = Date.now() + timeout;
  while (isAlive(pid)) {
    if (Date.now() > deadline) throw new CliError(`the master (pid ${pid}) is still running after ${timeout} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  const known = error instanceof CliError || error instanceof ConfigError;
  // A detached master says it in its log, as JSON, unless it was logged where it happened.
  if (daemonised) {
    // Loaded here: the other commands have no use for pino.
    const [{ isReported }, { createLogger }] = await Promise.all([import('../actors/runtime/process-guard.ts'), import('../logger.ts')]);
    if (!isReported(error)) createLogger('master').error({ err: error }, `shaddock: ${message}`);
  } else {
    console.error(`shaddock: ${!known && error instanceof Error && process.argv.includes('--verbose') ? error.stack : message}`);
  }
  // A daemonised master tells the CLI that started it why it could not start.
  // The master may have said so already, and the CLI gone: a failed send is passed to the callback, not thrown.
  if (process.send && process.connected) process.send({ type: 'shaddock:failed', error: message } satisfies MasterNotice, undefined, undefined, () => undefined);
  process.exitCode = 1;
}
