// @vitest-environment node
/**
 * Proves the harness drives a real Chromium, and proves the one browser behaviour the
 * iframe-streaming transport stands on: each `<script>` chunk of a response that is
 * still open runs as soon as it arrives. The server writes chunk 1, waits until the
 * page reports (by a fetch back) that chunk 1 ran, and only then writes chunk 2 and
 * ends the response. A browser that buffered the document would never report, and the
 * test would fail.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { launchChromium } from './chromium.js';

/** What the server saw, in order. */
const log: string[] = [];
/** Resolvers for "the page says chunk n ran". */
const ran = new Map<number, () => void>();

function reported(n: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Expected chunk ${n} to run while the response was open but it did not`)), 10_000);
    ran.set(n, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

// Like the iframe transport: the parent listens for postMessage from a child frame
// whose document is the held-open stream.
const PARENT = `<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<script>
window.got = [];
addEventListener('message', (e) => { got.push(e.data); fetch('/ran?n=' + e.data.n); });
</script>
<iframe src="/stream"></iframe>
</body></html>`;

const chunk = (n: number): string =>
  `<script>parent.postMessage({ n: ${n}, readyState: document.readyState }, '*')</script>\n`;

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  if (url.pathname === '/') {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(PARENT);
  } else if (url.pathname === '/ran') {
    const n = Number(url.searchParams.get('n'));
    log.push(`ran ${n}`);
    ran.get(n)?.();
    res.writeHead(204).end();
  } else if (url.pathname === '/stream') {
    void stream(res);
  } else {
    res.writeHead(404).end();
  }
});

async function stream(res: http.ServerResponse): Promise<void> {
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  // The 2 KiB of padding mirrors the wire format: browsers sniff the first bytes
  // before they start parsing, so scripts would otherwise wait for more data.
  res.write(`<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>\n<!--${' '.repeat(2048)}-->\n`);
  try {
    const first = reported(1);
    res.write(chunk(1));
    log.push('write 1');
    await first;
    const second = reported(2);
    res.write(chunk(2));
    log.push('write 2');
    await second;
  } catch (error) {
    log.push(String(error));
  }
  res.end('</body></html>');
  log.push('end');
}

let browser: Browser;
let origin: string;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test('runs each script chunk of a held-open iframe document as it arrives', async () => {
  const page = await browser.newPage();
  try {
    await page.goto(`${origin}/`, { waitUntil: 'commit' });
    await vi.waitFor(() => expect(log).toContain('end'), { timeout: 15_000 });
    expect(log).toEqual(['write 1', 'ran 1', 'write 2', 'ran 2', 'end']);
    // Both chunks ran while the iframe document was still loading (response not ended).
    await vi.waitFor(async () => {
      expect(await page.evaluate(() => (window as unknown as { got: unknown[] }).got)).toEqual([
        { n: 1, readyState: 'loading' },
        { n: 2, readyState: 'loading' },
      ]);
    });
  } finally {
    await page.close();
  }
});
