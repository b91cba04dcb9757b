/**
 * An in-process Bayeux peer for the hygiene tests: the reference server's own
 * engine (src/server/engine.ts, no Node APIs) behind a fake `fetch`, a fake
 * `WebSocket` and a fake `EventSource`, all answering on microtasks. No sockets,
 * no msw, no HTTP parsing: a connect/disconnect cycle costs tens of
 * microseconds, so 10,000 of them fit in a few seconds, while the SDK still
 * speaks the full protocol (handshake, connect loop, held connects, streams
 * answered on the stream, ack) to a real engine.
 *
 * - `platform`: pass to `countingPlatform()` (or straight to `createClient`).
 * - `cut()`: end every socket (error + close 1006), stream (error, as a dropped
 *   EventSource reports) and held long-poll (a network failure), the way a
 *   network drop does. Sessions stay, so the client reconnects on the same one.
 * - `sessions()`: clientIds the engine's store still holds (the MemoryStore's
 *   public `expired()`), to prove the server side returns to empty too.
 * - `frameIframes(window, document)`: jsdom cannot stream an iframe; this plays
 *   the frame, attaching every `<iframe>` the SDK inserts to the engine as a
 *   stream whose batches are `postMessage`d from the frame's window, as the
 *   server's `<script>c("…")</script>` chunks would be.
 *
 * Extend by adding a fault next to `cut()` (e.g. refusing a transport).
 */
import { expect, vi } from 'vitest';
import type { CometClient } from '../../src/index.js';
import { Engine, MemoryStore, readBatch, unknownClientReply, type Connection, type EngineOptions } from '../../src/server/engine.js';
import type { Message } from '../../src/protocol/message.js';
import type { Platform } from '../../src/platform.js';

export const PEER_URL = 'http://peer.test/cometd';

export interface Peer {
  engine: Engine;
  store: MemoryStore;
  platform: Pick<Platform, 'fetch' | 'WebSocket' | 'EventSource'>;
  cut(): void;
  sessions(): Promise<string[]>;
  /** Returns how to stop, and counts the frames it played. */
  frameIframes(win: Window, doc: Document): { stop(): void; readonly opened: number };
  close(): Promise<void>;
}

const later = (fn: () => void) => queueMicrotask(fn);
const abortError = () => new DOMException('The operation was aborted.', 'AbortError');
const fire = (target: EventTarget, handlerOwner: Record<string, unknown>, event: Event) => {
  const handler = handlerOwner['on' + event.type];
  if (typeof handler === 'function') handler.call(target, event);
  target.dispatchEvent(event);
};

export function startPeer(options: EngineOptions = {}): Peer {
  const store = new MemoryStore();
  const engine = new Engine({ timeout: 30_000, ...options, store });
  const cuts = new Set<() => void>();

  const fetch = ((_input: RequestInfo | URL, init?: RequestInit) => {
    const signal = init?.signal ?? undefined;
    if (signal?.aborted) return Promise.reject(abortError());
    return new Promise<Response>((resolve, reject) => {
      const hold = new AbortController();
      let settled = false;
      const settle = () => {
        settled = true;
        cuts.delete(cut);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        if (settled) return;
        settle();
        hold.abort(); // the engine drops the held connect, as when the HTTP request dies
        reject(abortError());
      };
      const cut = () => {
        if (settled) return;
        settle();
        hold.abort();
        reject(new TypeError('fetch failed'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      cuts.add(cut);
      let messages: Message[];
      try {
        messages = readBatch(String(init?.body));
      } catch {
        settle();
        return resolve(respond(400, '[]'));
      }
      engine.handle(messages, { transport: 'http', signal: hold.signal }).then((replies) => {
        if (settled) return;
        settle();
        resolve(respond(200, JSON.stringify(replies)));
      }, reject);
    });
  }) as typeof globalThis.fetch;

  class PeerSocket extends EventTarget {
    static readonly CONNECTING = 0;
    static readonly OPEN = 1;
    static readonly CLOSING = 2;
    static readonly CLOSED = 3;
    readonly CONNECTING = 0;
    readonly OPEN = 1;
    readonly CLOSING = 2;
    readonly CLOSED = 3;
    readyState = 0;
    onopen: ((e: Event) => void) | null = null;
    onmessage: ((e: MessageEvent) => void) | null = null;
    onclose: ((e: Event) => void) | null = null;
    onerror: ((e: Event) => void) | null = null;
    readonly url: string;
    #connection: Connection;
    #cut = () => this.#end(1006, true);

    constructor(url: string | URL) {
      super();
      this.url = String(url);
      this.#connection = {
        connectionType: 'websocket',
        send: (messages) => {
          if (this.readyState !== 1) return;
          const data = JSON.stringify(messages);
          later(() => this.readyState === 1 && fire(this, this as never, new MessageEvent('message', { data })));
        },
        close: () => this.#end(1000, false),
      };
      cuts.add(this.#cut);
      later(() => {
        if (this.readyState !== 0) return;
        this.readyState = 1;
        fire(this, this as never, new Event('open'));
      });
    }

    send(text: string): void {
      if (this.readyState !== 1) return;
      const messages = readBatch(text);
      engine
        .handle(messages, { transport: 'websocket', connection: this.#connection })
        .then((replies) => replies.length && this.#connection.send(replies))
        .catch(() => {});
    }

    close(): void {
      if (this.readyState >= 2) return;
      this.readyState = 2;
      later(() => this.#end(1000, false));
    }

    #end(code: number, error: boolean): void {
      if (this.readyState === 3) return;
      this.readyState = 3;
      cuts.delete(this.#cut);
      engine.detach(this.#connection);
      if (error) fire(this, this as never, new Event('error'));
      fire(this, this as never, Object.assign(new Event('close'), { code, reason: '', wasClean: !error }));
    }
  }

  class PeerEventSource extends EventTarget {
    readonly CONNECTING = 0;
    readonly OPEN = 1;
    readonly CLOSED = 2;
    readyState = 0;
    onopen: ((e: Event) => void) | null = null;
    onmessage: ((e: MessageEvent) => void) | null = null;
    onerror: ((e: Event) => void) | null = null;
    readonly url: string;
    #connection: Connection;
    #cut = () => this.#drop();

    constructor(url: string | URL) {
      super();
      this.url = String(url);
      const clientId = decodeURIComponent(new URL(this.url).pathname.split('/').pop()!);
      const data = (messages: Message[]) => {
        const text = JSON.stringify(messages);
        later(() => this.readyState === 1 && fire(this, this as never, new MessageEvent('message', { data: text })));
      };
      this.#connection = { connectionType: 'eventsource', send: (m) => this.readyState === 1 && data(m), close: () => this.#drop() };
      cuts.add(this.#cut);
      later(() => {
        if (this.readyState !== 0) return;
        this.readyState = 1;
        fire(this, this as never, new Event('open'));
        engine.attach(clientId, this.#connection).then((known) => {
          if (known) return;
          data([unknownClientReply(clientId)]);
          later(() => this.#drop());
        }, () => this.#drop());
      });
    }

    close(): void {
      if (this.readyState === 2) return;
      this.readyState = 2;
      cuts.delete(this.#cut);
      engine.detach(this.#connection);
    }

    /** The server ended the stream or the network dropped it: an EventSource reports `error` and would retry. */
    #drop(): void {
      if (this.readyState === 2) return;
      cuts.delete(this.#cut);
      engine.detach(this.#connection);
      this.readyState = 0;
      fire(this, this as never, new Event('error'));
    }
  }

  return {
    engine,
    store,
    platform: {
      fetch,
      WebSocket: PeerSocket as unknown as typeof WebSocket,
      EventSource: PeerEventSource as unknown as typeof EventSource,
    },
    cut() {
      for (const cut of [...cuts]) cut();
    },
    sessions: () => store.expired(Number.POSITIVE_INFINITY),
    frameIframes(win, doc) {
      const origin = new URL(PEER_URL).origin;
      let opened = 0;
      const attach = (frame: HTMLIFrameElement) => {
        const src = new URL(frame.src);
        if (src.searchParams.get('connectionType') !== 'iframe-streaming') return;
        opened++;
        const clientId = decodeURIComponent(src.pathname.split('/').pop()!);
        let open = true;
        const post = (data: string) =>
          later(() => open && frame.isConnected && win.dispatchEvent(new MessageEvent('message', { data, origin, source: frame.contentWindow })));
        const connection: Connection = {
          connectionType: 'iframe-streaming',
          send: (m) => post(JSON.stringify(m)),
          // The document ends a macrotask later, as bytes from a network would: a jsdom frame costs
          // about 20 ms, and ending it on a microtask made the SDK reopen up to five per disconnect.
          close: () => {
            if (!open) return;
            open = false;
            setTimeout(() => frame.dispatchEvent(new Event('load')), 0);
          },
        };
        const cut = () => connection.close();
        cuts.add(cut);
        post('[]'); // the first chunk: the stream is open
        void engine.attach(clientId, connection).then((known) => {
          if (known) return;
          // As the server does for an unknown client: the 402 reply as the one batch, then the document ends.
          post(JSON.stringify([unknownClientReply(clientId)]));
          later(() => connection.close());
        });
        // Removed by the SDK (or the test): the HTTP response ends with it.
        const gone = new MutationObserver(() => {
          if (frame.isConnected) return;
          gone.disconnect();
          open = false;
          cuts.delete(cut);
          engine.detach(connection);
        });
        gone.observe(doc.body, { childList: true, subtree: true });
      };
      const observer = new MutationObserver((records) => {
        for (const r of records) for (const n of r.addedNodes) if (n.nodeName === 'IFRAME') attach(n as HTMLIFrameElement);
      });
      observer.observe(doc.body, { childList: true, subtree: true });
      return {
        stop: () => observer.disconnect(),
        get opened() {
          return opened;
        },
      };
    },
    close: () => engine.close(),
  };
}

function respond(status: number, text: string): Response {
  // The SDK reads only these; a real Response costs more than the whole cycle.
  return { ok: status >= 200 && status < 300, status, statusText: '', text: async () => text } as Response;
}

/**
 * Connect `client` and subscribe it to `/tick`: `got` is what it received, and
 * `delivered(n)` publishes `n` and waits until the client has it.
 */
export async function ticking(peer: Peer, client: CometClient): Promise<{ got: number[]; delivered(n: number): Promise<void> }> {
  const got: number[] = [];
  await client.connect();
  await client.subscribe<number>('/tick', (n) => got.push(n)).ready;
  const delivered = async (n: number) => {
    await peer.engine.publish('/tick', n);
    await vi.waitFor(() => expect(got.at(-1)).toBe(n), { interval: 1 });
  };
  return { got, delivered };
}
