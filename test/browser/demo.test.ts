// @vitest-environment node
/**
 * The live demo as a user meets it: `node demo/serve.mjs` (what `npm start` runs after
 * building) on a free loopback port, its page opened in real headless Chromium. The page
 * must connect, show its state and transport, count stock ticks pushed once a second, do
 * the same on the transports picked by URL (`/?transport=long-poll`, `/?transport=iframe`),
 * and carry a chat message from one page to another.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startDemo, type RunningDemo } from '../helpers/browser-demo.js';
import { openPage } from '../helpers/browser-fixture.js';
import { expectCleanPage } from '../helpers/browser-page.js';
import { launchChromium } from './chromium.js';

const TRANSPORTS = ['websocket', 'sse', 'long-poll', 'iframe'];
/** The demo serves no favicon; Chromium logs the 404 of its own favicon request. */
const FAVICON_404 = /status of 404.*\/favicon\.ico\)$/;

let browser: Browser;
let demo: RunningDemo;

beforeAll(async () => {
  [demo, browser] = await Promise.all([startDemo(), launchChromium()]);
});

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

/** Open the demo at `search` in a fresh context (no remembered transport); closed after the test. */
const openDemo = (search = '') => openPage(browser, `${demo.origin}/${search}`);

const text = (page: Page, selector: string) => page.locator(selector).textContent();

/** Tick counts of the ticker table, by symbol. */
function ticks(page: Page): Promise<Record<string, number>> {
  return page.$$eval('#quotes tr', (rows) =>
    Object.fromEntries(
      rows.map((row) => {
        const cells = (row as HTMLTableRowElement).cells;
        return [cells[0]?.textContent ?? '', Number(cells[2]?.textContent)];
      }),
    ),
  );
}

const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

/** The page is connected, shows `expected` (or any transport) in its pill, and its tick counts keep rising. */
async function expectLiveTicks(page: Page, expected?: string): Promise<void> {
  await expect.poll(() => text(page, '#state'), { timeout: 10_000 }).toBe('connected');
  const shown = await text(page, '#transport');
  if (expected) expect(shown).toBe(expected);
  else expect(TRANSPORTS).toContain(shown);
  // The pill tells the truth: it is the client's own transport.
  expect(await page.evaluate(() => (window as unknown as { demoClient: { transport: string | null } }).demoClient.transport)).toBe(shown);

  // All four symbols tick, and keep ticking (one push per symbol per second).
  await expect.poll(async () => Object.keys(await ticks(page)).sort(), { timeout: 5_000 }).toEqual(['ACME', 'GLOBEX', 'INITECH', 'UMBRELLA']);
  const before = await ticks(page);
  await expect
    .poll(async () => {
      const now = await ticks(page);
      return Object.keys(before).every((symbol) => (now[symbol] ?? 0) > (before[symbol] ?? 0));
    }, { timeout: 5_000, message: 'every symbol ticks again' })
    .toBe(true);
  expect(await text(page, '#state')).toBe('connected');
}

test('the demo page connects, shows its transport and counts live ticks', async () => {
  const { page, problems } = await openDemo();
  await expectLiveTicks(page);
  expect(await page.locator('#picker').inputValue()).toBe('auto');
  expectCleanPage(problems, [FAVICON_404]);
});

for (const transport of ['long-poll', 'iframe']) {
  test(`the transport picker URL ?transport=${transport} runs the demo on ${transport}`, async () => {
    const { page, problems } = await openDemo(`?transport=${transport}`);
    expect(await page.locator('#picker').inputValue()).toBe(transport);
    await expectLiveTicks(page, transport);
    expectCleanPage(problems, [FAVICON_404]);
  });
}

test('a chat message sent from one demo page appears in another', async () => {
  const [alice, bob] = await Promise.all([openDemo(), openDemo('?transport=long-poll')]);
  // A tick on each page proves its subscriptions (sent in one batch with the chat's) are live.
  for (const { page } of [alice, bob]) {
    await expect.poll(async () => total(await ticks(page)), { timeout: 10_000 }).toBeGreaterThan(0);
  }

  const message = `hello from alice ${Date.now().toString(36)}`;
  await alice.page.locator('#text').fill(message);
  await alice.page.locator('#chat button').click();

  for (const { page } of [bob, alice]) {
    await expect.poll(() => page.locator('#log li').allTextContents(), { timeout: 5_000 }).toEqual([expect.stringMatching(new RegExp(`^guest-\\w+: ${message}$`))]);
  }
  expect(await alice.page.locator('#text').inputValue()).toBe('');
  expectCleanPage(alice.problems, [FAVICON_404]);
  expectCleanPage(bob.problems, [FAVICON_404]);
});
