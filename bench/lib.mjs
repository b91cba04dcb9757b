// Shared helpers of the benchmark (bench/run.mjs): child processes driven over
// IPC, percentiles, /proc readings and Markdown tables. Every wait is bounded.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Absolute path of a file next to this one. */
export const here = (name) => fileURLToPath(new URL(name, import.meta.url));

/** A high-resolution wall clock (ms) that agrees between processes on one machine. */
export const now = () => performance.timeOrigin + performance.now();

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Reject after `ms` with `what` in the message; the bench never waits forever. */
export function within(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms))),
  ]);
}

/**
 * Start `node <flags> <script> <args>` with IPC, under `ulimit -n <hard limit>` so
 * thousands of sockets fit. `request(msg)` sends `{...msg, id}` and resolves with the
 * child's `{id, ...}` answer; the child's first `{type: 'ready'}` message resolves `ready`.
 */
export function startChild(script, args = [], { flags = [], quiet = false } = {}) {
  const command = `ulimit -n 65536 2>/dev/null || ulimit -n $(ulimit -Hn); exec "$0" "$@"`;
  const proc = spawn('bash', ['-c', command, process.execPath, ...flags, here(script), ...args], {
    stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map();
  let nextId = 0;
  let readyResolve;
  let readyReject;
  const ready = new Promise((resolve, reject) => ((readyResolve = resolve), (readyReject = reject)));
  proc.on('message', (msg) => {
    if (msg?.type === 'ready') return readyResolve(msg);
    const pending = waiting.get(msg?.id);
    if (!pending) return;
    waiting.delete(msg.id);
    if (msg.error) pending.reject(new Error(msg.error));
    else pending.resolve(msg);
  });
  const exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
  exited.then((code) => {
    readyReject(new Error(`${script} exited (${code}) before it was ready`));
    for (const p of waiting.values()) p.reject(new Error(`${script} exited (${code})`));
    waiting.clear();
  });
  return {
    proc,
    pid: proc.pid,
    ready: within(ready, 60_000, `${script} ready`),
    request(msg, ms = 120_000) {
      const id = ++nextId;
      const answer = new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
      proc.send({ ...msg, id });
      return within(answer, ms, `${script} ${msg.cmd}`);
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** In a child: answer IPC requests with `handlers[msg.cmd](msg)`. */
export function serveRequests(handlers) {
  process.on('message', async (msg) => {
    try {
      const result = await handlers[msg.cmd](msg);
      process.send({ id: msg.id, ...result });
    } catch (error) {
      process.send({ id: msg.id, error: String(error?.stack ?? error) });
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}

/** The p-th percentile (0–100) of an unsorted array. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** CPU time (ms, user + system) and RSS (bytes) of a process, from /proc. */
export function procStats(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rssLine = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  return { cpuMs: (ticks * 1000) / 100, rss: Number(rssLine?.[1] ?? 0) * 1024 };
}

/** A Markdown table. */
export function table(headers, rows) {
  const cells = [headers, ...rows].map((r) => r.map((c) => String(c)));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(cells[0]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

export const fmt = {
  int: (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–'),
  ms: (n) => (Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : n.toFixed(0)) : '–'),
  mb: (bytes) => (Number.isFinite(bytes) ? (bytes / 1048576).toFixed(1) : '–'),
  pct: (n) => (Number.isFinite(n) ? `${n.toFixed(0)} %` : '–'),
  us: (n) => (Number.isFinite(n) ? n.toFixed(1) : '–'),
  ratio: (n) => (Number.isFinite(n) ? `${n.toFixed(2)}×` : '–'),
};
