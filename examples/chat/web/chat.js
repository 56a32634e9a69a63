// chatofpomelo's page flow on Shaddock's browser SDK: ask the gate for a connector, enter a room
// there, then chat. The gate's address comes from `?gate=host:port` (default: this page's host,
// port 3014).
import { createClient } from '/shaddock-client.js';

const $ = (id) => document.getElementById(id);
const gate = parseAddress(new URLSearchParams(location.search).get('gate') ?? `${location.hostname || '127.0.0.1'}:3014`);

let client;
let username = '';
let rid = '';

function parseAddress(text) {
  const match = /^\[?([^\]]*?)\]?:(\d+)$/.exec(text);
  if (!match) throw new Error(`bad gate address "${text}": expected host:port`);
  return { host: match[1], port: Number(match[2]) };
}

function setStatus(text) {
  $('status').textContent = text ? `(${text})` : '';
}

function addLine(parts, className) {
  const li = document.createElement('li');
  if (className) li.className = className;
  for (const [text, cls] of parts) {
    const span = document.createElement('span');
    if (cls) span.className = cls;
    span.textContent = text;
    li.append(span);
  }
  $('messages').append(li);
  li.scrollIntoView({ block: 'end' });
}

function addMessage(from, target, msg) {
  const who = target === '*' ? `${from}: ` : `${from} → ${target}: `;
  addLine([[who, 'from'], [msg, 'text']], 'message');
}

function renderUsers(users) {
  const list = $('users');
  const select = $('target');
  const chosen = select.value;
  list.replaceChildren();
  select.replaceChildren(new Option('everyone', '*'));
  for (const user of [...users].sort()) {
    const li = document.createElement('li');
    li.textContent = user;
    li.dataset.user = user;
    if (user === username) li.className = 'me';
    list.append(li);
    if (user !== username) select.append(new Option(user, user));
  }
  select.value = users.includes(chosen) ? chosen : '*';
}

function currentUsers() {
  return [...$('users').children].map((li) => li.dataset.user);
}

/** Asks the gate which connector serves this user: `{code: 200, host, port}`. */
async function queryEntry(uid) {
  const gateClient = createClient({ host: gate.host, port: gate.port });
  await gateClient.connect().catch((e) => {
    throw new Error(`Cannot reach the gate at ${gate.host}:${gate.port} (${e.message}).`);
  });
  try {
    return await gateClient.request('gate.gateHandler.queryEntry', { uid });
  } finally {
    await gateClient.disconnect();
  }
}

async function enter(event) {
  event.preventDefault();
  const name = $('username').value.trim();
  const room = $('room').value.trim();
  const error = $('login-error');
  error.textContent = '';
  if (!/^[\p{L}\p{N}_-]{1,32}$/u.test(name)) {
    error.textContent = 'A name is letters, digits, _ or - only.';
    return;
  }
  if (!room) {
    error.textContent = 'Choose a room.';
    return;
  }
  $('login-button').disabled = true;
  setStatus('connecting');
  try {
    const entry = await queryEntry(name);
    if (entry.code !== 200) throw new Error('There is no server to log in to, please wait.');
    client = createClient({ host: entry.host, port: entry.port });
    client.on('onChat', ({ msg, from, target }) => {
      // Our own private message is shown when sent (chatofpomelo); skip a server echo of it.
      if (from === username && target !== '*' && target !== username) return;
      addMessage(from, target, msg);
    });
    client.on('onAdd', ({ user }) => {
      renderUsers([...new Set([...currentUsers(), user])]);
      addLine([[`${user} joined`, '']], 'system');
    });
    client.on('onLeave', ({ user }) => {
      renderUsers(currentUsers().filter((u) => u !== user));
      addLine([[`${user} left`, '']], 'system');
    });
    client.on('kick', ({ reason }) => addLine([[`kicked: ${reason || 'no reason given'}`, '']], 'system'));
    client.on('disconnect', ({ reason }) => {
      if (reason !== 'client') setStatus(`disconnected: ${reason}`);
    });
    await client.connect();
    const reply = await client.request('connector.entryHandler.enter', { username: name, rid: room });
    if (reply.error || reply.code === 500) {
      await client.disconnect();
      throw new Error('That name is taken in this room, choose another.');
    }
    username = name;
    rid = room;
    $('room-name').textContent = room;
    $('me').textContent = name;
    renderUsers(reply.users);
    $('login').hidden = true;
    $('chat').hidden = false;
    setStatus('');
    $('message').focus();
  } catch (e) {
    error.textContent = e instanceof Error ? e.message : String(e);
    setStatus('');
  } finally {
    $('login-button').disabled = false;
  }
}

async function send(event) {
  event.preventDefault();
  const input = $('message');
  const content = input.value.trim();
  if (!content || !client) return;
  const target = $('target').value;
  $('chat-error').textContent = '';
  try {
    const reply = await client.request('chat.chatHandler.send', { rid, content, from: username, target });
    if (reply && reply.code === 500) throw new Error(reply.message ?? 'the message was not sent');
    // A room message comes back to everyone, us included; a private one only to its target.
    if (target !== '*' && target !== username) addMessage(username, target, content);
    input.value = '';
  } catch (e) {
    $('chat-error').textContent = e instanceof Error ? e.message : String(e);
  }
}

$('login').addEventListener('submit', enter);
$('composer').addEventListener('submit', send);
