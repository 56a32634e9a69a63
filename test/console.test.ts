// The web console in a real browser (Debian's chromium, driven by playwright-core), served by the
// leading master of the example chat cluster: the admin token guards it (401 without), `?token=`
// signs in, every server is on the page, and a chat server killed with SIGKILL is seen leaving
// `connected` and coming back, its supervisor's statechart following. Takes the screenshot that
// docs/inspect.md shows: into docs/images/console.png with SHADDOCK_UPDATE_SCREENSHOT=1, otherwise
// into a temporary file (checked to be a PNG either way), so a test run leaves the tree clean.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { readRunFile } from '../src/actors/master/run-file.ts';
import { PinusClient } from './harness/pinus-client.ts';
import { eventually, isAlive, launchChromium, repoRoot, runCli, startCluster, startNats, type RunningService, type TestCluster } from './harness/index.ts';

const chatDir = join(repoRoot, 'examples/chat');
const updateDocs = process.env.SHADDOCK_UPDATE_SCREENSHOT === '1';
const screenshot = updateDocs ? join(repoRoot, 'docs/images/console.png') : join(mkdtempSync(join(tmpdir(), 'shaddock-console-')), 'console.png');
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('the web console in chromium', () => {
  let nats: RunningService | undefined;
  let cluster: TestCluster | undefined;
  let browser: Browser | undefined;
  let consoleUrl = '';
  let token = '';
  const pageErrors: string[] = [];

  before(async () => {
    // The chat page must not take (or fail on) its default port either.
    process.env.SHADDOCK_WEB_PORT = '0';
    nats = await startNats();
    // startCluster puts the console on a free port (SHADDOCK_CONSOLE_PORT=0); the run file says which.
    cluster = await startCluster(chatDir, 'test', nats.url);
    const run = await eventually(async () => {
      const file = readRunFile(chatDir, 'test');
      return file?.console ? file : undefined;
    }, 'the run file to name the console');
    consoleUrl = run.console!;
    token = run.adminToken;
    assert.match(consoleUrl, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    if (cluster) await runCli(['stop', ...cluster.args]);
    await cluster?.destroy();
    await nats?.stop();
    if (!updateDocs) rmSync(dirname(screenshot), { recursive: true, force: true });
  });

  async function open(context?: BrowserContext): Promise<{ page: Page; context: BrowserContext }> {
    const ctx = context ?? (await browser!.newContext({ viewport: { width: 1500, height: 1100 } }));
    const page = await ctx.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    return { page, context: ctx };
  }

  const errors = (): string => (pageErrors.length ? ` (page errors: ${pageErrors.join('; ')})` : '');

  test('no token, or a wrong one: 401 for the page, the API and the streams; the page asks for the token', async () => {
    for (const path of ['', 'api/cluster', 'events/cluster', 'console.js', 'elk.js']) {
      const response = await fetch(`${consoleUrl}${path}`, { redirect: 'manual' });
      assert.equal(response.status, 401, `/${path} without a token`);
      await response.body?.cancel();
    }
    const wrong = await fetch(`${consoleUrl}?token=not-the-token`, { redirect: 'manual' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('set-cookie'), null);
    const bearer = await fetch(`${consoleUrl}api/cluster`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(bearer.status, 200);
    const view = (await bearer.json()) as { rows: { id: string }[] };
    assert.ok(view.rows.some((row) => row.id === 'chat-server-1'));

    const { page, context } = await open();
    const response = await page.goto(consoleUrl);
    assert.equal(response?.status(), 401);
    await page.locator('#sign-in input[name="token"]').waitFor();
    assert.equal(await page.locator('#servers').count(), 0, 'no cluster data without the token');
    // Signing in through the form: a wrong token is refused, with the form again.
    await page.fill('#token', 'nope');
    await Promise.all([page.waitForURL(/token=nope/), page.click('#sign-in button')]);
    await page.locator('#sign-in-problem').waitFor();
    await context.close();
  });

  test('?token= (the address `shaddock console` prints) signs in: HttpOnly cookie, redirect without the token; every server is on the page', async () => {
    const printed = await runCli(['console', ...cluster!.args]);
    assert.equal(printed.code, 0, printed.stderr);
    assert.equal(printed.stdout.trim(), `${consoleUrl}?token=${encodeURIComponent(token)}`);
    const { page, context } = await open();
    const response = await page.goto(printed.stdout.trim());
    assert.equal(response?.status(), 200);
    assert.equal(page.url(), consoleUrl, 'redirected to the address without the token');
    const cookies = await context.cookies(consoleUrl);
    assert.equal(cookies.length, 1);
    assert.equal(cookies[0]!.httpOnly, true);
    assert.notEqual(cookies[0]!.value, token, 'the cookie is not the admin token itself');

    const rows = await cluster!.list();
    for (const row of rows) {
      const element = page.locator(`[data-server-id="${row.id}"]`);
      await element.waitFor({ timeout: 10_000 }).catch((error: Error) => assert.fail(`${row.id} is not on the page: ${error.message}${errors()}`));
      if (row.serverType !== 'master') {
        await page.locator(`#servers [data-server-id="${row.id}"][data-state="connected"]`).waitFor({ timeout: 10_000 });
        assert.equal(await element.locator('td').nth(3).textContent(), String(row.pid), `${row.id}'s pid`);
      }
    }
    const leader = page.locator('#masters tr[data-role="leading"]');
    assert.equal(await leader.getAttribute('data-server-id'), 'master-server-1');
    assert.equal(await page.locator('#servers tr[data-server-id]').count(), rows.filter((row) => row.serverType !== 'master').length);
    await context.close();
  });

  test('kill -9 a chat server: its data-state leaves connected and comes back, its supervisor chart follows', async () => {
    const { page, context } = await open();
    await page.goto(`${consoleUrl}?token=${encodeURIComponent(token)}#server=chat-server-1`);
    const row = page.locator('#servers tr[data-server-id="chat-server-1"]');
    await page.locator('#servers tr[data-server-id="chat-server-1"][data-state="connected"]').waitFor({ timeout: 10_000 });
    const before = Number(await row.locator('td').nth(3).textContent());
    assert.ok(before > 0 && isAlive(before));
    // The charts of the chosen server, drawn from the definitions, current states highlighted.
    const supervisor = page.locator('.chart[data-view="master"][data-machine="supervisor"]');
    await supervisor.locator('.node.active[data-state-id="watching.up"]').waitFor({ timeout: 15_000 }).catch((error: Error) => assert.fail(`no supervisor chart: ${error.message}${errors()}`));
    await page.locator('.chart[data-view="master"][data-machine="server"] .node.active[data-state-id="live.connected"]').waitFor({ timeout: 5_000 });
    // The process's own lifecycle, from the inspection protocol.
    const lifecycle = page.locator('.chart[data-view="process"][data-machine="lifecycle"]');
    await lifecycle.locator('.node.active[data-state-id="running"]').waitFor({ timeout: 15_000 }).catch((error: Error) => assert.fail(`no lifecycle chart: ${error.message}${errors()}`));

    // Every value the row's data-state takes from now on, recorded in the page as it changes.
    await row.evaluate((element) => {
      const seen: string[] = [];
      (window as unknown as { seen: string[] }).seen = seen;
      new MutationObserver(() => seen.push(element.getAttribute('data-state') ?? '')).observe(element, { attributes: true, attributeFilter: ['data-state'] });
    });
    process.kill(before, 'SIGKILL');

    await page.waitForFunction(() => (window as unknown as { seen: string[] }).seen.some((state) => state !== 'connected'), undefined, { timeout: 15_000 });
    await page.locator('#servers tr[data-server-id="chat-server-1"][data-state="connected"]').waitFor({ timeout: 30_000 });
    const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
    assert.ok(seen.includes('crashed') || seen.includes('restarting'), `went through crashed or restarting: ${seen.join(' → ')}`);
    assert.equal(seen.at(-1), 'connected');
    await eventually(async () => {
      const after = Number(await row.locator('td').nth(3).textContent());
      return after !== before && after > 0 ? after : undefined;
    }, 'the new pid on the page');
    assert.equal(await row.locator('td').nth(5).textContent(), '1', 'one restart');

    // The supervisor went through backing off and is watching again; the list says so.
    await page.locator('#transitions li[data-machine="supervisor"][data-state="backingOff"]').waitFor({ timeout: 5_000 });
    // Named with the event that moved it, from the master's own inspection.
    await page.locator('#transitions li[data-machine="supervisor"][data-state="backingOff"] .t-event', { hasText: 'DOWN' }).waitFor({ timeout: 10_000 });
    await page.locator('#transitions li[data-machine="server"][data-state="crashed"] .t-event', { hasText: 'EXITED' }).waitFor({ timeout: 10_000 });
    await supervisor.locator('.node.active[data-state-id="watching.up"]').waitFor({ timeout: 10_000 });
    await page.locator('.chart[data-view="master"][data-machine="server"] .node.active[data-state-id="live.connected"]').waitFor({ timeout: 10_000 });
    // The new process is watched again: the old one's lifecycle was greyed out when the master saw it
    // crash, and the new one's state, from its first snapshot, is listed and highlighted.
    await page.locator('#transitions li[data-machine="lifecycle"][data-state="running"]').waitFor({ timeout: 15_000 });
    assert.equal(await lifecycle.getAttribute('class'), 'chart');
    await lifecycle.locator('.node.active[data-state-id="running"]').waitFor({ timeout: 5_000 });
    mkdirSync(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    const png = readFileSync(screenshot);
    assert.ok(png.length > 10_000 && png.subarray(0, 8).equals(PNG_SIGNATURE), `${screenshot} is not a screenshot (${png.length} bytes)`);
    assert.deepEqual(pageErrors, []);
    await context.close();
  });

  test('the master is a process to inspect too: its own machine, live, and its servers\' machines', async () => {
    const { page, context } = await open();
    await page.goto(`${consoleUrl}?token=${encodeURIComponent(token)}`);
    await page.click('#masters tr[data-server-id="master-server-1"]');
    await page.locator('.chart[data-view="process"][data-machine="master"] .node.active[data-state-id="leading.running"]').waitFor({ timeout: 15_000 }).catch((error: Error) => assert.fail(`no master chart: ${error.message}${errors()}`));
    await page.locator('.chart[data-view="process"][data-actor="chat-server-2"][data-machine="supervisor"] .node.active[data-state-id="watching.up"]').waitFor({ timeout: 5_000 });
    // One actor in full (the watch request's detail): its state and context.
    await page.fill('#detail-actor', 'supervisor/chat-server-2');
    await page.click('#detail-form button');
    await page.locator('#detail-context', { hasText: 'supervisor chat-server-2: watching.up' }).waitFor({ timeout: 10_000 });
    assert.match((await page.locator('#detail-context').textContent()) ?? '', /"restarts": 0/);
    const stream = await fetch(`${consoleUrl}events/server?id=bad.id`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(stream.status, 400);
    assert.match(await stream.text(), /must name a server/);
    assert.deepEqual(pageErrors, []);
    await context.close();
  });

  test("a connector's sessions are counted per state, not drawn one by one", async () => {
    const port = (await cluster!.list()).find((row) => row.id === 'connector-server-1')?.clientPort;
    assert.ok(port, 'connector-server-1 announces its client port');
    const clients = [await PinusClient.connect('tcp', port), await PinusClient.connect('ws', port)];
    try {
      const { page, context } = await open();
      await page.goto(`${consoleUrl}?token=${encodeURIComponent(token)}#server=connector-server-1`);
      const sessions = page.locator('#counts table[data-machine="session"]');
      await sessions.waitFor({ timeout: 15_000 }).catch((error: Error) => assert.fail(`no session counts: ${error.message}${errors()}`));
      await page.locator('#counts table[data-machine="session"] thead th:nth-child(2)', { hasText: /^2$/ }).waitFor({ timeout: 10_000 });
      assert.equal(await page.locator('.chart[data-machine="session"]').count(), 0, 'no chart per session');
      assert.deepEqual(pageErrors, []);
      await context.close();
    } finally {
      for (const client of clients) client.close();
    }
  });
});
