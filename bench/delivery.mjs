// Delivery throughput and latency per transport: cometkit's client and Faye's
// Node client, each against Faye's server and against cometkit's server, same
// message count, one server process and one client process per run.
import { fmt, percentile, procStats, startChild, table } from './lib.mjs';

const BURST = 20_000; // messages published back to back: throughput
const PACED = 1_000; // messages 2 ms apart: latency without queueing
const GAP = 2;

async function runOne(serverUrl, server, lib, transport, channel) {
  const client = startChild('client-child.mjs', [lib, transport, serverUrl], { flags: ['--experimental-websocket'] });
  try {
    await client.ready;
    const sub = await client.request({ cmd: 'subscribe', channel }, 30_000);
    if (sub.unsupported) return { unsupported: sub.unsupported };
    // Warm-up: JIT, connection pools, transport upgrades.
    await client.request({ cmd: 'arm', count: 200, ms: 20_000 });
    await server.request({ cmd: 'publish', channel, count: 200, gap: 1 });
    await client.request({ cmd: 'collect' }, 30_000);
    await client.request({ cmd: 'arm', count: BURST, ms: 60_000 });
    const server0 = procStats(server.pid);
    const started = performance.timeOrigin + performance.now();
    await server.request({ cmd: 'publish', channel, count: BURST, gap: 0 });
    const burst = await client.request({ cmd: 'collect' }, 90_000);
    const serverMs = procStats(server.pid).cpuMs - server0.cpuMs;
    const burstMs = burst.last - started;
    await client.request({ cmd: 'arm', count: PACED, ms: 30_000 });
    await server.request({ cmd: 'publish', channel, count: PACED, gap: GAP });
    const paced = await client.request({ cmd: 'collect' }, 60_000);
    await client.request({ cmd: 'close' }, 10_000).catch(() => {});
    return {
      transport: sub.transport,
      throughput: burst.received / (burstMs / 1000),
      cpuUs: burst.cpuUs,
      // Share of the burst's wall time each process was on a CPU: below ~100 % it was waiting, not the bottleneck.
      clientBusy: (burst.cpuUs * burst.received) / 1000 / burstMs,
      serverBusy: serverMs / burstMs,
      burstReceived: burst.received,
      outOfOrder: burst.outOfOrder + paced.outOfOrder,
      p50: percentile(paced.latencies, 50),
      p99: percentile(paced.latencies, 99),
      pacedReceived: paced.received,
    };
  } catch (error) {
    return { error: String(error.message ?? error) };
  } finally {
    await client.stop();
  }
}

const busy = (share) => fmt.pct(share * 100);

/** Runs every combination; returns Markdown. */
export async function deliveryBench(log) {
  const rows = [];
  const results = {};
  for (const serverKind of ['faye', 'cometkit']) {
    const server = startChild('server-child.mjs', [serverKind, JSON.stringify(serverKind === 'cometkit' ? { backlog: 100_000 } : {})]);
    const { url } = await server.ready;
    try {
      for (const transport of ['websocket', 'sse', 'long-poll']) {
        for (const lib of ['cometkit', 'faye']) {
          log(`  delivery: ${lib} client, ${transport}, ${serverKind} server`);
          const r = await runOne(url, server, lib, transport, `/bench/${lib}/${transport.replace('-', '')}`);
          results[`${serverKind}/${transport}/${lib}`] = r;
        }
        const ck = results[`${serverKind}/${transport}/cometkit`];
        const fy = results[`${serverKind}/${transport}/faye`];
        const cell = (r, key, f) => (r.unsupported ? 'n/a' : r.error ? 'error' : f(r[key]));
        const note = (r) => (r.error ? r.error.slice(0, 60) : r.unsupported ? '' : `${r.burstReceived}/${BURST}, ${r.pacedReceived}/${PACED}${r.outOfOrder ? `, ${r.outOfOrder} out of order` : ''}${r.transport !== transport && r.transport !== transport.replace('-', 'ing') ? ` (ran ${r.transport})` : ''}`);
        rows.push([
          serverKind,
          transport,
          cell(ck, 'throughput', fmt.int),
          cell(fy, 'throughput', fmt.int),
          ck.throughput && fy.throughput ? fmt.ratio(ck.throughput / fy.throughput) : '–',
          `${cell(ck, 'cpuUs', fmt.us)} / ${cell(fy, 'cpuUs', fmt.us)}`,
          ck.cpuUs && fy.cpuUs ? fmt.ratio(fy.cpuUs / ck.cpuUs) : '–',
          `${cell(ck, 'clientBusy', busy)} / ${cell(ck, 'serverBusy', busy)}`,
          `${cell(fy, 'clientBusy', busy)} / ${cell(fy, 'serverBusy', busy)}`,
          `${cell(ck, 'p50', fmt.ms)} / ${cell(ck, 'p99', fmt.ms)}`,
          `${cell(fy, 'p50', fmt.ms)} / ${cell(fy, 'p99', fmt.ms)}`,
          `cometkit ${note(ck)}; faye ${note(fy)}`,
        ]);
      }
    } finally {
      await server.stop();
    }
  }
  return {
    results,
    markdown: table(
      [
        'server',
        'transport',
        'cometkit msg/s',
        'Faye msg/s',
        'cometkit/Faye',
        'client CPU µs/msg (ck / Faye)',
        'client speed ck/Faye',
        'busy client / server (ck run)',
        'busy client / server (Faye run)',
        'cometkit p50/p99 ms',
        'Faye p50/p99 ms',
        'received (burst, paced)',
      ],
      rows,
    ),
  };
}
