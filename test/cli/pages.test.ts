// The chat and dashboard pages as people meet them, in real Chromium (Debian package) through
// playwright-core: a phone-width header, no "offline" badge before anything was tried, one nickname
// per person, a plain message for a dashboard token that no longer works, stale figures marked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { io as connectClient, type Socket as ClientSocket } from 'socket.io-client';
import { freeNickname } from '../../src/cli/chat.js';
import { once, startTestHub } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM} (apt-get install chromium); CI installs it`;
const PHONE = { width: 390, height: 844 };

async function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}

async function openPage(browser: Browser, errors: string[]): Promise<Page> {
  const context = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.on('pageerror', (err) => errors.push(err.message));
  return page;
}

/** Every element of the header lies within the viewport and the page does not scroll sideways. */
async function assertHeaderFits(page: Page, what: string): Promise<void> {
  const layout = await page.evaluate(() => ({
    pageWidth: document.documentElement.scrollWidth,
    viewport: window.innerWidth,
    overflowing: [...document.querySelectorAll('.topbar > *')]
      .filter((node) => !(node as HTMLElement).hidden && getComputedStyle(node).display !== 'none')
      .map((node) => ({ id: node.id || node.className, right: node.getBoundingClientRect().right }))
      .filter((box) => box.right > window.innerWidth + 0.5),
  }));
  assert.ok(layout.pageWidth <= layout.viewport, `${what}: the page scrolls sideways (${layout.pageWidth} > ${layout.viewport})`);
  assert.deepEqual(layout.overflowing, [], `${what}: header items past the right edge`);
}

test('freeNickname numbers a nickname in use, case-insensitively, within 24 characters', () => {
  assert.equal(freeNickname('ada', new Set()), 'ada');
  assert.equal(freeNickname('Ada', new Set(['ada'])), 'Ada 2');
  assert.equal(freeNickname('ada', new Set(['ada', 'ada 2'])), 'ada 3');
  const long = 'x'.repeat(24);
  assert.equal(freeNickname(long, new Set([long])), `${'x'.repeat(22)} 2`);
});

test('chat: two people asking for the same nickname get distinct ones', async (t) => {
  const hub = await startTestHub();
  t.after(() => hub.close());
  const clients: ClientSocket[] = [];
  t.after(() => clients.forEach((c) => c.disconnect()));
  const join = async (nickname: string) => {
    const client = connectClient(`${hub.base}/chat`, { auth: { nickname }, transports: ['websocket'], forceNew: true, reconnection: false });
    clients.push(client);
    const [welcome] = await once<[{ nickname: string }]>(client, 'welcome');
    return welcome.nickname;
  };
  // Two at once (both in their handshake together), then a third with other letter case.
  assert.deepEqual((await Promise.all([join('ada'), join('ada')])).sort(), ['ada', 'ada 2']);
  assert.equal(await join('ADA'), 'ADA 3');
});

test('chat page at 390 px: no badge before connecting, the header fits, a taken nickname is numbered', { skip }, async (t) => {
  const hub = await startTestHub();
  t.after(() => hub.close());
  const first = connectClient(`${hub.base}/chat`, { auth: { nickname: 'ada' }, transports: ['websocket'], forceNew: true });
  t.after(() => first.disconnect());
  await once(first, 'welcome');

  const browser = await launch();
  t.after(() => browser.close());
  const errors: string[] = [];
  const page = await openPage(browser, errors);
  await page.goto(`${hub.base}/`);
  assert.equal(await page.locator('#status').isVisible(), false, 'no status badge before any connection attempt');
  await assertHeaderFits(page, 'chat login');

  await page.fill('#nickname', 'ada');
  await page.click('#login-form button');
  await page.locator('#status[data-state="online"]').waitFor();
  await page.locator('#me', { hasText: 'ada 2' }).waitFor();
  await page.locator('.system', { hasText: '"ada" is in use here: you are "ada 2"' }).waitFor();
  await assertHeaderFits(page, 'chat, signed in');
  assert.deepEqual(errors, []);
});

test('dashboard at 390 px: a token that no longer works says so; figures go stale while the hub is down', { skip }, async (t) => {
  const hub = await startTestHub({ dashboardToken: 'current-token' });
  let closed = false;
  t.after(() => (closed ? undefined : hub.close()));
  const browser = await launch();
  t.after(() => browser.close());
  const errors: string[] = [];

  const old = await openPage(browser, errors);
  await old.goto(`${hub.base}/dashboard#token=token-from-before-a-restart`);
  await old.locator('#login-error', { hasText: 'This token is no longer valid' }).waitFor();
  assert.equal(await old.locator('#login').isVisible(), true);
  await assertHeaderFits(old, 'dashboard, token refused');

  const page = await openPage(browser, errors);
  await page.goto(`${hub.base}/dashboard#token=current-token`);
  await page.locator('#status[data-state="online"]').waitFor();
  await page.waitForFunction(() => document.getElementById('msgs-in')?.textContent !== '');
  assert.equal(await page.locator('#stale').isVisible(), false);
  await assertHeaderFits(page, 'dashboard, live');

  closed = true;
  await hub.close();
  await page.locator('#stale', { hasText: 'The hub has not answered since' }).waitFor();
  assert.equal(await page.locator('#app.stale').count(), 1, 'the figures are greyed');
  assert.deepEqual(errors, []);
});
