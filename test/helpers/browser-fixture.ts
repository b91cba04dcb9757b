/**
 * What every real-browser test file sets up: one Chromium for the file, and per
 * test a fresh context (so no remembered transport leaks between tests) with one
 * watched page, torn down when the test finishes whatever its outcome.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, onTestFinished } from 'vitest';
import { launchChromium } from '../browser/chromium.js';
import { stopProbe, watchPage, type PageProblems } from './browser-page.js';
import { startBundleServer, type BundleServer, type BundleServerOptions } from './browser-server.js';

/** Launch Chromium before the file's tests and close it after; call at the top of a test file. */
export function useChromium(): () => Browser {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  return () => browser!;
}

/** A page in its own context, navigated to `url`; its context is closed after the test. */
export async function openPage(browser: Browser, url: string): Promise<{ page: Page; problems: PageProblems }> {
  const context = await browser.newContext();
  onTestFinished(async () => {
    await Promise.all(context.pages().map((p) => stopProbe(p).catch(() => undefined)));
    await context.close();
  });
  const page = await context.newPage();
  const problems = watchPage(page);
  await page.goto(url);
  return { page, problems };
}

export interface BundlePage {
  server: BundleServer;
  page: Page;
  problems: PageProblems;
}

/** A bundle server (stopped after the test) and a fresh page on it. */
export async function openBundlePage(browser: Browser, options: BundleServerOptions = {}): Promise<BundlePage> {
  const server = await startBundleServer(options);
  // Registered first, so it runs after the page's context is closed.
  onTestFinished(() => server.stop());
  return { server, ...(await openPage(browser, `${server.origin}/`)) };
}
