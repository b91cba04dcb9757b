// Server capacity: one cometkit server process with 1k, 5k and 10k clients
// (raw WebSocket or EventSource clients in a separate load process), measured from
// /proc: connections held, RSS, and CPU while every client receives one message a
// second (the goal: 10k clients under one core and 100 MB), then at ten a second.
import { fmt, procStats, sleep, startChild, table } from './lib.mjs';

const STEADY_S = 10;
const FAST_S = 5;
/** Extra node flags for the server process (a deployment choice, e.g. `--max-semi-space-size=1`); none by default. */
const SERVER_FLAGS = (process.env.BENCH_SERVER_FLAGS ?? '').split(' ').filter(Boolean);
/** The deployment flag docs/scaling.md recommends for many clients per process, measured at the largest size too. */
const LEAN_FLAGS = ['--optimize-for-size'];

/** CPU % of one core and deliveries/s over `seconds` of publishing every `every` ms. */
async function measure(server, load, every, seconds) {
  await server.request({ cmd: 'every', channel: '/fan', ms: every });
  await sleep(Math.min(2_000, every * 2)); // let the first publishes settle
  await load.request({ cmd: 'count', reset: true });
  const before = procStats(server.pid);
  const { deliveries: d0 } = await load.request({ cmd: 'count' });
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const after = procStats(server.pid);
  const counted = await load.request({ cmd: 'count' });
  const elapsed = (performance.now() - t0) / 1000;
  const { memory, spaces } = await server.request({ cmd: 'stats' });
  await server.request({ cmd: 'stop' });
  return {
    memory,
    spaces,
    cpu: ((after.cpuMs - before.cpuMs) / (elapsed * 1000)) * 100,
    rate: (counted.deliveries - d0) / elapsed,
    rss: after.rss,
    p50: counted.p50,
    p99: counted.p99,
  };
}

/** Every case: each transport at each size with SERVER_FLAGS, then (without BENCH_SERVER_FLAGS) the largest size again with LEAN_FLAGS. */
function cases(sizes, transports) {
  const all = transports.flatMap((transport) => sizes.map((n) => ({ transport, n, flags: SERVER_FLAGS })));
  if (SERVER_FLAGS.length) return all;
  return [...all, ...transports.map((transport) => ({ transport, n: Math.max(...sizes), flags: LEAN_FLAGS }))];
}

export async function fanoutBench(log, sizes = [1_000, 5_000, 10_000], transports = ['websocket', 'eventsource']) {
  const rows = [];
  const results = {};
  for (const { transport, n, flags } of cases(sizes, transports)) {
    // The table and the results say when the server ran with V8 flags.
    const label = flags.length ? `${transport} (node ${flags.join(' ')})` : transport;
    log(`  fan-out: ${n} ${label} clients`);
    const server = startChild('server-child.mjs', ['cometkit', JSON.stringify({ timeout: 30_000 })], { flags: ['--expose-gc', ...flags] });
    const load = startChild('fanout-load.mjs');
    try {
      const [{ url }] = await Promise.all([server.ready, load.ready]);
      await sleep(500);
      const idle = procStats(server.pid);
      const opened = await load.request({ cmd: 'open', url, n, transport, channel: '/fan' }, 180_000);
      await sleep(1_000);
      const held = procStats(server.pid);
      const { memory: heldMemory, spaces: heldSpaces } = await server.request({ cmd: 'stats' });
      const { memory: heap, spaces: liveSpaces } = await server.request({ cmd: 'stats', gc: true });
      if (process.env.BENCH_SNAPSHOT) await server.request({ cmd: 'snapshot', file: `${process.env.BENCH_SNAPSHOT}-${transport}-${n}.heapsnapshot` });
      const steady = await measure(server, load, 1_000, STEADY_S);
      const fast = await measure(server, load, 100, FAST_S);
      const r = { n, connectMs: opened.ms, idleRss: idle.rss, heldRss: held.rss, heldMemory, heldSpaces, liveMemory: heap, liveSpaces, steady, fast };
      results[`${label}/${n}`] = r;
      rows.push([
        label,
        fmt.int(n),
        `${(opened.ms / 1000).toFixed(1)} s`,
        fmt.mb(held.rss),
        fmt.mb(((held.rss - idle.rss) / n) * 1000),
        fmt.mb(heap.heapUsed),
        fmt.int(steady.rate),
        fmt.pct(steady.cpu),
        fmt.pct((steady.cpu / n) * 1000),
        `${fmt.ms(steady.p50)} / ${fmt.ms(steady.p99)}`,
        fmt.mb(steady.rss),
        fmt.int(fast.rate),
        fmt.pct(fast.cpu),
        `${fmt.ms(fast.p50)} / ${fmt.ms(fast.p99)}`,
      ]);
    } catch (error) {
      rows.push([label, fmt.int(n), `error: ${String(error.message).slice(0, 80)}`, ...Array(11).fill('')]);
    } finally {
      await load.request({ cmd: 'close' }, 30_000).catch(() => {});
      await load.stop();
      await server.stop();
    }
  }
  return {
    results,
    markdown: table(
      [
        'transport',
        'clients',
        'connect all',
        'RSS held (MB)',
        'RSS per 1k (MB)',
        'JS heap live (MB)',
        '1 msg/s: deliveries/s',
        'CPU',
        'CPU per 1k',
        'latency p50/p99 ms',
        'RSS (MB)',
        '10 msg/s: deliveries/s',
        'CPU',
        'latency p50/p99 ms',
      ],
      rows,
    ),
  };
}
