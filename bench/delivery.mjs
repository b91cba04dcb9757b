// Delivery throughput and latency per transport: cometkit's client and Faye's
// Node client, each against Faye's server and against cometkit's server, same
// message count, one server process and one client process per run; each figure
// is the median of ROUNDS runs, alternating which client goes first.
import { fmt, now, percentile, startChild, table } from './lib.mjs';

const BURST = 20_000; // messages published back to back: throughput
const PACED = 1_000; // messages 2 ms apart: latency without queueing
const GAP = 2;
const WARM = 25_000; // messages back to back before measuring: both clients' JIT settles by then
const ROUNDS = 3;
/** What Faye reports as its transport (a Bayeux connectionType) for each of ours. */
const CONNECTION_TYPE = { websocket: 'websocket', sse: 'eventsource', 'long-poll': 'long-polling' };

async function runOne(serverUrl, server, lib, transport, channel) {
  const client = startChild('client-child.mjs', [lib, transport, serverUrl]);
  try {
    await client.ready;
    const sub = await client.request({ cmd: 'subscribe', channel }, 30_000);
    if (sub.unsupported) return { unsupported: sub.unsupported };
    // Warm-up, for both processes: JIT (the first client measured on a fresh server would
    // otherwise pay for the server's warm-up), connection pools, transport upgrades.
    await client.request({ cmd: 'arm', count: WARM, ms: 60_000 });
    await server.request({ cmd: 'publish', channel, count: WARM, gap: 0 });
    await client.request({ cmd: 'collect' }, 60_000);
    await client.request({ cmd: 'arm', count: BURST, ms: 60_000 });
    // The server's own process.cpuUsage() (µs), read at both ends of the same window as the wall clock.
    const cpu0 = (await server.request({ cmd: 'stats' })).cpu;
    const started = now();
    await server.request({ cmd: 'publish', channel, count: BURST, gap: 0 });
    const burst = await client.request({ cmd: 'collect' }, 90_000);
    const ended = now();
    const cpu1 = (await server.request({ cmd: 'stats' })).cpu;
    const serverMs = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / 1000;
    const burstMs = burst.last - started;
    await client.request({ cmd: 'arm', count: PACED, ms: 30_000, timed: true });
    await server.request({ cmd: 'publish', channel, count: PACED, gap: GAP });
    const paced = await client.request({ cmd: 'collect' }, 60_000);
    await client.request({ cmd: 'close' }, 10_000).catch(() => {});
    return {
      transport: sub.transport,
      throughput: burst.received / (burstMs / 1000),
      cpuUs: (burst.cpuMs * 1000) / Math.max(1, burst.received),
      // Share of the burst's wall time each process was on a CPU: below ~100 % it was waiting, not the bottleneck.
      clientBusy: burst.cpuMs / burstMs,
      serverBusy: serverMs / (ended - started),
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
const median = (values) => percentile(values, 50);

/**
 * One run's figures from several: the median of each number (throughput, CPU,
 * busy shares, latency percentiles), the fewest messages received and the most
 * out of order, so a bad round still shows. `rounds` keeps every run's raw figures.
 */
function medianRun(runs) {
  const ok = runs.filter((r) => !r.error && !r.unsupported);
  if (ok.length === 0) return runs[0];
  const of = (key) => median(ok.map((r) => r[key]));
  return {
    transport: ok[0].transport,
    throughput: of('throughput'),
    cpuUs: of('cpuUs'),
    clientBusy: of('clientBusy'),
    serverBusy: of('serverBusy'),
    p50: of('p50'),
    p99: of('p99'),
    burstReceived: Math.min(...ok.map((r) => r.burstReceived)),
    pacedReceived: Math.min(...ok.map((r) => r.pacedReceived)),
    outOfOrder: Math.max(...ok.map((r) => r.outOfOrder)),
    failedRounds: runs.length - ok.length,
    rounds: runs,
  };
}

/** Runs every combination; returns Markdown. */
export async function deliveryBench(log) {
  const rows = [];
  const results = {};
  for (const serverKind of ['faye', 'cometkit']) {
    const server = startChild('server-child.mjs', [serverKind, JSON.stringify(serverKind === 'cometkit' ? { backlog: 100_000 } : {})]);
    const { url } = await server.ready;
    try {
      for (const transport of ['websocket', 'sse', 'long-poll']) {
        // Rounds alternate which client goes first; each figure is the median over the rounds.
        const runs = { cometkit: [], faye: [] };
        for (let round = 0; round < ROUNDS; round++) {
          for (const lib of round % 2 ? ['faye', 'cometkit'] : ['cometkit', 'faye']) {
            if (lib === 'faye' && transport === 'sse') {
              runs.faye.push({ unsupported: "Faye's Node client has no EventSource transport" });
              continue;
            }
            log(`  delivery: ${lib} client, ${transport}, ${serverKind} server, round ${round + 1}/${ROUNDS}`);
            runs[lib].push(await runOne(url, server, lib, transport, `/bench/${lib}/${transport.replace('-', '')}/${round}`));
          }
        }
        for (const lib of ['cometkit', 'faye']) results[`${serverKind}/${transport}/${lib}`] = medianRun(runs[lib]);
        const ck = results[`${serverKind}/${transport}/cometkit`];
        const fy = results[`${serverKind}/${transport}/faye`];
        const cell = (r, key, f) => (r.unsupported ? 'n/a' : r.error ? 'error' : f(r[key]));
        const note = (r) => (r.error ? r.error.slice(0, 60) : r.unsupported ? '' : `${r.burstReceived}/${BURST}, ${r.pacedReceived}/${PACED}${r.outOfOrder ? `, ${r.outOfOrder} out of order` : ''}${r.failedRounds ? `, ${r.failedRounds} round(s) failed` : ''}${r.transport !== transport && r.transport !== CONNECTION_TYPE[transport] ? ` (ran ${r.transport})` : ''}`);
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
