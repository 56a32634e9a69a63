// The connector bench's pinus 1.7.4 app (plain CommonJS JavaScript): one master, one `connector`
// frontend with the hybrid connector (WebSocket + TCP on its clientPort), one `chat` backend whose
// handler answers `chat.chatHandler.send`. bench/connector.ts writes config/master.json,
// config/servers.json and config/log4js.json, with free loopback ports, into a fresh directory
// that it passes as BENCH_PINUS_BASE (the servers' base: config and app/, a link to ./app here),
// and starts the master with `node app.js env=bench` in that directory; the master spawns the
// servers with this same file.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
// pinus's loader reads decorator metadata (its app template imports this in preload.ts; the
// template's other preload steps, bluebird with long stack traces, are left out: native promises).
require('reflect-metadata');
const { pinus } = require('pinus');

const base = process.env.BENCH_PINUS_BASE;
if (!base) throw new Error('BENCH_PINUS_BASE is not set: run this app through bench/connector.ts');

// Every process (master and servers) leaves its pid where the bench looks for what to stop.
const id = (process.argv.find((arg) => arg.startsWith('id=')) || 'id=master').slice(3);
fs.mkdirSync(path.join(base, 'pids'), { recursive: true });
fs.writeFileSync(path.join(base, 'pids', `${id}.pid`), String(process.pid));

const app = pinus.createApp({ base });
app.set('name', 'pinus-chat-bench');

app.configure('bench', 'connector', () => {
  app.set('connectorConfig', {
    connector: pinus.connectors.hybridconnector,
    heartbeat: Number(process.env.BENCH_HEARTBEAT || 10),
    useDict: true,
    useProtobuf: false,
  });
});

app.start();

process.on('uncaughtException', (error) => {
  console.error(`pinus ${id}: uncaught exception:`, error);
});
