// One server process for the benchmark: `cometkit` (dist/server.mjs), `faye` (Faye
// 1.4.3's NodeAdapter), or `sockjs` (sockjs-node, not Bayeux: a publish is written to
// every open connection, for the fallback section only), on 127.0.0.1:0. Driven over IPC:
//   publish {channel, count, gap, pad}  server-side publishes {n, t, pad}; gap ms apart (0: back to back, 50 per tick)
//   every {channel, ms}                 publish {n, t} every `ms` until `stop`
//   stop                                stop the `every` timer
// `t` is the publish time (bench/lib.mjs `now()`), so receivers compute latency.
import http from 'node:http';
import { now, serveRequests, sleep } from './lib.mjs';

const [kind, optionsJson = '{}'] = process.argv.slice(2);
const options = JSON.parse(optionsJson);
const server = http.createServer((_req, res) => res.writeHead(404).end());
let publish;
let path;

if (kind === 'faye') {
  const { default: faye } = await import('faye');
  const adapter = new faye.NodeAdapter({ mount: '/faye', timeout: options.timeout ?? 30 });
  adapter.attach(server);
  const client = adapter.getClient();
  publish = (channel, data) => client.publish(channel, data);
  path = '/faye';
} else if (kind === 'sockjs') {
  const { default: sockjs } = await import('sockjs');
  const connections = new Set();
  const echo = sockjs.createServer({ prefix: '/sockjs', log: () => {} });
  echo.on('connection', (conn) => {
    connections.add(conn);
    conn.on('close', () => connections.delete(conn));
  });
  echo.installHandlers(server);
  publish = (_channel, data) => {
    for (const conn of connections) conn.write(JSON.stringify(data));
  };
  path = '/sockjs';
} else {
  const { createServer } = await import('../dist/server.mjs');
  const comet = createServer({ path: '/cometd', ...options });
  comet.attach(server);
  publish = (channel, data) => comet.publish(channel, data);
  path = '/cometd';
}

await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
let timer = null;

serveRequests({
  async publish({ channel, count, gap = 0, pad = 0 }) {
    const padding = 'x'.repeat(pad);
    if (gap > 0) {
      for (let n = 0; n < count; n++) {
        publish(channel, { n, t: now(), pad: padding });
        await sleep(gap);
      }
    } else {
      // Back to back in chunks of 50 (what a busy app does), yielding to I/O between chunks.
      for (let n = 0; n < count; ) {
        const chunk = [];
        for (const end = Math.min(count, n + 50); n < end; n++) chunk.push(publish(channel, { n, t: now(), pad: padding }));
        await Promise.all(chunk);
        await new Promise((r) => setImmediate(r));
      }
    }
    return {};
  },
  async every({ channel, ms }) {
    let n = 0;
    clearInterval(timer);
    timer = setInterval(() => publish(channel, { n: n++, t: now() }), ms);
    return {};
  },
  async stop() {
    clearInterval(timer);
    return {};
  },
  async stats({ gc = false }) {
    // With --expose-gc, measure live memory rather than whatever garbage is waiting.
    if (gc && globalThis.gc) globalThis.gc();
    const { getHeapSpaceStatistics } = await import('node:v8');
    const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }]));
    return { memory: process.memoryUsage(), spaces, cpu: process.cpuUsage() };
  },
  async snapshot({ file }) {
    const { writeHeapSnapshot } = await import('node:v8');
    return { file: writeHeapSnapshot(file) };
  },
});
process.send({ type: 'ready', url: `http://127.0.0.1:${server.address().port}${path}` });
