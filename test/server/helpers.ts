/**
 * Test helpers for the reference server: start it on 127.0.0.1 with an
 * ephemeral port, talk to it with raw fetch / ws / http, and close everything
 * in afterEach (`closeAll`). Add a helper here when two test files need it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { createServer, type CometServer, type ServerOptions } from '../../src/server/index.js';
import type { Message } from '../../src/protocol/message.js';

export interface Running {
  comet: CometServer;
  server: http.Server;
  /** `http://127.0.0.1:<port>/cometd` */
  url: string;
  port: number;
}

const running: Running[] = [];
const sockets: WebSocket[] = [];
const requests: http.ClientRequest[] = [];

/** Start a server; fast defaults so held connects and sweeps do not slow the suite. */
export async function start(options: ServerOptions = {}, app?: http.RequestListener): Promise<Running> {
  const server = http.createServer(app);
  const comet = createServer({ timeout: 500, sessionTimeout: 2_000, ...options });
  comet.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const r = { comet, server, port, url: `http://127.0.0.1:${port}${comet.options.path}` };
  running.push(r);
  return r;
}

/** Close every socket, stream, Comet server and HTTP server started by the test. */
export async function closeAll(): Promise<void> {
  for (const ws of sockets.splice(0)) ws.terminate();
  for (const req of requests.splice(0)) req.destroy();
  for (const r of running.splice(0)) {
    await r.comet.close();
    r.server.closeAllConnections();
    await new Promise((resolve) => r.server.close(resolve));
  }
}

/** POST a batch; resolves with status, parsed body and the body's text as it arrived. */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Message[]; text: string; headers: Headers }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as Message[], text, headers: res.headers };
}

/** Handshake over HTTP; resolves with the clientId. */
export async function handshake(url: string, ext?: Record<string, unknown>, types = ['long-polling', 'websocket', 'eventsource', 'iframe-streaming', 'callback-polling']): Promise<string> {
  const { body } = await post(url, [{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: types, id: 'h', ...(ext ? { ext } : {}) }]);
  if (!body[0]?.successful) throw new Error(`handshake failed: ${JSON.stringify(body)}`);
  return body[0].clientId!;
}

/** Subscribe over HTTP and check the reply. */
export async function subscribe(url: string, clientId: string, subscription: string): Promise<void> {
  const { body } = await post(url, [{ channel: '/meta/subscribe', clientId, subscription, id: 's' }]);
  if (!body[0]?.successful) throw new Error(`subscribe failed: ${JSON.stringify(body)}`);
}

/** A long-polling `/meta/connect`. */
export function connect(url: string, clientId: string, ext?: Record<string, unknown>, connectionType = 'long-polling') {
  return post(url, [{ channel: '/meta/connect', clientId, connectionType, id: 'c', ...(ext ? { ext } : {}) }]);
}

/** A streamed GET whose text accumulates in `text`; `done` resolves when the server ends it. */
export interface RawStream {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  done: Promise<void>;
  /** Drop the connection from the client side. */
  destroy(): void;
}

/** Open a streaming GET and resolve once the response headers arrived. */
export function openStream(url: string, headers: Record<string, string> = {}): Promise<RawStream> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      let finish!: () => void;
      const stream: RawStream = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        text: '',
        done: new Promise<void>((r) => (finish = r)),
        destroy: () => req.destroy(),
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (stream.text += chunk));
      res.on('end', () => finish());
      res.on('close', () => finish());
      resolve(stream);
    });
    req.on('error', reject);
    requests.push(req);
  });
}

/** The batches in an SSE text: each `data:` line parsed. */
export function sseBatches(text: string): Message[][] {
  return text
    .split('\r\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.parse(line.slice(6)) as Message[]);
}

/** Where a client opens its iframe stream: `<url>/<clientId>`, for the server's own origin, with an ack when given. */
export function iframeStreamUrl(url: string, clientId: string, ack?: number | string): string {
  const stream = new URL(`${url}/${clientId}`);
  stream.searchParams.set('connectionType', 'iframe-streaming');
  stream.searchParams.set('origin', stream.origin);
  if (ack !== undefined) stream.searchParams.set('ack', String(ack));
  return stream.href;
}

/** The batches in an iframe document: each `c("...")` string literal evaluated back into a frame. */
export function iframeBatches(text: string): Message[][] {
  const out: Message[][] = [];
  for (const match of text.matchAll(/<script>c\((.*?)\)<\/script>/g)) {
    // The argument is a JS string literal built from JSON.stringify plus \uXXXX escapes: valid JSON too.
    out.push(JSON.parse(JSON.parse(match[1]!) as string) as Message[]);
  }
  return out;
}

/** An open WebSocket plus every batch it received. */
export interface Socket {
  ws: WebSocket;
  batches: Message[][];
  /** The same batches as the text frames that carried them. */
  texts: string[];
  send(messages: Message[]): void;
  closed: Promise<{ code: number }>;
}

/** Open a WebSocket on the endpoint (ws:// URL derived from the http one). */
export function openSocket(url: string, headers: Record<string, string> = {}): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws'), { headers });
    sockets.push(ws);
    const socket: Socket = {
      ws,
      batches: [],
      texts: [],
      send: (messages) => ws.send(JSON.stringify(messages)),
      closed: new Promise((r) => ws.on('close', (code) => r({ code }))),
    };
    ws.on('message', (data) => {
      socket.texts.push(String(data));
      socket.batches.push(JSON.parse(String(data)) as Message[]);
    });
    ws.on('open', () => resolve(socket));
    ws.on('error', reject);
    ws.on('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
  });
}

/**
 * Publish `{ n, data }` (15,000 characters each) to `channel` until the server's side of a stalled
 * reader (`writable`: its socket or response) reports a full write buffer, then 500 more, at most
 * 20,000 in all. `blockedAt`: how many had gone when it first did (-1: never); `mostUnread`: the
 * most bytes its buffer held meanwhile.
 */
export async function publishUntilBlocked(
  comet: CometServer,
  channel: string,
  writable: { readonly writableNeedDrain: boolean; readonly writableLength: number },
): Promise<{ published: number; blockedAt: number; mostUnread: number }> {
  const data = 'x'.repeat(15_000);
  let published = 0;
  let blockedAt = -1;
  let mostUnread = 0;
  while (published < 20_000 && (blockedAt < 0 || published < blockedAt + 500)) {
    await comet.publish(channel, { n: published++, data });
    if (published % 20 === 0) await new Promise((r) => setImmediate(r));
    if (blockedAt < 0 && writable.writableNeedDrain) blockedAt = published;
    mostUnread = Math.max(mostUnread, writable.writableLength);
  }
  return { published, blockedAt, mostUnread };
}
