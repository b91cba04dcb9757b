/**
 * Raw Bayeux clients for the server hygiene tests: each does exactly what a
 * client on the wire does (POSTs, a `ws` socket, an EventSource stream read
 * through `fetch`) and can leave the way real clients do: politely
 * (`/meta/disconnect`) or by vanishing (socket terminated, stream or held poll
 * aborted). No SDK logic, so a server leak cannot hide behind client retries.
 * Also a counting `Clock` for the engine, whose timers (held connects, the
 * sweep) and `now` the tests control. Extend with one function per wire action.
 */
import { WebSocket } from 'ws';
import type { Message } from '../../src/protocol/message.js';
import type { Clock } from '../../src/server/index.js';

let nextId = 0;
const id = () => `h${++nextId}`;

/** A `Clock` that counts live timers and whose `now` can jump ahead (to expire sessions). */
export function countingClock() {
  const live = new Set<unknown>();
  let skew = 0;
  const clock: Clock = {
    now: () => Date.now() + skew,
    setTimeout(fn, ms) {
      const handle = setTimeout(() => {
        live.delete(handle);
        fn();
      }, ms);
      handle.unref();
      live.add(handle);
      return handle;
    },
    clearTimeout(handle) {
      live.delete(handle);
      clearTimeout(handle as NodeJS.Timeout);
    },
  };
  return { clock, timers: () => live.size, advance: (ms: number) => void (skew += ms) };
}

export async function post(url: string, batch: Message[], signal?: AbortSignal): Promise<Message[]> {
  const r = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(batch), ...(signal ? { signal } : {}) });
  return (await r.json()) as Message[];
}

export async function handshake(url: string): Promise<string> {
  const [reply] = await post(url, [
    { channel: '/meta/handshake', id: id(), version: '1.0', supportedConnectionTypes: ['websocket', 'eventsource', 'long-polling'], ext: { ack: 'seq' } },
  ]);
  if (!reply?.successful || !reply.clientId) throw new Error(`Expected a successful handshake but got ${JSON.stringify(reply)}`);
  return reply.clientId;
}

export const subscribe = (clientId: string, subscription: string): Message => ({ channel: '/meta/subscribe', clientId, subscription, id: id() });
export const connect = (clientId: string, connectionType: string, first = false): Message => ({
  channel: '/meta/connect',
  clientId,
  connectionType,
  id: id(),
  ...(first ? { advice: { timeout: 0 } } : {}),
});
export const disconnect = (clientId: string): Message => ({ channel: '/meta/disconnect', clientId, id: id() });

/** A `ws` socket speaking Bayeux; `request` resolves with the reply carrying the same id. */
export async function openSocket(url: string) {
  const ws = new WebSocket(url.replace(/^http/, 'ws'));
  const waiting = new Map<string, (m: Message) => void>();
  ws.on('message', (data) => {
    for (const m of JSON.parse(String(data)) as Message[]) if (m.id) waiting.get(m.id)?.(m);
  });
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return {
    ws,
    send: (m: Message) => ws.send(JSON.stringify([m])),
    request: (m: Message) =>
      new Promise<Message>((resolve) => {
        waiting.set(m.id!, resolve);
        ws.send(JSON.stringify([m]));
      }),
    closed: () => new Promise<void>((resolve) => (ws.readyState === ws.CLOSED ? resolve() : ws.once('close', () => resolve()))),
  };
}

/** An EventSource stream read through `fetch`; `until` waits for text containing `needle`. */
export async function openStream(url: string, clientId: string) {
  const abort = new AbortController();
  const r = await fetch(`${url}/${encodeURIComponent(clientId)}`, { headers: { Accept: 'text/event-stream' }, signal: abort.signal });
  const reader = r.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  return {
    async until(needle: string) {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`Expected ${needle} on the stream but it ended after ${JSON.stringify(text)}`);
        text += decoder.decode(value, { stream: true });
      }
    },
    /** Cut it from the client side, as a closed tab or a dropped network does. */
    cut: () => abort.abort(),
  };
}

/** Run `fn(i)` for i in [0, n), `width` at a time. */
export async function inParallel(n: number, width: number, fn: (i: number) => Promise<void>): Promise<void> {
  for (let start = 0; start < n; start += width) {
    await Promise.all(Array.from({ length: Math.min(width, n - start) }, (_, k) => fn(start + k)));
  }
}
