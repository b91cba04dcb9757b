// Micro-benchmark of the client's receive path: the CPU cost of one delivered
// message, from a WebSocket frame's text to the subscriber's callback (parse,
// link, extensions, sequencing, routing, dispatch), with no network and no
// server. Deterministic: a fake WebSocket and fetch through the `platform`
// option, timers that never fire, and the same frames every round.
//
//   npm run build && node bench/receive.mjs [frames-per-round] [rounds]
//
// The client subscribes to `/bench/a` and `/bench/*`, so each message reaches
// two callbacks. Each frame carries 50 deliveries on `/bench/a`, with the ack
// extension's `ext.seq` (in order, as a server sends them) or without it.
// Reports the median CPU time (user + system) per message over the rounds
// (and the minimum: on a shared machine it is the steadier figure),
// and bytes allocated per message (the median heap growth over single frames;
// `node --trace-gc bench/receive.mjs | grep -c Scavenge` counts the GCs).
import v8 from 'node:v8';
import { CometClient, websocketTransport } from '../dist/index.mjs';
import { percentile } from './lib.mjs';

const FRAMES = Number(process.argv[2] ?? 1000);
const ROUNDS = Number(process.argv[3] ?? 9);
const PER_FRAME = 50;
const URL_ = 'http://localhost/cometd';

/** Answers as the server would, on the next microtask: handshake over HTTP, then the first connect, subscribes and the disconnect; later connects are held. */
function reply(m) {
  if (m.channel === '/meta/handshake') {
    return { channel: m.channel, id: m.id, successful: true, version: '1.0', clientId: 'c1', supportedConnectionTypes: ['websocket'], advice: { reconnect: 'retry', interval: 0, timeout: 30_000 }, ext: { ack: 'seq' } };
  }
  if (m.channel === '/meta/connect') return m.advice?.timeout === 0 ? { channel: m.channel, id: m.id, successful: true, advice: { reconnect: 'retry', interval: 0, timeout: 30_000 } } : null;
  return { channel: m.channel, id: m.id, successful: true, subscription: m.subscription };
}

const answer = (text) => JSON.stringify(JSON.parse(text).map(reply).filter(Boolean));

async function fakeFetch(_url, init) {
  const body = answer(init.body);
  return { ok: true, status: 200, statusText: 'OK', text: async () => body };
}

let socket = null;
class FakeWebSocket {
  onopen = null;
  onmessage = null;
  onclose = null;
  onerror = null;
  constructor() {
    socket = this;
    queueMicrotask(() => this.onopen?.({}));
  }
  send(text) {
    const data = answer(text);
    if (data !== '[]') queueMicrotask(() => this.onmessage?.({ data }));
  }
  close() {}
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

function frames(withSeq) {
  const out = [];
  let seq = 0;
  for (let f = 0; f < FRAMES; f++) {
    const batch = [];
    for (let i = 0; i < PER_FRAME; i++) {
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

/** A connected client with its two subscriptions, and the socket its deliveries arrive on. */
async function connected(counter) {
  const client = new CometClient({ url: URL_, transports: [websocketTransport], platform, rememberTransport: false, upgradeDelay: 0 });
  client.on('error', (e) => void errors.push(e));
  await client.connect();
  await Promise.all([client.subscribe('/bench/a', counter).ready, client.subscribe('/bench/*', counter).ready]);
  return { client, ws: socket };
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
  return (percentile(growth, 50) - percentile(probe, 50)) / PER_FRAME;
}

function report(name, times, alloc) {
  times.sort((x, y) => x - y);
  console.log(`${name.padEnd(16)} ${percentile(times, 50).toFixed(0).padStart(5)} ns/msg (min ${times[0].toFixed(0).padStart(4)}, max ${times.at(-1).toFixed(0).padStart(4)})  ${alloc.toFixed(0).padStart(4)} B/msg allocated`);
}

/** CPU time per message of `feed` over every frame, in microseconds → ns/msg. */
function cpu(texts, feed) {
  const t0 = process.cpuUsage();
  for (const data of texts) feed(data);
  const { user, system } = process.cpuUsage(t0);
  return ((user + system) * 1e3) / (texts.length * PER_FRAME);
}

/** The floor: JSON.parse of the same frames, with no client at all. */
function parseOnly(name, texts) {
  const parse = (data) => JSON.parse(data);
  const times = [];
  for (let r = 0; r <= ROUNDS; r++) {
    const t = cpu(texts, parse);
    if (r) times.push(t);
  }
  report(`${name}, parse`, times, allocated(texts, parse));
}

async function scenario(name, texts) {
  let calls = 0;
  const counter = () => void calls++;
  const messages = texts.length * PER_FRAME;
  const times = [];
  // One warm-up round, then the measured ones; a fresh client each round, so the same seqs apply.
  for (let r = 0; r <= ROUNDS; r++) {
    const { client, ws } = await connected(counter);
    calls = 0;
    const t = cpu(texts, (data) => ws.onmessage({ data }));
    if (calls !== 2 * messages || client.stats.delivered !== messages || errors.length) {
      throw new Error(`${name}: ${calls} calls, ${client.stats.delivered} delivered, errors: ${errors.map((e) => e.code).join(', ') || 'none'}`);
    }
    await client.disconnect();
    if (r) times.push(t);
  }
  const { ws, client } = await connected(counter);
  const alloc = allocated(texts, (data) => ws.onmessage({ data }));
  await client.disconnect();
  report(`${name}, client`, times, alloc);
}

console.log(`bench/receive: ${FRAMES} frames × ${PER_FRAME} deliveries per round, ${ROUNDS} rounds (+1 warm-up); subscribed to /bench/a and /bench/*`);
for (const [name, withSeq] of [['no seq', false], ['ext.seq', true]]) {
  const texts = frames(withSeq);
  parseOnly(name, texts);
  await scenario(name, texts);
}
