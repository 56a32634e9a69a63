// The chat bench's pinus 1.7.4 app (plain CommonJS JavaScript), set up as pinus's chatofpomelo
// example: a gate, 2 connectors (hybrid connector: WebSocket + TCP), 2 chat servers, rooms routed
// to chat servers by rid; built-in Promise, WARN logs, no protobuf. bench/chat.ts writes
// config/master.json, config/servers.json and config/log4js.json (free loopback ports) into a
// fresh directory that it passes as BENCH_PINUS_BASE (config, and app/: a link to ./app here),
// and starts the master with `node app.js env=bench` there; the master spawns the servers with
// this same file.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
require('reflect-metadata');
const { pinus } = require('pinus');
const { roomHash } = require('./app/room-hash.js');

const base = process.env.BENCH_PINUS_BASE;
if (!base) throw new Error('BENCH_PINUS_BASE is not set: run this app through bench/chat.ts');

// Every process (master and servers) leaves its pid where the bench looks for what to stop.
const id = (process.argv.find((arg) => arg.startsWith('id=')) || 'id=master').slice(3);
fs.mkdirSync(path.join(base, 'pids'), { recursive: true });
fs.writeFileSync(path.join(base, 'pids', `${id}.pid`), String(process.pid));

const app = pinus.createApp({ base });
app.set('name', 'pinus-chatofpomelo-bench');

app.configure('bench', 'connector|gate', () => {
  app.set('connectorConfig', {
    connector: pinus.connectors.hybridconnector,
    heartbeat: Number(process.env.BENCH_HEARTBEAT || 10),
    useDict: true,
    useProtobuf: false,
  });
});

// As chatofpomelo's dispatcher: every request and remote call about a room goes to the same chat server.
app.configure('bench', () => {
  app.route('chat', (session, msg, app, cb) => {
    const servers = app.getServersByType('chat');
    if (!servers || servers.length === 0) return cb(new Error('no chat server'));
    cb(null, servers[roomHash(String(session.get('rid'))) % servers.length].id);
  });
});

app.start();

process.on('uncaughtException', (error) => {
  console.error(`pinus ${id}: uncaught exception:`, error);
});
