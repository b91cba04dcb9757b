// The live demo: the reference server plus one page that loads the CDN bundle
// with a <script> tag. `npm start` builds first, then runs this file.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { createServer } from '../dist/server.mjs';

const root = new URL('..', import.meta.url);
const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';

const files = {
  '/': ['demo/index.html', 'text/html; charset=utf-8'],
  '/cometkit.min.js': ['dist/cometkit.min.js', 'text/javascript; charset=utf-8'],
};

async function serveFile(req, res) {
  const entry = files[new URL(req.url, 'http://x').pathname];
  if (!entry) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not found');
    return;
  }
  const body = await readFile(new URL(entry[0], root));
  res.writeHead(200, { 'Content-Type': entry[1], 'Cache-Control': 'no-store' }).end(body);
}

const comet = createServer({ path: '/cometd' });
const server = http.createServer((req, res) => {
  serveFile(req, res).catch((error) => {
    res.writeHead(500).end(String(error));
  });
});
comet.attach(server);

// The stock ticker: the server pushes a price for each symbol, like a market feed.
const prices = { ACME: 42.5, GLOBEX: 17.2, INITECH: 88.1, UMBRELLA: 3.14 };
const ticker = setInterval(() => {
  for (const [symbol, price] of Object.entries(prices)) {
    const next = Math.max(0.01, price * (1 + (Math.random() - 0.5) * 0.02));
    prices[symbol] = Math.round(next * 100) / 100;
    comet.publish(`/stocks/${symbol}`, { symbol, price: prices[symbol], at: Date.now() }).catch(() => {});
  }
}, 1000);

server.listen(port, host, () => {
  console.log(`cometkit demo: http://${host}:${port}/  (Bayeux endpoint /cometd)`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    clearInterval(ticker);
    await comet.close();
    server.close(() => process.exit(0));
  });
}
