// The demo chat and the dashboard in real Chromium (Debian package) driven by playwright-core.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CliProcess, root, startServeProcess } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const shots = join(root, 'docs/screenshots');

async function enterChat(page: Page, url: string, nickname: string): Promise<void> {
  await page.goto(url);
  await page.fill('#nickname', nickname);
  await page.click('#login-form button');
  await page.locator('#status[data-state="online"]').waitFor();
  await page.locator('#rooms li.active', { hasText: 'lobby' }).waitFor();
}

async function say(page: Page, text: string): Promise<void> {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
  await page.locator('.message.own', { hasText: text }).locator('.delivery.delivered').waitFor();
}

test('chat in two windows, the dashboard shows them, reconnection is visible', { skip: !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}` }, async (t) => {
  let hub = await startServeProcess(['--dashboard-token', 'browser-test-token']);
  t.after(() => hub.cli.kill('SIGKILL'));
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  t.after(() => browser.close());
  const errors: string[] = [];
  const open = async () => {
    const context = await browser.newContext({ viewport: { width: 1200, height: 720 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });
    return page;
  };
  const ada = await open();
  const bob = await open();
  const url = `http://localhost:${hub.port}/`;

  await enterChat(ada, url, 'ada');
  await enterChat(bob, url, 'bob');
  await ada.locator('#members li', { hasText: 'bob' }).waitFor();
  await bob.locator('#members li', { hasText: 'ada' }).waitFor();
  assert.equal(await ada.locator('#member-count').textContent(), '2');

  await say(ada, 'Hi Bob! <img src=x onerror=alert(1)>');
  const received = bob.locator('.message:not(.own)', { hasText: 'Hi Bob!' });
  await received.waitFor();
  assert.equal(await received.locator('.text').textContent(), 'Hi Bob! <img src=x onerror=alert(1)>', 'rendered as text, not HTML');
  assert.equal(await bob.locator('.messages img').count(), 0);

  await bob.type('#text', 'typing…');
  await ada.locator('#typing', { hasText: 'bob is typing' }).waitFor();
  await bob.fill('#text', '');
  await say(bob, 'Hello Ada, both windows side by side.');
  await ada.locator('.message', { hasText: 'both windows side by side' }).waitFor();
  await say(ada, 'Messages are acknowledged: see the ✓');

  // rooms: bob opens #ops, ada sees it listed and joins, history shows up for the late joiner
  await bob.fill('#room-name', 'ops');
  await bob.click('#join-form button');
  await bob.locator('#room-title', { hasText: '# ops' }).waitFor();
  await say(bob, 'deploy at 5pm');
  await ada.locator('#all-rooms li', { hasText: 'ops' }).locator('button').click();
  await ada.locator('#room-title', { hasText: '# ops' }).waitFor();
  await ada.locator('.message', { hasText: 'deploy at 5pm' }).waitFor();
  await ada.locator('#rooms li', { hasText: 'lobby' }).locator('.room-link').click();
  await bob.locator('#rooms li', { hasText: 'lobby' }).locator('.room-link').click();
  await bob.locator('.message', { hasText: 'acknowledged' }).waitFor();

  mkdirSync(shots, { recursive: true });
  await bob.screenshot({ path: join(shots, 'chat.png') });

  const dash = await open();
  await dash.goto(`http://localhost:${hub.port}/dashboard#token=browser-test-token`);
  await dash.locator('#status[data-state="online"]').waitFor();
  await dash.locator('#clients tr', { hasText: 'ada' }).waitFor();
  await dash.locator('#clients tr', { hasText: 'bob' }).waitFor();
  assert.equal(new URL(dash.url()).hash, '', 'token removed from the address bar');
  await dash.waitForFunction(() => Number(document.getElementById('connections')?.textContent) >= 3);
  const rooms = await dash.locator('#namespaces').textContent();
  assert.match(rooms!, /room:lobby \(2\)/);
  assert.match(rooms!, /room:ops \(2\)/);
  for (let i = 0; i < 5; i++) { // a few samples with traffic, so the sparklines have something to draw
    await say(i % 2 ? bob : ada, `traffic for the charts ${i}`);
    await dash.waitForTimeout(600);
  }
  await dash.screenshot({ path: join(shots, 'dashboard.png'), fullPage: true });

  const wrong = await open();
  await wrong.goto(`http://localhost:${hub.port}/dashboard#token=nope`);
  await wrong.locator('#login-error', { hasText: 'This token is no longer valid' }).waitFor();

  // Reconnection: stop the hub, the pages say so; start it again on the same port, they recover.
  const port = hub.port;
  hub.cli.kill('SIGTERM');
  assert.equal((await hub.cli.exited).code, 0);
  await ada.locator('#status[data-state="reconnecting"]').waitFor();
  const restarted = new CliProcess(['serve', '--port', String(port), '--json']);
  t.after(() => restarted.kill('SIGKILL'));
  await restarted.nextJson({ event: 'listening' }, 20_000);
  hub = { ...hub, cli: restarted };
  await ada.locator('#status[data-state="online"]').waitFor({ timeout: 15_000 });
  await bob.locator('#status[data-state="online"]').waitFor({ timeout: 15_000 });
  await ada.locator('.system', { hasText: 'reconnected' }).waitFor();
  await say(ada, 'back after a restart');
  await bob.locator('.message', { hasText: 'back after a restart' }).waitFor();
  restarted.kill('SIGTERM');
  assert.equal((await restarted.exited).code, 0);

  assert.deepEqual(errors.filter((e) => !/ERR_CONNECTION_REFUSED|Failed to load resource|WebSocket connection/.test(e)), []);
});
