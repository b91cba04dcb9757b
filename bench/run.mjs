// `npm run bench`: bundle sizes, delivery throughput and latency (cometkit vs
// Faye, each client against each server), time to first message when WebSocket
// is refused or hangs, and one server process's capacity with 1k–10k clients.
// Everything runs on 127.0.0.1 in child processes (so each side is measured alone)
// and every wait is bounded; about 9 minutes on a 2-core machine. Figures are
// printed, never asserted: BENCHMARKS.md records a run and how to read it.
//
// Usage: npm run bench                       (builds first)
//        node bench/run.mjs [size] [delivery] [fallback] [fanout]   (sections; default all)
//        BENCH_JSON=out.json node bench/run.mjs   (also write raw results)
//        BENCH_SERVER_FLAGS='--max-semi-space-size=1' node bench/run.mjs fanout   (server with V8 flags)
//        BENCH_SNAPSHOT=/tmp/snap node bench/run.mjs fanout   (also heap snapshots of the server)
//        node bench/receive.mjs               (the client's receive path alone)
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { deliveryBench } from './delivery.mjs';
import { fallbackBench } from './fallback.mjs';
import { fanoutBench } from './fanout.mjs';
import { sizeBench } from './size.mjs';

const sections = {
  size: ['Bundle size', () => sizeBench()],
  delivery: ['Delivery throughput and latency', (log) => deliveryBench(log)],
  fallback: ['Time to first message when WebSocket fails', (log) => fallbackBench(log)],
  fanout: ['One server process, many clients', (log) => fanoutBench(log)],
};

const chosen = process.argv.slice(2).filter((a) => a in sections);
const started = performance.now();
const log = (line) => process.stderr.write(`${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s ${line}\n`);
const raw = {};
const out = [`# cometkit bench — ${new Date().toISOString()}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}`];

for (const name of chosen.length ? chosen : Object.keys(sections)) {
  const [title, run] = sections[name];
  log(`${title} …`);
  try {
    const { results, markdown } = await run(log);
    raw[name] = results;
    out.push(`\n## ${title}\n\n${markdown}`);
  } catch (error) {
    out.push(`\n## ${title}\n\nfailed: ${error?.stack ?? error}`);
  }
  // Print as we go: a late failure must not hide the earlier tables.
  process.stdout.write(`${out.at(-1)}\n`);
}
log(`done in ${((performance.now() - started) / 60_000).toFixed(1)} min`);
if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify(raw, null, 2));
