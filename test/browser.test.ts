// The chat page in a real browser (Debian's chromium, driven by playwright-core): two users enter
// the same room through the gate and a connector of the example cluster, one sends, the other
// sees it. Nothing is downloaded: without /usr/bin/chromium the test fails and says what to run.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startWebServer, type WebServer } from '../examples/chat/web-server.ts';
import { launchChromium, repoRoot, runCli, startCluster, startNats, type RunningService, type TestCluster } from './harness/index.ts';

const chatDir = join(repoRoot, 'examples/chat');

describe('the chat page in chromium', () => {
  let nats: RunningService | undefined;
  let cluster: TestCluster | undefined;
  let web: WebServer | undefined;
  let browser: Browser | undefined;
  let pageUrl = '';
  const pageErrors: string[] = [];

  before(async () => {
    // The master serves the page too; here it must not take (or fail on) the default port.
    process.env.SHADDOCK_WEB_PORT = '0';
    nats = await startNats();
    cluster = await startCluster(chatDir, 'test', nats.url);
    const gate = (await cluster.list()).find((row) => row.serverType === 'gate');
    assert.ok(gate?.clientPort, 'the gate announces its client port');
    web = await startWebServer({ port: 0 });
    pageUrl = `${web.url}?gate=127.0.0.1:${gate.clientPort}`;
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await web?.close();
    // A graceful stop first: SIGKILLing servers before the master lets it restart the
    // auto-restart chat servers behind our back. Then whatever is left.
    if (cluster) await runCli(['stop', ...cluster.args]);
    await cluster?.destroy();
    await nats?.stop();
  });

  async function open(): Promise<Page> {
    const context = await browser!.newContext();
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(pageUrl);
    return page;
  }

  async function enter(page: Page, name: string, room: string): Promise<void> {
    await page.fill('#username', name);
    await page.fill('#room', room);
    await page.click('#login-button');
  }

  const context = (): string => (pageErrors.length ? ` (page errors: ${pageErrors.join('; ')})` : '');

  test('two users in one room: each sees the other arrive, and a message sent by one reaches the other', async () => {
    const alice = await open();
    const bob = await open();
    await enter(alice, 'alice', 'room-b');
    await alice.locator('#chat').waitFor({ state: 'visible', timeout: 15_000 }).catch((error: Error) => assert.fail(`alice never entered: ${error.message}${context()}`));
    await enter(bob, 'bob', 'room-b');
    await bob.locator('#chat').waitFor({ state: 'visible', timeout: 15_000 }).catch((error: Error) => assert.fail(`bob never entered: ${error.message}${context()}`));

    // bob's list comes from the enter answer, alice's from the onAdd push.
    await bob.locator('#users li[data-user="alice"]').waitFor({ timeout: 10_000 });
    await alice.locator('#users li[data-user="bob"]').waitFor({ timeout: 10_000 });

    await bob.fill('#message', 'hello from bob');
    await bob.click('#send');
    const line = alice.locator('#messages li.message', { hasText: 'hello from bob' });
    await line.waitFor({ timeout: 10_000 }).catch((error: Error) => assert.fail(`alice never saw bob's message: ${error.message}${context()}`));
    assert.equal(await line.textContent(), 'bob: hello from bob');
    // The sender gets the room message back too (chatofpomelo's room channel includes them).
    await bob.locator('#messages li.message', { hasText: 'hello from bob' }).waitFor({ timeout: 10_000 });

    // A private message: bob sees it marked as such, alice sees it once.
    await alice.selectOption('#target', 'bob');
    await alice.fill('#message', 'psst');
    await alice.click('#send');
    const whisper = bob.locator('#messages li.message', { hasText: 'psst' });
    await whisper.waitFor({ timeout: 10_000 }).catch((error: Error) => assert.fail(`bob never got the whisper: ${error.message}${context()}`));
    assert.equal(await whisper.textContent(), 'alice → bob: psst');
    // One more room message: anything for alice before it (an echo of her whisper) has arrived.
    await bob.fill('#message', 'done');
    await bob.click('#send');
    await alice.locator('#messages li.message', { hasText: 'done' }).waitFor({ timeout: 10_000 });
    assert.deepEqual(await alice.locator('#messages li.message').allTextContents(), ['bob: hello from bob', 'alice → bob: psst', 'bob: done']);
    assert.deepEqual(pageErrors, []);
  });

  test('a name already in the room is refused with a message, and the login form stays', async () => {
    const again = await open();
    await enter(again, 'alice', 'room-b');
    const error = again.locator('#login-error', { hasText: 'taken' });
    await error.waitFor({ timeout: 15_000 }).catch((e: Error) => assert.fail(`no "name taken" error: ${e.message}${context()}`));
    assert.equal(await again.locator('#chat').isVisible(), false);
    assert.equal(await again.locator('#login').isVisible(), true);
  });
});
