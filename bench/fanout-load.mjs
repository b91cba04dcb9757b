// Load generator for the fan-out benchmark: thousands of raw Bayeux clients
// (WebSocket via `ws`, or EventSource streams via node:http) in this process, so the
// server process is measured alone. Each client handshakes with the ack extension,
// subscribes to one channel and acks what it got on every connect, as the SDK does.
// IPC: open {url, n, transport, channel} → {ms}; count → {deliveries, p50, p99}; close.
import http from 'node:http';
import { WebSocket } from 'ws';
import { now, percentile, serveRequests } from './lib.mjs';

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const clients = [];
let deliveries = 0;
let latencies = [];

function post(url, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        try {
          resolve(JSON.parse(text));
        } catch (error) {
          reject(error);
        }
      });
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** Count deliveries in a batch; returns the highest seq seen. */
function receive(batch, client) {
  for (const m of batch) {
    if (m.channel.startsWith('/meta/')) continue;
    deliveries++;
    if (m.ext?.seq > client.seq) client.seq = m.ext.seq;
    if (typeof m.data?.t === 'number' && latencies.length < 200_000) latencies.push(now() - m.data.t);
  }
}

async function handshake(url, channel, type) {
  const [hello] = await post(url, [{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: [type], ext: { ack: 'seq' }, id: 'h' }]);
  if (!hello?.successful) throw new Error(`handshake failed: ${JSON.stringify(hello)}`);
  const [sub] = await post(url, [{ channel: '/meta/subscribe', clientId: hello.clientId, subscription: channel, id: 's' }]);
  if (!sub?.successful) throw new Error(`subscribe failed: ${JSON.stringify(sub)}`);
  return hello.clientId;
}

async function openWebSocket(url, channel) {
  const clientId = await handshake(url, channel, 'websocket');
  const client = { clientId, seq: 0, close: () => {} };
  const ws = new WebSocket(url.replace(/^http/, 'ws'), { perMessageDeflate: false });
  client.close = () => ws.terminate();
  let n = 0;
  const connect = () => ws.send(JSON.stringify([{ channel: '/meta/connect', clientId, connectionType: 'websocket', id: String(++n), ext: { ack: client.seq } }]));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.on('error', () => {});
  ws.on('message', (data) => {
    const batch = JSON.parse(String(data));
    receive(batch, client);
    // A held connect was answered: send the next one, carrying the ack.
    if (batch.some((m) => m.channel === '/meta/connect' && m.successful)) connect();
  });
  connect();
  return client;
}

async function openEventSource(url, channel) {
  const clientId = await handshake(url, channel, 'eventsource');
  const client = { clientId, seq: 0, close: () => {} };
  await new Promise((resolve, reject) => {
    const req = http.get(`${url}/${encodeURIComponent(clientId)}`, { agent: false, headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`stream answered ${res.statusCode}`));
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        buffer += chunk;
        let end;
        // Events end with a blank line (the server writes CRLF, as Faye does).
        while ((end = buffer.indexOf('\r\n\r\n')) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 4);
          for (const line of event.split('\r\n')) if (line.startsWith('data:')) receive(JSON.parse(line.slice(5)), client);
        }
      });
      res.on('error', () => {});
      resolve();
    });
    req.on('error', reject);
    client.close = () => req.destroy();
  });
  // The connect is answered on the stream; the next one (with acks) is due after advice.interval (30 s).
  await post(url, [{ channel: '/meta/connect', clientId, connectionType: 'eventsource', id: 'c', ext: { ack: 0 } }]);
  client.timer = setInterval(() => {
    post(url, [{ channel: '/meta/connect', clientId, connectionType: 'eventsource', id: 'c', ext: { ack: client.seq } }]).catch(() => {});
  }, 25_000);
  return client;
}

serveRequests({
  async open({ url, n, transport, channel }) {
    const started = now();
    const open = transport === 'websocket' ? openWebSocket : openEventSource;
    let next = 0;
    // 100 clients connecting at a time: a burst of 10k handshakes at once measures the accept queue, not the server.
    const worker = async () => {
      while (next < n) {
        next++;
        clients.push(await open(url, channel));
      }
    };
    await Promise.all(Array.from({ length: 100 }, worker));
    return { ms: now() - started, clients: clients.length };
  },
  async count({ reset = false }) {
    const out = { deliveries, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
    if (reset) latencies = [];
    return out;
  },
  async close() {
    for (const c of clients.splice(0)) {
      clearInterval(c.timer);
      c.close();
    }
    return {};
  },
});
process.send({ type: 'ready' });
