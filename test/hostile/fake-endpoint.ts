/**
 * A tiny Bayeux endpoint on 127.0.0.1 that answers the SDK properly
 * (handshake, connect on every connection type, subscribe, publish) and lets a
 * test put raw, possibly hostile text on the wire the client reads:
 *
 * - `websocket`: `frame(text)` sends one text frame on the client's socket.
 * - `sse`: `frame(text)` writes one `data:` event on the client's stream
 *   (each line of `text` becomes a `data:` line, as the SSE format requires).
 * - `long-poll`: `queueBody(text)` makes `text` the whole response body of the
 *   next POST whose batch holds a publish to `/inject` (so a test triggers it
 *   with `client.publish('/inject', …)`; `$ID` in `text` becomes that publish's
 *   id as JSON); a held connect is never disturbed.
 * - `iframe-streaming`: the connect is answered on the POST (as Faye answers a
 *   stream's connect); the test plays the frame by posting `MessageEvent`s.
 *
 * `deliver(channel, data)` sends a well-formed delivery on whatever the client
 * uses (a frame, an SSE event, the held connect's response), so a test can
 * prove the client still works after the hostile part. Every publish is echoed
 * back as a delivery. Close it with `stop()` in afterEach. Extend `handle()`
 * when a test needs another meta channel to behave differently.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Message } from '../../src/protocol/message.js';

export interface FakeEndpoint {
  url: string;
  /** Raw text on the client's socket or stream. */
  frame(text: string): void;
  /** The raw body of the response to the next POST that publishes to `/inject`. */
  queueBody(text: string): void;
  /**
   * Answer the next long-polling connect (the held one, if any) with `text` as
   * the body; with `keepReply` the connect reply comes first and `text` (a JSON
   * array) adds its messages after it.
   */
  answerNextConnect(text: string, keepReply?: boolean): void;
  /** A normal delivery on whatever connection the client uses. */
  deliver(channel: string, data: unknown): void;
  /** How many POSTs carrying an `/inject` publish were answered with a queued body. */
  readonly injected: number;
  stop(): Promise<void>;
}

export interface FakeOptions {
  /** Milliseconds a long-polling or WebSocket connect is held. @default 1000 */
  hold?: number;
  /** Offer the `ack` extension in the handshake reply. @default false */
  ack?: boolean;
}

export const CLIENT_ID = 'fake-client';

export async function startFakeEndpoint(options: FakeOptions = {}): Promise<FakeEndpoint> {
  const hold = options.hold ?? 1000;
  let seq = 0;
  let nextId = 0;
  let socket: WebSocket | null = null;
  let stream: http.ServerResponse | null = null;
  let held: { reply: Message; answer: (batch: Message[]) => void; raw: (text: string) => void; timer: NodeJS.Timeout } | null = null;
  let waiting: Message[] = [];
  const bodies: string[] = [];
  const overrides: Array<{ text: string; keepReply: boolean }> = [];
  let injected = 0;
  const timers = new Set<NodeJS.Timeout>();

  const delivery = (channel: string, data: unknown): Message => {
    const m: Message = { channel, data, id: `srv${++nextId}` };
    if (options.ack) m.ext = { seq: ++seq };
    return m;
  };

  const release = (extra: Message[] = []) => {
    if (!held) return;
    const h = held;
    held = null;
    clearTimeout(h.timer);
    timers.delete(h.timer);
    const override = overrides.shift();
    if (!override) return h.answer([h.reply, ...extra]);
    // Deliveries waiting for this connect go out with the next one.
    waiting.unshift(...extra);
    h.raw(override.keepReply ? `${JSON.stringify([h.reply]).slice(0, -1)},${override.text.slice(1)}` : override.text);
  };

  /** Push deliveries to the client on its live connection, or keep them for the next connect. */
  const push = (messages: Message[]) => {
    if (socket) return socket.send(JSON.stringify(messages));
    if (stream) return void stream.write(`data: ${JSON.stringify(messages)}\r\n\r\n`);
    if (held) return release(messages);
    waiting.push(...messages);
  };

  /** Replies to a batch; `answer` gets the held connect's response later when it is held. */
  const handle = (batch: Message[], answer: (batch: Message[]) => void, raw: (text: string) => void = () => {}): Message[] => {
    const replies: Message[] = [];
    for (const m of batch) {
      const base = { id: m.id, channel: m.channel, clientId: CLIENT_ID, successful: true };
      switch (m.channel) {
        case '/meta/handshake':
          replies.push({
            id: m.id,
            channel: m.channel,
            successful: true,
            version: '1.0',
            supportedConnectionTypes: ['websocket', 'eventsource', 'long-polling', 'iframe-streaming'],
            clientId: CLIENT_ID,
            advice: { reconnect: 'retry', interval: 0, timeout: hold },
            ...(options.ack ? { ext: { ack: 'seq' } } : {}),
          });
          break;
        case '/meta/connect': {
          const streaming = m.connectionType === 'eventsource' || m.connectionType === 'iframe-streaming';
          const reply: Message = {
            ...base,
            advice: streaming ? { reconnect: 'retry', interval: hold, timeout: 0 } : { reconnect: 'retry', interval: 0, timeout: hold },
          };
          if (streaming || m.advice?.timeout === 0) {
            replies.push(reply, ...waiting.splice(0));
            break;
          }
          release();
          const timer = setTimeout(() => release(), hold);
          timers.add(timer);
          held = { reply, answer, raw, timer };
          if (waiting.length || overrides.length) release(waiting.splice(0));
          break;
        }
        case '/meta/subscribe':
        case '/meta/unsubscribe':
          replies.push({ ...base, subscription: m.subscription! });
          break;
        case '/meta/disconnect':
          replies.push(base);
          break;
        default:
          replies.push(base);
          if (m.channel !== '/inject') queueMicrotask(() => push([delivery(m.channel, m.data)]));
      }
    }
    return replies;
  };

  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && (req.headers.accept ?? '').includes('text/event-stream')) {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' });
      res.write('retry: 5000\r\n\r\n');
      stream = res;
      res.on('close', () => stream === res && (stream = null));
      return;
    }
    if (req.method !== 'POST') return void res.writeHead(404).end();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const batch = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Message[];
      const send = (body: string) => {
        if (!res.writableEnded) res.writeHead(200, { 'Content-Type': 'application/json' }).end(body);
      };
      if (batch.some((m) => m.channel === '/inject') && bodies.length) {
        injected++;
        return send(bodies.shift()!.replaceAll('$ID', JSON.stringify(batch.find((m) => m.channel === '/inject')!.id)));
      }
      const answer = (b: Message[]) => send(JSON.stringify(b));
      const replies = handle(batch, answer, send);
      // A held connect is answered later, by `release`.
      if (held?.answer !== answer) send(JSON.stringify(replies));
    });
  });

  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, sock, head) => {
    wss.handleUpgrade(req, sock, head, (ws) => {
      socket = ws;
      ws.on('close', () => socket === ws && (socket = null));
      ws.on('message', (data) => {
        const batch = JSON.parse(String(data)) as Message[];
        const replies = handle(batch, (b) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(b)));
        if (replies.length) ws.send(JSON.stringify(replies));
      });
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/cometd`,
    frame(text) {
      if (socket) return socket.send(text);
      if (!stream) throw new Error('Expected a WebSocket or an SSE stream to write to but the client has neither');
      stream.write(text.split(/\r\n|\r|\n/).map((line) => `data: ${line}\r\n`).join('') + '\r\n');
    },
    queueBody: (text) => void bodies.push(text),
    answerNextConnect(text, keepReply = false) {
      overrides.push({ text, keepReply });
      release();
    },
    deliver: (channel, data) => push([delivery(channel, data)]),
    get injected() {
      return injected;
    },
    async stop() {
      for (const t of timers) clearTimeout(t);
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
