// One subscribing client process for the delivery benchmark, so the client's CPU
// is its own. Args: `cometkit|faye|sockjs <transport> <url>` (sockjs: `first` only). Both clients bring their own
// WebSocket (cometkit's `ws` through `platform`, Faye's `faye-websocket`).
// IPC: subscribe {channel} → {transport}; arm {count, ms, timed} starts counting the next
// `count` deliveries (with latencies when `timed`), collect → their stats; first {channel, ms} → time to the first message with
// default options (transport arg `default`); close.
import { now, serveRequests, within } from './lib.mjs';

const [lib, transport, url] = process.argv.slice(2);
const { EventSource } = await import('eventsource');
globalThis.EventSource ??= EventSource;

let onData = () => {};
let client;
let used = transport;

async function subscribe(channel) {
  if (lib === 'faye') {
    const { default: faye } = await import('faye');
    client = new faye.Client(url, { timeout: 30 });
    if (transport === 'long-poll') client.disable('websocket');
    await within(Promise.resolve(client.subscribe(channel, (data) => onData(data))), 20_000, 'faye subscribe');
    // Faye picks its transport after the handshake; wait until it settled.
    const t0 = Date.now();
    while (Date.now() - t0 < 5_000) {
      used = client._dispatcher._transport?.connectionType;
      if ((transport === 'websocket') === (used === 'websocket')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return { transport: used };
  }
  const { createClient } = await import('../dist/index.mjs');
  client = createClient({ url, transports: [transport], rememberTransport: false, platform: await nodePlatform() });
  const sub = client.subscribe(channel, (data) => onData(data));
  await within(sub.ready, 20_000, 'cometkit subscribe');
  return { transport: client.transport };
}

/**
 * In Node both clients run on a JavaScript WebSocket library, as a Node app's would:
 * Faye's on `faye-websocket` (its dependency), cometkit's on `ws` through the
 * `platform` option (Node 20's experimental global WebSocket costs ~2 µs more per message).
 */
async function nodePlatform() {
  return { WebSocket: (await import('ws')).WebSocket };
}

/** Default options, as an app would write them: time from creating the client to its first delivery. */
async function firstMessage(channel, ms) {
  const started = now();
  let first;
  const arrived = new Promise((resolve) => (first = resolve));
  if (lib === 'faye') {
    const { default: faye } = await import('faye');
    client = new faye.Client(url);
    client.subscribe(channel, () => first());
  } else if (lib === 'sockjs') {
    // No channels: its server writes every publish to every connection.
    const { default: SockJS } = await import('sockjs-client');
    client = new SockJS(url);
    client.onmessage = () => first();
  } else {
    const { createClient } = await import('../dist/index.mjs');
    client = createClient({ url, platform: await nodePlatform() });
    client.subscribe(channel, () => first());
  }
  try {
    await within(arrived, ms, 'first message');
  } catch {
    return { ms: Infinity };
  }
  const transport = lib === 'faye' ? client._dispatcher._transport?.connectionType : client.transport; // SockJS's too: its transport's name
  return { ms: now() - started, transport };
}

let armed = Promise.resolve({});

/** Count the next `count` deliveries; with `timed`, also their latencies (only the paced phase reads them). */
async function collect(count, ms, timed) {
  const latencies = [];
  let last = NaN;
  let expected = null;
  let outOfOrder = 0;
  let received = 0;
  const cpu0 = process.cpuUsage();
  const done = new Promise((resolve) => {
    onData = (data) => {
      last = now();
      if (timed) latencies.push(last - data.t);
      if (expected !== null && data.n !== expected) outOfOrder++;
      expected = data.n + 1;
      if (++received >= count) resolve();
    };
  });
  try {
    await within(done, ms, `${count} deliveries`);
  } catch {
    // Report what arrived; the table shows the shortfall.
  }
  onData = () => {};
  const cpu = process.cpuUsage(cpu0);
  // CPU time is what the client costs, whatever else runs on the machine.
  return { received, last, latencies, outOfOrder, cpuMs: (cpu.user + cpu.system) / 1000 };
}

serveRequests({
  async first({ channel, ms = 30_000 }) {
    return firstMessage(channel, ms);
  },
  async subscribe({ channel }) {
    return subscribe(channel);
  },
  /**
   * Start counting the next `count` deliveries and answer at once: the driver
   * publishes only after this answer, so no message can arrive before the counter
   * is in place (a race that used to show up as a few messages short).
   */
  async arm({ count, ms = 60_000, timed = false }) {
    armed = collect(count, ms, timed);
    return {};
  },
  /** Stats of the armed deliveries: count, last receipt, latencies (when timed), order, CPU. */
  async collect() {
    return armed;
  },
  async close() {
    if (lib === 'faye') client?.disconnect();
    else if (lib === 'sockjs') client?.close();
    else await client?.disconnect().catch(() => {});
    return {};
  },
});
process.send({ type: 'ready' });
