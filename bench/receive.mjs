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
// and bytes allocated per message (heap growth over frames with no GC in them;
// `node --trace-gc bench/receive.mjs | grep -c Scavenge` counts the GCs).
import v8 from 'node:v8';
import { CometClient, websocketTransport } from '../dist/index.mjs';

const FRAMES = Number(process.argv[2] ?? 1000);
const ROUNDS = Number(process.argv[3] ?? 9);
const PER_FRAME = 50;
const URL_ = 'http://localhost/cometd';

/** Answers as the server would, on the next microtask: handshake over HTTP, then the first connect, subscribes and the disconnect; later connects are held. */
function reply(m) {
  if (m.channel === '/meta/handshake') {
    return { channel: m.channel, id: m.id, successful: true, version: '1.0', clientId: 'c1', supportedConnectionTypes: ['websocket'], advice: { reconnect: 'retry', interval: 0, timeout: 30_000 }, ext: { ack: true } };
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

/** A connected client with its two subscriptions, and the socket its deliveries arrive on. */
async function connected(counter) {
  const client = new CometClient({ url: URL_, transports: [websocketTransport], platform, rememberTransport: false, upgradeDelay: 0 });
  client.on('error', (e) => {
    throw e;
  });
  await client.connect();
  await Promise.all([client.subscribe('/bench/a', counter).ready, client.subscribe('/bench/*', counter).ready]);
  return { client, ws: socket };
}


async function scenario(name, texts) {
  let calls = 0;
  const counter = () => void calls++;
  const messages = FRAMES * PER_FRAME;
  const times = [];
  // One warm-up round, then the measured ones; a fresh client each round, so the same seqs apply.
  for (let r = 0; r <= ROUNDS; r++) {
    const { client, ws } = await connected(counter);
    calls = 0;
    const t0 = process.cpuUsage();
    for (const data of texts) ws.onmessage({ data });
    const { user, system } = process.cpuUsage(t0);
    if (calls !== 2 * messages || client.stats.delivered !== messages) throw new Error(`${name}: ${calls} calls, ${client.stats.delivered} delivered`);
    await client.disconnect();
    if (r) times.push(((user + system) * 1e3) / messages);
  }

  // Allocation: heap growth across single frames that saw no GC (growth < 0 means one ran).
  const { ws, client } = await connected(counter);
  const used = () => v8.getHeapStatistics().used_heap_size;
  let probe = 0;
  const n = 200;
  for (let i = 0; i < n; i++) {
    const a = used();
    probe += used() - a;
  }
  const overhead = probe / n; // what a used() call itself allocates
  let bytes = 0;
  let counted = 0;
  for (const data of texts) {
    const a = used();
    ws.onmessage({ data });
    const d = used() - a;
    if (d >= 0) {
      bytes += d - overhead;
      counted++;
    }
  }
  await client.disconnect();
  times.sort((x, y) => x - y);
  const median = times[times.length >> 1];
  const alloc = counted ? bytes / (counted * PER_FRAME) : NaN;
  console.log(`${name.padEnd(8)} ${median.toFixed(0).padStart(5)} ns/msg (min ${times[0].toFixed(0)}, max ${times.at(-1).toFixed(0)})  ${alloc.toFixed(0).padStart(5)} B/msg allocated`);
}

console.log(`bench/receive: ${FRAMES} frames × ${PER_FRAME} deliveries per round, ${ROUNDS} rounds (+1 warm-up); subscribed to /bench/a and /bench/*`);
/** The floor: what JSON.parse of the same frames costs, with no client at all. */
function parseOnly(name, texts) {
  const times = [];
  for (let r = 0; r <= ROUNDS; r++) {
    const t0 = process.cpuUsage();
    for (const data of texts) JSON.parse(data);
    const { user, system } = process.cpuUsage(t0);
    if (r) times.push(((user + system) * 1e3) / (FRAMES * PER_FRAME));
  }
  times.sort((x, y) => x - y);
  console.log(`${name.padEnd(8)} ${times[times.length >> 1].toFixed(0).padStart(5)} ns/msg (min ${times[0].toFixed(0)}) for JSON.parse alone`);
}

for (const [name, withSeq] of [['no seq', false], ['ext.seq', true]]) {
  const texts = frames(withSeq);
  parseOnly(name, texts);
  await scenario(name, texts);
}
