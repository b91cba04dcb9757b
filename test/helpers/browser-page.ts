/**
 * Page-side tools for the real-browser tests: watch a page for uncaught errors and console
 * errors, and drive a cometkit client that lives in the page (created from the global
 * `cometkit` of the CDN bundle) through a small "probe" kept on `window`.
 *
 * It exists so each browser test reads as "connect, publish, assert" while the page code
 * stays type-checked: the functions passed to `page.evaluate` are typed against the SDK's
 * own declarations (`typeof import('../../src/index.js')`), are serialized by playwright
 * and run in Chromium, so they may use only their arguments and page globals, never
 * anything from this module's scope.
 *
 * Extend it by adding a field to `ProbeState` (filled by a listener in `startProbe`) and
 * to `ProbeSnapshot` (copied out in `probeSnapshot`), or a new exported function built the
 * same way as `publishFromPage`.
 */
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import type { ClientOptions, ClientState, CometClient, TransportEvent, TransportName } from '../../src/index.js';

/** Every transport the CDN bundle has, each of which the browser tests run alone. */
export const TRANSPORTS: readonly TransportName[] = ['websocket', 'sse', 'long-poll', 'iframe'];

/** `from, from + 1, …, to`: the numbered messages a test publishes and expects. */
export const numbers = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** The CDN bundle's global, as the page sees it. */
declare const cometkit: typeof import('../../src/index.js');

/** Everything that went wrong in a page, as Chromium reported it. */
export interface PageProblems {
  /** Uncaught exceptions and unhandled rejections (`pageerror`). */
  pageErrors: string[];
  /** `console.error` messages, including the browser's own network errors, with their source URL. */
  consoleErrors: string[];
}

/** Start recording a page's problems; check them with {@link expectCleanPage}. */
export function watchPage(page: Page): PageProblems {
  const problems: PageProblems = { pageErrors: [], consoleErrors: [] };
  page.on('pageerror', (error) => problems.pageErrors.push(`${error.name}: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.consoleErrors.push(`${message.text()} (${message.location().url || 'no url'})`);
  });
  return problems;
}

/**
 * Fail on any uncaught page error, and on any console error not matched by `allowed`
 * (e.g. Chromium's own "WebSocket connection ... failed" line in a test that refuses
 * WebSocket on purpose).
 */
export function expectCleanPage(problems: PageProblems, allowed: readonly RegExp[] = []): void {
  expect(problems.pageErrors, 'uncaught errors in the page').toEqual([]);
  expect(
    problems.consoleErrors.filter((line) => !allowed.some((pattern) => pattern.test(line))),
    'unexpected console errors in the page',
  ).toEqual([]);
}

/** One delivery seen by the probe's subscription. */
export interface Received {
  channel: string;
  data: unknown;
  /** `readyState` of the page's (first) iframe document when the message was handed over, or null without one. */
  frameState: string | null;
  /** Iframes in the page at that moment. */
  frames: number;
}

/** What the probe keeps on `window.probe`. */
interface ProbeState {
  client: CometClient;
  received: Received[];
  transports: TransportEvent[];
  states: ClientState[];
  errors: Array<{ code: string; message: string }>;
  /** `state:<s>`, `transport:<t>`, and with `trace`, `websocket:new|close` and `eventsource:new|close`, in order. */
  timeline: string[];
}

/** A serializable copy of the probe. */
export interface ProbeSnapshot {
  transport: TransportName | null;
  state: ClientState;
  clientId: string | null;
  received: Received[];
  transports: TransportEvent[];
  states: ClientState[];
  errors: Array<{ code: string; message: string }>;
  timeline: string[];
}

export interface ProbeOptions {
  /** The Bayeux endpoint. */
  url: string;
  /** The channel (or pattern) the probe subscribes to before `startProbe` returns. */
  channel: string;
  /** Omit for the SDK's default (auto: every transport). */
  transports?: TransportName[];
  fallbackDelay?: number;
  connectTimeout?: number;
  upgradeDelay?: number;
  reconnect?: { initialDelay?: number; maxDelay?: number; jitter?: boolean };
  /** Extra headers on the client's HTTP requests (a custom header makes a cross-origin POST preflighted). */
  headers?: Record<string, string>;
  /**
   * Record in `timeline` when the page creates and closes WebSockets and EventSources
   * (by wrapping those globals before the client is created). Off by default so the
   * bundle otherwise runs on the browser's untouched globals.
   */
  trace?: boolean;
  /** Resolve once the client is created, without waiting for it to connect or subscribe. */
  noWait?: boolean;
}

/**
 * Create a client in the page with `cometkit.createClient`, record its events, connect,
 * subscribe to `options.channel` and wait for the server to confirm it.
 */
export async function startProbe(page: Page, options: ProbeOptions): Promise<ProbeSnapshot> {
  await page.evaluate(async (o) => {
    const { channel, trace, noWait, ...rest } = o;
    const timeline: string[] = [];
    if (trace) {
      const NativeWebSocket = window.WebSocket;
      window.WebSocket = class extends NativeWebSocket {
        constructor(url: string | URL, protocols?: string | string[]) {
          super(url, protocols);
          timeline.push('websocket:new');
        }
        override close(code?: number, reason?: string): void {
          timeline.push('websocket:close');
          super.close(code, reason);
        }
      };
      const NativeEventSource = window.EventSource;
      window.EventSource = class extends NativeEventSource {
        constructor(url: string | URL, init?: EventSourceInit) {
          super(url, init);
          timeline.push('eventsource:new');
        }
        override close(): void {
          timeline.push('eventsource:close');
          super.close();
        }
      };
    }
    const clientOptions: ClientOptions = { ...rest };
    const client = cometkit.createClient(clientOptions);
    const probe: ProbeState = { client, received: [], transports: [], states: [], errors: [], timeline };
    (window as unknown as { probe: ProbeState }).probe = probe;
    client.on('transport', (e) => {
      probe.transports.push({ transport: e.transport, previous: e.previous });
      timeline.push(`transport:${e.transport}`);
    });
    client.on('state', (e) => {
      probe.states.push(e.state);
      timeline.push(`state:${e.state}`);
    });
    client.on('error', (e) => probe.errors.push({ code: e.code, message: e.message }));
    const connected = client.connect();
    if (noWait) return;
    await connected;
    await client.subscribe(channel, (data, message) => {
      const frame = document.querySelector('iframe');
      probe.received.push({
        channel: message.channel,
        data,
        frameState: frame ? (frame.contentDocument?.readyState ?? 'inaccessible') : null,
        frames: document.querySelectorAll('iframe').length,
      });
    }).ready;
  }, options);
  return probeSnapshot(page);
}

/** A copy of the probe's state and the client's current transport, state and clientId. */
export function probeSnapshot(page: Page): Promise<ProbeSnapshot> {
  return page.evaluate(() => {
    const p = (window as unknown as { probe: ProbeState }).probe;
    return {
      transport: p.client.transport,
      state: p.client.state,
      clientId: p.client.clientId,
      received: p.received,
      transports: p.transports,
      states: p.states,
      errors: p.errors,
      timeline: p.timeline,
    };
  });
}

/** The `n` field of every delivery the probe received, in arrival order. */
export function receivedNumbers(page: Page): Promise<unknown[]> {
  return page.evaluate(() =>
    (window as unknown as { probe: ProbeState }).probe.received.map((r) => (r.data as { n?: unknown } | null)?.n),
  );
}

/** Publish from the page's client; resolves once the server acknowledged it. */
export async function publishFromPage(page: Page, channel: string, data: unknown): Promise<void> {
  await page.evaluate(
    ({ channel, data }) => (window as unknown as { probe: ProbeState }).probe.client.publish(channel, data).then(() => undefined),
    { channel, data },
  );
}

/** Disconnect the page's client (so closing the page leaves the server no half-open session). */
export async function stopProbe(page: Page): Promise<void> {
  await page.evaluate(() => (window as unknown as { probe?: ProbeState }).probe?.client.disconnect().catch(() => undefined));
}
