// Time to first message when WebSocket is refused and when it hangs: cometkit's
// client with default options vs Faye's client, against each server, and SockJS's
// client against its own server (it speaks SockJS's protocol, not Bayeux), through a
// proxy that passes HTTP but answers every WebSocket upgrade with 503 ("refused")
// or accepts the TCP connection and never answers ("hangs").
import http from 'node:http';
import net from 'node:net';
import { fmt, startChild, table } from './lib.mjs';

const LIMIT = 30_000;

/** A pass-through HTTP proxy to `target` whose WebSocket upgrades fail in `mode`. */
async function faultyProxy(target, mode) {
  const to = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    const upstream = http.request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      res.flushHeaders();
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  server.on('upgrade', (_req, socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    if (mode === 'refused') socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    // 'hangs': keep the socket open and silent until the proxy closes.
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}${to.pathname}`,
    async close() {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      agent.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export async function fallbackBench(log) {
  const rows = [];
  const results = {};
  /** Which clients speak each server's protocol. */
  const CLIENTS = { cometkit: ['cometkit', 'faye'], faye: ['cometkit', 'faye'], sockjs: ['sockjs'] };
  const LIBS = ['cometkit', 'faye', 'sockjs'];
  for (const serverKind of Object.keys(CLIENTS)) {
    const server = startChild('server-child.mjs', [serverKind]);
    const { url } = await server.ready;
    await server.request({ cmd: 'every', channel: '/ttfm', ms: 20 });
    try {
      for (const mode of ['refused', 'hangs']) {
        const proxy = await faultyProxy(url, mode);
        const row = [serverKind, `WebSocket ${mode}`];
        for (const lib of LIBS) {
          if (!CLIENTS[serverKind].includes(lib)) {
            row.push('–');
            continue;
          }
          log(`  first message: ${lib} client, WebSocket ${mode}, ${serverKind} server`);
          const client = startChild('client-child.mjs', [lib, 'default', proxy.url]);
          try {
            await client.ready;
            const r = await client.request({ cmd: 'first', channel: '/ttfm', ms: LIMIT }, LIMIT + 10_000);
            results[`${serverKind}/${mode}/${lib}`] = r;
            row.push(Number.isFinite(r.ms) ? `${fmt.ms(r.ms)} ms (${r.transport})` : `none in ${LIMIT / 1000} s`);
          } catch (error) {
            row.push(`error: ${String(error.message).slice(0, 60)}`);
          } finally {
            await client.stop();
          }
        }
        rows.push(row);
        await proxy.close();
      }
    } finally {
      await server.stop();
    }
  }
  return { results, markdown: table(['server', 'WebSocket', 'cometkit (default options)', "Faye's client (defaults)", "SockJS's client (defaults)"], rows) };
}
