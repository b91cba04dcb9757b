// Micro-benchmark of the client's receive path: the CPU cost of one delivered
// message, from a WebSocket frame's text to the subscriber's callback (parse,
// link, extensions, sequencing, routing, dispatch), with no network and no
// server, for cometkit's client and for Faye's Node client (npm `faye`) fed
// the same frames. Deterministic: fake WebSockets (cometkit's through the
// `platform` option, Faye's in place of `faye-websocket`'s client), no timer
// that fires while measuring, and the same frames every round. Faye's client
// handshakes over HTTP, so a loopback server answers that one request.
//
//   npm run build && node bench/receive.mjs [frames-per-round] [rounds]
//
// Each client subscribes to `/bench/a` and `/bench/*`, so each message reaches
// two callbacks. Frames carry 50 deliveries on `/bench/a` (as cometkit's server
// batches them), with the ack extension's `ext.seq` or without it, or one
// delivery each (as Faye's server sends them over a WebSocket).
// Reports the median CPU time (user + system) per message over the rounds
// (and the minimum: on a shared machine it is the steadier figure),
// and bytes allocated per message (the median heap growth over single frames;
// `node --trace-gc bench/receive.mjs | grep -c Scavenge` counts the GCs).
import http from 'node:http';
import { createRequire } from 'node:module';
import v8 from 'node:v8';
import { CometClient, websocketTransport } from '../dist/index.mjs';
import { percentile } from './lib.mjs';

const FRAMES = Number(process.argv[2] ?? 1000);
const ROUNDS = Number(process.argv[3] ?? 9);
const URL_ = 'http://localhost/cometd';

/** Answers as the server would, on the next microtask: handshake over HTTP, then the first connect, subscribes and the disconnect; later connects are held. */
function reply(m) {
  if (m.channel === '/meta/handshake') {
    return { channel: m.channel, id: m.id, successful: true, version: '1.0', clientId: 'c1', supportedConnectionTypes: ['websocket'], advice: { reconnect: 'retry', interval: 0, timeout: 30_000 }, ext: { ack: 'seq' } };
  }
  if (m.channel === '/meta/connect') return m.advice?.timeout === 0 ? { channel: m.channel, id: m.id, successful: true, advice: { reconnect: 'retry', interval: 0, timeout: 30_000 } } : null;
  return { channel: m.channel, id: m.id, successful: true, subscription: m.subscription };
}

/** The replies to a frame of requests. */
const replies = (text) => JSON.parse(text).map(reply).filter(Boolean);

async function fakeFetch(_url, init) {
  const body = JSON.stringify(replies(init.body));
  return { ok: true, status: 200, statusText: 'OK', text: async () => body };
}

/** What both clients' sockets share: the handlers they set, and replies on the next microtask. */
class FakeSocket {
  onopen = null;
  onmessage = null;
  onclose = null;
  onerror = null;
  answer(messages) {
    if (messages.length) queueMicrotask(() => this.onmessage?.({ data: JSON.stringify(messages) }));
  }
  close() {}
}

let socket = null;
class FakeWebSocket extends FakeSocket {
  constructor() {
    super();
    socket = this;
    queueMicrotask(() => this.onopen?.({}));
  }
  send(text) {
    this.answer(replies(text));
  }
}

let handle = 0;
const platform = {
  WebSocket: FakeWebSocket,
  fetch: fakeFetch,
  setTimeout: () => ++handle,
  clearTimeout: () => {},
  now: () => 0,
  window: undefined,
  document: undefined,
  storage: undefined,
};

/** `FRAMES × 50` messages in frames of `perFrame`. */
function frames(withSeq, perFrame) {
  const out = [];
  let seq = 0;
  for (let f = 0; f < (FRAMES * 50) / perFrame; f++) {
    const batch = [];
    for (let i = 0; i < perFrame; i++) {
      seq++;
      const m = { channel: '/bench/a', data: { n: seq, text: 'hello world' } };
      if (withSeq) m.ext = { seq };
      batch.push(m);
    }
    out.push(JSON.stringify(batch));
  }
  return out;
}

/** Errors any client reported; a listener that threw would be caught by the client's emitter, so they are collected instead. */
const errors = [];

/** A connected cometkit client with its two subscriptions: feed it frames as its socket would. */
async function cometkitClient(counter) {
  const client = new CometClient({ url: URL_, transports: [websocketTransport], platform, rememberTransport: false, upgradeDelay: 0 });
  client.on('error', (e) => void errors.push(e));
  await client.connect();
  await Promise.all([client.subscribe('/bench/a', counter).ready, client.subscribe('/bench/*', counter).ready]);
  const ws = socket;
  return { feed: (data) => ws.onmessage({ data }), close: () => client.disconnect() };
}

// Faye's Node client takes its WebSocket class from `faye-websocket` when it loads: a fake in its
// place answers like `FakeWebSocket`, except that Faye asks for no immediate first connect (it is answered anyway).
const require = createRequire(import.meta.url);
let fayeSocket = null;
class FakeFayeWebSocket extends FakeSocket {
  readyState = 0;
  #connects = 0;
  constructor() {
    super();
    fayeSocket = this;
    setTimeout(() => {
      this.readyState = 1;
      this.onopen?.({});
    }, 0);
  }
  send(text) {
    const connect = (m) => (this.#connects++ ? null : { channel: m.channel, id: m.id, successful: true, advice: { reconnect: 'retry', interval: 0, timeout: 30_000 } });
    this.answer(JSON.parse(text).map((m) => (m.channel === '/meta/connect' ? connect(m) : reply(m))).filter(Boolean));
  }
}
require('faye-websocket').Client = FakeFayeWebSocket;
const faye = require('faye');

/** The one HTTP request Faye's client makes: its handshake (it handshakes over HTTP, then moves to the WebSocket). */
const fayeHandshake = http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(replies(body))));
});
await new Promise((resolve) => fayeHandshake.listen(0, '127.0.0.1', resolve));
const FAYE_URL = `http://127.0.0.1:${fayeHandshake.address().port}/cometd`;

/** A connected Faye client, on its WebSocket transport, with the same two subscriptions. */
async function fayeClient(counter) {
  const client = new faye.Client(FAYE_URL);
  client.disable('autodisconnect');
  await Promise.all([client.subscribe('/bench/a', counter), client.subscribe('/bench/*', counter)]);
  if (client._dispatcher._transport?.connectionType !== 'websocket') throw new Error('Faye did not move to its WebSocket transport');
  const ws = fayeSocket;
  return { feed: (data) => ws.onmessage({ data }), close: () => client.disconnect() };
}

const used = () => v8.getHeapStatistics().used_heap_size;

/**
 * Bytes allocated per message by `feed` over `texts`: the median heap growth
 * across single frames (a frame with a GC in it shrinks the heap or, when
 * objects get promoted, shows an outlier; the median ignores both).
 */
function allocated(texts, feed) {
  const probe = [];
  for (let i = 0; i < 201; i++) {
    const a = used();
    probe.push(used() - a);
  }
  const growth = [];
  for (const data of texts) {
    const a = used();
    feed(data);
    growth.push(used() - a);
  }
  // Less what a used() call itself allocates.
  return ((percentile(growth, 50) - percentile(probe, 50)) * texts.length) / MESSAGES;
}

function report(name, times, alloc) {
  times.sort((x, y) => x - y);
  console.log(`${name.padEnd(30)} ${percentile(times, 50).toFixed(0).padStart(5)} ns/msg (min ${times[0].toFixed(0).padStart(5)}, max ${times.at(-1).toFixed(0).padStart(5)})  ${alloc.toFixed(0).padStart(4)} B/msg allocated`);
  return percentile(times, 50);
}

/** CPU time per message of `feed` over every frame, in microseconds → ns/msg. */
function cpu(texts, feed) {
  const t0 = process.cpuUsage();
  for (const data of texts) feed(data);
  const { user, system } = process.cpuUsage(t0);
  return ((user + system) * 1e3) / MESSAGES;
}

/** The floor: JSON.parse of the same frames, with no client at all. */
function parseOnly(name, texts) {
  const parse = (data) => JSON.parse(data);
  const times = [];
  for (let r = 0; r <= ROUNDS; r++) {
    const t = cpu(texts, parse);
    if (r) times.push(t);
  }
  return report(`${name}, JSON.parse`, times, allocated(texts, parse));
}

/** ns/msg of one client over `texts`; checks that every message reached both callbacks. */
async function scenario(name, texts, connect) {
  let calls = 0;
  const counter = () => void calls++;
  const times = [];
  // One warm-up round, then the measured ones; a fresh client each round, so the same seqs apply.
  for (let r = 0; r <= ROUNDS; r++) {
    const client = await connect(counter);
    calls = 0;
    const t = cpu(texts, client.feed);
    if (calls !== 2 * MESSAGES || errors.length) {
      throw new Error(`${name}: ${calls} calls for ${MESSAGES} messages, errors: ${errors.map((e) => e.code).join(', ') || 'none'}`);
    }
    await client.close();
    if (r) times.push(t);
  }
  const client = await connect(counter);
  const alloc = allocated(texts, client.feed);
  await client.close();
  return report(name, times, alloc);
}

const MESSAGES = FRAMES * 50;
console.log(`bench/receive: ${MESSAGES} deliveries per round, ${ROUNDS} rounds (+1 warm-up); subscribed to /bench/a and /bench/*`);
const ratios = [];
for (const [name, withSeq, perFrame] of [
  ['50 a frame', false, 50],
  ['50 a frame, ext.seq', true, 50],
  ['1 a frame', false, 1],
]) {
  const texts = frames(withSeq, perFrame);
  parseOnly(name, texts);
  const ours = await scenario(`${name}, cometkit`, texts, cometkitClient);
  const theirs = await scenario(`${name}, Faye`, texts, fayeClient);
  ratios.push(`${name}: ${(theirs / ours).toFixed(1)}×`);
}
console.log(`Faye's client ÷ cometkit's, CPU per message: ${ratios.join(', ')}`);
fayeHandshake.close();
