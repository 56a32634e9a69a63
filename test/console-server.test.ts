// The console's HTTP server without a browser or a cluster: the route table, the token (401, the
// sign-in redirect and its cookie, Bearer), the address from master.json or SHADDOCK_CONSOLE_PORT,
// and the leading master's console opening and closing its port.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, describe, test } from 'node:test';
import { consoleAddress } from '../src/config/console.ts';
import { ConsoleServer } from '../src/actors/master/console/http-server.ts';
import { MasterConsole } from '../src/actors/master/console/master-console.ts';
import { RouteTable } from '../src/actors/master/console/routes.ts';
import { createLogger } from '../src/logger.ts';
import { systemClock } from '../src/clock.ts';

const logger = createLogger('console-test');
logger.level = 'silent';
const TOKEN = 'the-admin-token';

describe('consoleAddress', () => {
  test("master.json's host and port; none without a port", () => {
    assert.deepEqual(consoleAddress({ host: '127.0.0.1', port: 3005 }, {}), { host: '127.0.0.1', port: 3005 });
    assert.equal(consoleAddress({ host: '127.0.0.1' }, {}), undefined);
  });

  test('SHADDOCK_CONSOLE_PORT overrides the port (0: any free one) and is checked', () => {
    assert.deepEqual(consoleAddress({ host: '10.1.2.3', port: 3005 }, { SHADDOCK_CONSOLE_PORT: '0' }), { host: '10.1.2.3', port: 0 });
    assert.deepEqual(consoleAddress({ host: '127.0.0.1' }, { SHADDOCK_CONSOLE_PORT: '4000' }), { host: '127.0.0.1', port: 4000 });
    for (const bad of ['abc', '-1', '70000', '3.5', '80x']) {
      assert.throws(() => consoleAddress({ host: '127.0.0.1', port: 3005 }, { SHADDOCK_CONSOLE_PORT: bad }), new RegExp(`SHADDOCK_CONSOLE_PORT: expected an integer port.*got "${bad.replace('.', '\\.')}"`));
    }
  });
});

describe('RouteTable', () => {
  test('exact paths, no duplicates, paths start with /', () => {
    const routes = new RouteTable().add('/a', () => undefined);
    assert.deepEqual(routes.find('/a')?.methods, ['GET', 'HEAD']);
    assert.equal(routes.find('/a')?.auth, 'token');
    assert.equal(routes.find('/a/b'), undefined);
    assert.throws(() => routes.add('/a', () => undefined), /"\/a" is already taken/);
    assert.throws(() => routes.add('metrics', () => undefined), /must start with "\/"/);
    routes.add('/metrics', () => undefined, { auth: 'none', methods: ['get'] });
    assert.deepEqual(routes.paths(), ['/a', '/metrics']);
    assert.deepEqual(routes.find('/metrics')?.methods, ['GET']);
  });
});

describe('ConsoleServer', () => {
  const routes = new RouteTable()
    .add('/', ({ res, url }) => res.end(`page ${url.search}`))
    .add('/open', ({ res }) => res.end('open'), { auth: 'none' })
    .add('/boom', () => {
      throw new Error('it broke');
    });
  const server = new ConsoleServer({ host: '127.0.0.1', port: 0, token: TOKEN, routes, logger });
  after(() => server.stop());

  const get = async (path: string, init: RequestInit = {}): Promise<Response> => {
    if (!server.url) await server.start();
    return fetch(new URL(path, server.url), { redirect: 'manual', ...init });
  };

  test('no credential, or a wrong one: 401, the sign-in form for a browser', async () => {
    const plain = await get('/');
    assert.equal(plain.status, 401);
    assert.match(plain.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.match(await plain.text(), /admin token/);
    const browser = await get('/', { headers: { accept: 'text/html' } });
    assert.equal(browser.status, 401);
    assert.match(await browser.text(), /<form id="sign-in"/);
    const wrong = await get('/?token=nope', { headers: { accept: 'text/html' } });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('set-cookie'), null);
    assert.match(await wrong.text(), /id="sign-in-problem"/);
    assert.equal((await get('/', { headers: { authorization: 'Bearer nope' } })).status, 401);
    assert.equal((await get('/', { headers: { cookie: 'shaddock_console=nope' } })).status, 401);
  });

  test('?token= signs in: 303 to the same address without it, with an HttpOnly cookie that is not the token', async () => {
    const signIn = await get(`/?token=${TOKEN}&tab=2`);
    assert.equal(signIn.status, 303);
    assert.equal(signIn.headers.get('location'), '/?tab=2');
    const cookie = signIn.headers.get('set-cookie') ?? '';
    assert.match(cookie, /^shaddock_console=[0-9a-f]{64}; HttpOnly; SameSite=Strict; Path=\//);
    assert.ok(!cookie.includes(TOKEN));
    const page = await get('/?tab=2', { headers: { cookie: cookie.split(';')[0]! } });
    assert.equal(page.status, 200);
    assert.equal(await page.text(), 'page ?tab=2');
    assert.equal(page.headers.get('cache-control'), 'no-store');
  });

  test('Bearer token, open routes, 404, 405 and a failing handler', async () => {
    assert.equal(await (await get('/', { headers: { authorization: `Bearer ${TOKEN}` } })).text(), 'page ');
    assert.equal(await (await get('/open')).text(), 'open');
    const missing = await get('/nothing-here');
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /no such page: \/nothing-here/);
    const post = await get('/open', { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    const boom = await get('/boom', { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(boom.status, 500);
    assert.match(await boom.text(), /it broke/);
  });
});

describe('MasterConsole', () => {
  const options = { logger, clock: systemClock, rows: async () => [], masterId: 'master-1' };

  test('serves while leading, closes its port on release, serves again on the next lead', async () => {
    const webConsole = new MasterConsole({ host: '127.0.0.1', port: 0 }, options);
    const url = await webConsole.lead(TOKEN);
    assert.ok(url);
    assert.equal(webConsole.url, url);
    assert.equal(await webConsole.lead(TOKEN), url, 'a second lead while serving changes nothing');
    const machines = await fetch(new URL('/api/machines', url), { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(machines.status, 200);
    const names = ((await machines.json()) as { name: string }[]).map((machine) => machine.name);
    assert.ok(names.includes('supervisor') && names.includes('server') && names.includes('lifecycle'), names.join(', '));
    const elk = await fetch(new URL('/elk.js', url), { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(elk.status, 200);
    assert.match(await elk.text(), /ELK/);
    await webConsole.release();
    assert.equal(webConsole.url, undefined);
    await assert.rejects(fetch(url), /fetch failed/);
    const again = await webConsole.lead(TOKEN);
    assert.ok(again);
    // Released and led again at once (suspended, then resumed): the new server waits for the old port.
    const fixed = new URL(again).port;
    const sameAddress = new MasterConsole({ host: '127.0.0.1', port: Number(fixed) }, options);
    await webConsole.release();
    assert.equal(await sameAddress.lead(TOKEN), again);
    void sameAddress.release();
    assert.equal(await sameAddress.lead(TOKEN), again);
    await sameAddress.release();
  });

  test('a taken port: no console, the lead resolves undefined (the master runs on)', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      const webConsole = new MasterConsole({ host: '127.0.0.1', port }, options);
      assert.equal(await webConsole.lead(TOKEN), undefined);
      assert.equal(webConsole.url, undefined);
      await webConsole.release();
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  test('no port configured: no console', async () => {
    const webConsole = new MasterConsole(undefined, options);
    assert.equal(await webConsole.lead(TOKEN), undefined);
    assert.ok(webConsole.routes.find('/'), 'routes are mounted all the same (others may add theirs)');
  });
});
